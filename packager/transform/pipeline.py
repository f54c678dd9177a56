"""All transforms in order: notes mode, then typography and emphasis on every text-bearing block."""

from __future__ import annotations

from dataclasses import replace

from packager.model import Block, Book
from packager.transform.emphasis import parse_emphasis, strip_markup
from packager.transform.notes import NotesMode, apply_notes_mode
from packager.transform.typography import smarten


def prepare_book(book: Book, notes: NotesMode = "keep", smart_typography: bool = True) -> tuple[Book, list[Block]]:
    """The book as it will be rendered, and the notes removed from the reading flow."""
    book, removed = apply_notes_mode(book, notes)
    fix = smarten if smart_typography else (lambda text: text)

    def typeset(block: Block) -> Block:
        return replace(block, spans=parse_emphasis(fix(block.text)))

    book.front_matter = [typeset(b) for b in book.front_matter]
    for chapter in book.chapters:
        chapter.blocks = [typeset(b) for b in chapter.blocks]
    book.endnotes = [replace(note, block=typeset(note.block)) for note in book.endnotes]
    for chapter in book.chapters:
        if chapter.title:
            chapter.title = fix(strip_markup(chapter.title))
        if chapter.part:
            chapter.part = fix(strip_markup(chapter.part))
    meta = book.metadata
    book.metadata = replace(meta, title=fix(meta.title) if meta.title else meta.title)
    return book, removed
