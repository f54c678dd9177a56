"""Runs of combining marks capped (`combining_marks`).

"Zalgo" text stacks hundreds or millions of combining marks (accents, diacritics: Unicode's category M)
on a letter. No script needs more than a few on one character, and Unicode's own Stream-Safe Text
Format (UAX #15) allows at most 30 in a row; a text shaper, however, lays out a letter and all its
marks as one cluster, so a line holding one with 400,000 marks is laid out again with every line
that follows it, and the PDF's cost grows with the square of the marks. A run of more than
MAX_MARKS marks keeps its first MAX_MARKS, in the EPUB and the PDF alike (both show the same text),
and the build warns once with the number removed.
"""

from __future__ import annotations

from dataclasses import replace

import regex

from packager.model import Block, Book

MAX_MARKS = 30  # Unicode's Stream-Safe Text Format: at most 30 non-starters in a row
_RUN = regex.compile(r"(\p{M}{%d})\p{M}+" % MAX_MARKS)


def cap_marks(text: str) -> tuple[str, int]:
    """`text` with every run of combining marks cut to MAX_MARKS, and the number of marks removed."""
    removed = 0

    def keep(match: regex.Match) -> str:
        nonlocal removed
        removed += len(match[0]) - MAX_MARKS
        return match[1]

    return _RUN.sub(keep, text), removed


def cap_combining_marks(book: Book) -> int:
    """Every text of `book` (blocks and their parts, chapter titles, labels and parts, the title)
    with runs of combining marks capped, in place; returns the number of marks removed."""
    removed = 0

    def cap(text: str | None) -> str | None:
        nonlocal removed
        if not text:
            return text
        text, count = cap_marks(text)
        removed += count
        return text

    def block(b: Block) -> Block:
        parts = [block(p) for p in b.parts] if b.parts else b.parts
        return replace(b, text=cap(b.text), parts=parts)

    book.front_matter = [block(b) for b in book.front_matter]
    book.back_matter = [block(b) for b in book.back_matter]
    for chapter in book.chapters:
        chapter.blocks = [block(b) for b in chapter.blocks]
        chapter.title, chapter.label, chapter.part = cap(chapter.title), cap(chapter.label), cap(chapter.part)
    book.endnotes = [replace(note, block=block(note.block)) for note in book.endnotes]
    book.metadata = replace(book.metadata, title=cap(book.metadata.title))
    return removed


def marks_warning(removed: int, where: object) -> list[str]:
    """The one warning for a story whose marks were capped, or none."""
    if not removed:
        return []
    return [f"{where}: {removed:,} combining marks removed, more than {MAX_MARKS} on one character "
            f"(combining_marks)"]
