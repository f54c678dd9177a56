"""WeasyPrint's layout runs beneath `with_room`, so CPython's frame stack never maps and unmaps a
chunk per call (gh-142183), whatever depth the render starts at."""

from __future__ import annotations

import resource
import sys

from packager.render.stack import with_room


def down(depth: int) -> int:
    return 0 if depth == 0 else down(depth - 1) + 1


def calls_at_every_depth() -> int:
    """Many calls that go down to every depth up to 400 frames, as a layout loop does, and so cross
    any chunk boundary within those depths over and over."""
    return sum(down(depth) for _ in range(100) for depth in range(0, 400, 7))


def page_faults(function, *args) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    function(*args)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_with_room_returns_what_the_function_returns():
    assert with_room(down, 250) == 250
    assert with_room(sorted, [3, 1, 2]) == [1, 2, 3]


def test_calls_beneath_with_room_map_no_memory():
    calls_at_every_depth()  # warm: any first-time allocations out of the way
    assert page_faults(with_room, calls_at_every_depth) < 200


def test_without_it_the_same_calls_map_a_chunk_each_time_on_pythons_without_the_fix():
    """The reason the module exists, measured on the Python running the tests: 3.11 and 3.12 free a
    chunk as soon as its first frame returns. (3.13 and 3.14 patch releases of 2026 keep one.)"""
    calls_at_every_depth()
    plain = page_faults(calls_at_every_depth)
    roomy = page_faults(with_room, calls_at_every_depth)
    if sys.version_info < (3, 13):
        assert plain > 20 * max(roomy, 50)
    else:
        assert roomy <= plain + 200
