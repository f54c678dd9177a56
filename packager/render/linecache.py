"""Lines broken once per chunk, however often the second pass lays its pages out again.

The second pass (packager/render/linebreaks.py) lays out again the pages its changes touch: a
paragraph set looser, a word kept whole, a gap feathered. Most lines on those pages belong to
paragraphs it did not change, and WeasyPrint breaks each of them again with Pango, the same text in
the same style at the same width giving the same line. `remembered` keeps, for the time one document
is laid out, what WeasyPrint's line breaker (`split_first_line`) returned for each text, style and
width, and gives it back when the same line is asked for again; a changed paragraph has a changed
style (or text), so it is broken anew.

What is kept is WeasyPrint's own answer: its Pango layout, put away (deactivated) as WeasyPrint puts
it away, which a box takes up again only while it is drawn. A style that may cut its text short
when drawn (`text-overflow: ellipsis`, `block-ellipsis`) changes the layout's text, so its lines are
not kept. This reaches into WeasyPrint's layout (`weasyprint.layout.inline.split_first_line`),
written against WeasyPrint 70; where that has changed shape, every line is broken as before.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

_KEPT: dict | None = None  # while a document is laid out: key -> (style, WeasyPrint's answer)


def install() -> None:
    """Send the line breaker WeasyPrint's inline layout calls through `remembering`, in this process."""
    try:
        from weasyprint.layout import inline
    except ImportError:
        return
    if getattr(inline.split_first_line, "remembers", False):
        return
    split_first_line = inline.split_first_line

    def remembering(text, style, context, max_width, justification_spacing, is_line_start=True, minimum=False):
        kept = _KEPT
        if kept is None or style["text_overflow"] != "clip" or style["block_ellipsis"] != "none":
            return split_first_line(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        key = (text, id(style), max_width, justification_spacing, is_line_start, minimum)
        found = kept.get(key)
        if found is not None and found[0] is style:
            return found[1]
        answer = split_first_line(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        kept[key] = (style, answer)  # the style kept alive, so that its id names no other
        return answer

    remembering.remembers = True
    inline.split_first_line = remembering


@contextmanager
def remembered() -> Iterator[None]:
    """Lines kept while one document is laid out (and its pages laid out again), then let go."""
    global _KEPT
    _KEPT = {}
    try:
        yield
    finally:
        _KEPT = None
