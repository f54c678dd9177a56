"""Emphasis: `**bold**`, `*italic*`, `_italic_`, `/italic/` to spans, leaving stray marks alone.

A mark opens only before a non-space and closes only after one, and never inside a word, so `f*ck`,
`5 * 3`, `snake_case` and `and/or` stay as they are.
"""

from __future__ import annotations

import re

from packager.model import Span


def _inside_double(mark: str) -> str:
    """What a `**` or `__` span may hold: anything but its own doubled mark, except one mark that ends
    an inner span right before the closer (`**bold *and italic***`). So a span never runs past the next
    doubled mark: an opener that is never closed costs one look as far as that mark, not to the end of
    a paragraph that may be a whole chapter long, and bold never nests in bold."""
    m = re.escape(mark)
    return rf"(?:[^{m}]|{m}(?!{m})|{m}(?={m}{m}(?![\w{m}])))+?"


# Each pattern opens with its mark and looks behind it after, so the regex engine can skip ahead to
# the next mark instead of trying the look-behind at every character of a long paragraph.
_PATTERNS = [
    ("bold", re.compile(rf"\*\*(?<![\w*]\*\*)(?=\S)(?P<inner>{_inside_double('*')})(?<=\S)\*\*(?![\w*])")),
    ("bold", re.compile(rf"__(?<![\w_]__)(?=\S)(?P<inner>{_inside_double('_')})(?<=\S)__(?![\w_])")),
    ("italic", re.compile(r"\*(?<![\w*]\*)(?=[^\s*])(?P<inner>[^*]+?)(?<=[^\s*])\*(?![\w*])")),
    ("italic", re.compile(r"_(?<![\w_]_)(?=[^\s_])(?P<inner>[^_]+?)(?<=[^\s_])_(?![\w_])")),
    ("italic", re.compile(r"/(?<![\w/:<.]/)(?=[A-Za-z\u2018\u201c'\"])(?P<inner>[^/]+?)(?<=[\w.!?,\u2019\u201d'\"])/(?![\w/])")),
]


_MARKS = frozenset("*_/")


def parse_emphasis(text: str, italic: bool = False, bold: bool = False) -> list[Span]:
    """Split `text` into spans; emphasis nests (`**bold _and italic_**`)."""
    if not _MARKS.intersection(text):
        return [Span(text, italic, bold)] if text else []
    spans: list[Span] = []
    position = 0
    # The next match of each pattern at or after `position`. A match is searched again only once the
    # text it started in has been used, and a pattern that found nothing never finds anything further
    # on, so a paragraph with thousands of emphasised words is scanned a few times, not once per word.
    upcoming: list[re.Match[str] | None] = [pattern.search(text) for _, pattern in _PATTERNS]
    while position < len(text):
        best: int | None = None
        for index, (_, pattern) in enumerate(_PATTERNS):
            match = upcoming[index]
            if match is not None and match.start() < position:
                match = upcoming[index] = pattern.search(text, position)
            if match is not None and (best is None or match.start() < upcoming[best].start()):
                best = index
        if best is None:
            break
        style, match = _PATTERNS[best][0], upcoming[best]
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
