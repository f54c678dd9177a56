"""Temporary files, and the ones a killed build leaves behind.

Every file this tool writes goes through a temporary `.NAME.p<pid>.<random>.part` beside it and a
rename. A build that is killed (SIGKILL, a power cut) cannot remove its own, so a later build removes
those whose process is gone, and leaves alone those of builds running now.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_PART = re.compile(r"^\..*\.p(\d+)\.[^./]*\.part$")
_SWEPT: set[str] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def sweep_parts(folder: Path) -> None:
    """Remove the temporary files that builds killed before they could clean up left in `folder`
    (once per folder and process)."""
    key = os.path.abspath(folder)
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _PART.match(name)
        if match and int(match[1]) != os.getpid() and not _alive(int(match[1])):
            try:
                if (folder / name).is_file() and not (folder / name).is_symlink():
                    (folder / name).unlink()
            except OSError:
                pass


def part_prefix(name: str) -> str:
    """The start of a temporary file's name for `name` (tempfile.mkstemp adds the rest)."""
    return f".{name}.p{os.getpid()}."
