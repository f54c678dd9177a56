"""The one exception type users see: a one-line message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class PackagerError(Exception):
    """A problem with the user's input or environment, reported as one line without a traceback.

    `usage` marks errors in how the command was called (exit status 2) rather than in the input (1).
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None,
                 usage: bool = False):
        self.path = str(path) if path is not None else None
        self.line = line
        self.usage = usage
        self.problem = message
        where = self.path or ""
        if where and line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)

    @property
    def exit_code(self) -> int:
        return 2 if self.usage else 1
