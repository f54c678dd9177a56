"""Worker processes that never outlive the build that started them.

Workers fork from a fork server that the build starts. When the build is killed outright (SIGKILL, the
out-of-memory killer), nothing of Python runs in it to stop them, so each process asks the kernel to
kill it when its parent dies (Linux's PR_SET_PDEATHSIG): the fork server when the build dies, each
worker when the fork server dies. Elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import contextmanager
from typing import Iterator

_PR_SET_PDEATHSIG = 1
PARENT_VARIABLE = "PACKAGER_BUILD_PID"  # set by a build for the fork server it starts


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies; exit now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # this process's own symbols, libc's among them
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request was made
        os._exit(1)


_stop_requested = False


def request_stop(signum: int, frame: object) -> None:
    """The build's handler for Ctrl-C and SIGTERM: remember that the build is to stop, and stop it
    (KeyboardInterrupt). Remembered because a library may swallow the exception where it lands (a
    `except BaseException` around a drawing), and the build must stop all the same: see
    raise_if_stopped."""
    global _stop_requested
    _stop_requested = True
    raise KeyboardInterrupt


def quiet_swallowed_stop(unraisable: "sys.UnraisableHookArgs") -> None:
    """sys.unraisablehook for the build: a Ctrl-C that lands in a finalizer (WeasyPrint's
    FontConfiguration.__del__, while the garbage collector runs) cannot stop anything there, and
    Python would print it as an "Exception ignored" traceback. It is remembered (request_stop) and
    raised at the next raise_if_stopped instead; anything else is printed as Python would."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _stop_requested:
        return
    sys.__unraisablehook__(unraisable)


def raise_if_stopped() -> None:
    """Stop now if Ctrl-C or SIGTERM came and its KeyboardInterrupt was swallowed on the way: called
    after each piece of work done in this process (a PDF chunk laid out, a chunk waited for)."""
    if _stop_requested:
        raise KeyboardInterrupt


def worker_start() -> None:
    """The first thing a worker does: leave Ctrl-C to the build (which stops its workers itself: one
    message, not a traceback from each), and die with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


@contextmanager
def fork_server_started() -> Iterator[None]:
    """Around the start of a pool: Ctrl-C held (a process half-started when it came would be missed),
    and ignored by the processes started meanwhile: a fork server inherits an ignored signal across
    exec, so Ctrl-C to the process group while it imports WeasyPrint (seconds) gives no traceback from
    it, and its workers inherit it from the fork server, leaving Ctrl-C to the build. Held first, then
    ignored here: a Ctrl-C that comes meanwhile waits, blocked, for the build's own handler. The fork
    server is also told who its parent is, so that it dies with the build (see the import below)."""
    os.environ[PARENT_VARIABLE] = str(os.getpid())
    block = getattr(signal, "pthread_sigmask", None)
    if block:  # started first: starting it unblocks Ctrl-C (multiprocessing.resource_tracker), which
        # would let a fork server started after it in the window import WeasyPrint with Ctrl-C open
        from multiprocessing import resource_tracker
        resource_tracker.ensure_running()
    previous = block(signal.SIG_BLOCK, {signal.SIGINT}) if block else None
    try:
        yield
    finally:
        if block:
            block(signal.SIG_SETMASK, previous)


# Imported by the fork server (it is in every pool's preload list): the fork server dies with the
# build that started it. In any other process importing this module, the parent is not the build.
if os.environ.get(PARENT_VARIABLE) == str(os.getppid()) and "multiprocessing.forkserver" in sys.modules:
    die_with_parent()
