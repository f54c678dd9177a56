"""Emphasis: `**bold**`, `*italic*`, `_italic_`, `/italic/` to spans, leaving stray marks alone.

A mark opens only before a non-space and closes only after one, and never inside a word, so `f*ck`,
`5 * 3`, `snake_case` and `and/or` stay as they are.
"""

from __future__ import annotations

import re

from packager.model import Span

_PATTERNS = [
    ("bold", re.compile(r"(?<![\w*])\*\*(?=\S)(?P<inner>.+?)(?<=\S)\*\*(?![\w*])")),
    ("bold", re.compile(r"(?<![\w_])__(?=\S)(?P<inner>.+?)(?<=\S)__(?![\w_])")),
    ("italic", re.compile(r"(?<![\w*])\*(?=[^\s*])(?P<inner>[^*]+?)(?<=[^\s*])\*(?![\w*])")),
    ("italic", re.compile(r"(?<![\w_])_(?=[^\s_])(?P<inner>[^_]+?)(?<=[^\s_])_(?![\w_])")),
    ("italic", re.compile(r"(?<![\w/:<.])/(?=[A-Za-z\u2018\u201c'\"])(?P<inner>[^/]+?)(?<=[\w.!?,\u2019\u201d'\"])/(?![\w/])")),
]


_MARKS = frozenset("*_/")


def parse_emphasis(text: str, italic: bool = False, bold: bool = False) -> list[Span]:
    """Split `text` into spans; emphasis nests (`**bold _and italic_**`)."""
    if not _MARKS.intersection(text):
        return [Span(text, italic, bold)] if text else []
    spans: list[Span] = []
    position = 0
    while position < len(text):
        best = None
        for style, pattern in _PATTERNS:
            match = pattern.search(text, position)
            if match and (best is None or match.start() < best[1].start()):
                best = (style, match)
        if best is None:
            break
        style, match = best
        if match.start() > position:
            spans.append(Span(text[position:match.start()], italic, bold))
        spans.extend(parse_emphasis(match["inner"], italic or style == "italic", bold or style == "bold"))
        position = match.end()
    if position < len(text):
        spans.append(Span(text[position:], italic, bold))
    return _merged(spans)


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if out and (out[-1].italic, out[-1].bold) == (span.italic, span.bold):
            out[-1] = Span(out[-1].text + span.text, span.italic, span.bold)
        elif span.text:
            out.append(span)
    return out


def strip_markup(text: str) -> str:
    """The text without emphasis marks: for titles, metadata and comparisons."""
    return "".join(span.text for span in parse_emphasis(text))
