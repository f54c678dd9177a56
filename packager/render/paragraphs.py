"""Paragraphs too long for the PDF to lay out whole, cut into consecutive paragraphs that print as one.

WeasyPrint lays out a paragraph as one box: a paragraph of 5 MB (a chapter saved with no blank line)
is a single box of some 2,500 pages, held in memory at once, and its chunk cannot be cut at a
paragraph boundary (render/pdf.py cuts chapters at paragraph boundaries); a line whose letters carry
many marks is laid out again from the line's start to the paragraph's end. So a paragraph longer
than PARAGRAPH_CHARACTERS (about ten A5 pages) is cut, for the PDF only, into pieces of at most that
size: at the last sentence end in the piece's second half, else at its last space, else (one word
of 20,000 letters) between two characters, never before a combining mark. Every piece but the last
`runs_on` (its last line is set like the lines within a paragraph), every piece but the first
`continues` (no indent, no space above: styles/print.css), so the printed text is unchanged, and
every word is still there in order.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from packager.model import Block, Book, Span

PARAGRAPH_CHARACTERS = 20_000
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s)")
_SPACE = re.compile(r"\s+")
_JOINERS = "\u200c\u200d\ufe0e\ufe0f"


def cut_long_paragraphs(book: Book) -> Book:
    """`book` itself when no paragraph is too long, else a copy whose long paragraphs are cut."""
    if not any(_too_long(b) for c in book.chapters for b in c.blocks):
        return book
    chapters = [dataclasses.replace(c, blocks=[piece for b in c.blocks for piece in cut_paragraph(b)])
                for c in book.chapters]
    return dataclasses.replace(book, chapters=chapters)


def _spans(block: Block) -> list[Span]:
    return block.spans if block.spans is not None else [Span(block.text)]


def _too_long(block: Block) -> bool:
    return block.kind == "paragraph" and sum(len(s.text) for s in _spans(block)) > PARAGRAPH_CHARACTERS


def cut_paragraph(block: Block) -> list[Block]:
    """The pieces of one paragraph (itself alone when it is short enough)."""
    if not _too_long(block):
        return [block]
    spans = _spans(block)
    text = "".join(s.text for s in spans)
    bounds: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > PARAGRAPH_CHARACTERS:
        end = _cut_point(text, start, start + PARAGRAPH_CHARACTERS)
        bounds.append((start, end))
        space = _SPACE.match(text, end)
        start = space.end() if space else end
    bounds.append((start, len(text)))
    pieces = _split_spans(spans, bounds)
    last = len(pieces) - 1
    return [dataclasses.replace(block, text="".join(s.text for s in piece), spans=piece,
                                runs_on=index < last, continues=index > 0)
            for index, piece in enumerate(pieces)]


def _cut_point(text: str, start: int, limit: int) -> int:
    """Where a piece from `start` ends, at most at `limit`: after a sentence's end, else before a
    space, in the piece's second half; else at `limit`, moved back before any combining mark."""
    half = start + (limit - start) // 2
    sentence = None
    for sentence in _SENTENCE_END.finditer(text, half, limit):
        pass
    if sentence is not None:
        return sentence.end()
    for space in range(limit, half, -1):
        if text[space].isspace():
            return space
    end = limit
    while end > start + 1 and (unicodedata.category(text[end]).startswith("M") or text[end] in _JOINERS):
        end -= 1
    return end


def _split_spans(spans: list[Span], bounds: list[tuple[int, int]]) -> list[list[Span]]:
    """The spans cut at the pieces' bounds (in one pass: a paragraph can have many spans and pieces)."""
    pieces: list[list[Span]] = [[] for _ in bounds]
    first = 0
    position = 0
    for span in spans:
        end = position + len(span.text)
        index = first
        while index < len(bounds) and bounds[index][0] < end:
            low, high = max(bounds[index][0], position), min(bounds[index][1], end)
            if low < high:
                pieces[index].append(Span(span.text[low - position:high - position], span.italic, span.bold))
            index += 1
        while first < len(bounds) and bounds[first][1] <= end:
            first += 1
        position = end
    return pieces
