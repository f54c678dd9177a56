"""How far one book's build has come, told through a plain callback.

The build says what it is doing (reading the story, the EPUB, the PDF's chunks done of all, merging
them); whoever started it decides whether and how to show that: the command line, the only part
that knows terminals, draws it on a terminal and ignores it otherwise. Nothing is reported unless a
listener was set with `reporting`, and only in the process (and context) that set it: books built in
worker processes report nothing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class Stage:
    """A step of the build: `reading`, `EPUB`, `PDF` (with chunks `done` of `total`), `merging`."""

    name: str
    done: int = 0
    total: int | None = None


Listener = Callable[[Stage], None]
_listener: ContextVar[Listener | None] = ContextVar("packager_progress_listener", default=None)


@contextmanager
def reporting(listener: Listener | None) -> Iterator[None]:
    """Send the stages of the builds run inside the block to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(name: str, done: int = 0, total: int | None = None) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(Stage(name, done, total))


class Counter:
    """Counts the parts of a stage as they finish, from any thread (a worker's result arrives on the
    pool's own thread, where the context's listener is not set: it is taken when the count starts)."""

    def __init__(self, name: str, total: int):
        self.name, self.total, self.done = name, total, 0
        self._listener = _listener.get()
        self._lock = threading.Lock()
        if self._listener is not None:
            self._listener(Stage(name, 0, total))

    def __call__(self) -> None:
        with self._lock:
            self.done += 1
            if self._listener is not None:
                self._listener(Stage(self.name, self.done, self.total))
