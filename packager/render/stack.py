"""Room on CPython's frame stack for WeasyPrint's deep layout recursion.

CPython (3.11 on) keeps Python frames on a stack made of 16 KiB chunks. Before the fix of
gh-142183 (in 3.13 and 3.14 patch releases of 2026; 3.11 and 3.12 never get it) a chunk is unmapped
as soon as its first frame returns, so a loop that keeps calling across a chunk boundary maps and
unmaps memory on every call. WeasyPrint's layout calls in loops dozens of frames deep, and whether
one of those loops straddles a boundary depends on how deep the render started: measured on one
27,000-word story, rendering in the main process made 137,000 mmap/munmap pairs and spent 10% of
its CPU time in the kernel, the same render in a worker process 10,000.

`with_room(function, *args)` calls `function` from a frame whose code claims a stack of 16 MiB.
CPython gives that frame a chunk of its own, 32 MiB of address space of which only the pages the
calls beneath it touch are ever backed by memory, and every frame beneath lands in that chunk:
no boundary is crossed until the call returns.
"""

from __future__ import annotations

import types
from typing import Callable, TypeVar

T = TypeVar("T")

ROOM_BYTES = 16 * 1024 * 1024  # free frame stack beneath the call (WeasyPrint's frames are under 1 KiB)
WORD = 8  # bytes per stack slot
# A chunk is the smallest power-of-two multiple of 16 KiB that holds the frame plus some overhead,
# so a frame a little over ROOM_BYTES gets a chunk of 2 * ROOM_BYTES with ROOM_BYTES free after it.
_SLOTS = (ROOM_BYTES + 64 * 1024) // WORD


def _call(function, *args):
    return function(*args)


_roomy_call = types.FunctionType(_call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + _SLOTS),
                                 _call.__globals__, "_roomy_call")


def with_room(function: Callable[..., T], *args) -> T:
    """`function(*args)`, with the frame stack beneath it in one chunk of its own."""
    return _roomy_call(function, *args)
