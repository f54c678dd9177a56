"""All transforms in order: notes mode, then typography and emphasis on every text-bearing block."""

from __future__ import annotations

from dataclasses import replace

from packager.model import Block, Book
from packager.transform.emphasis import parse_emphasis, strip_markup
from packager.transform.notes import NotesMode, apply_notes_mode
from packager.transform.titles import title_case
from packager.transform.typography import smarten


def prepare_book(book: Book, notes: NotesMode = "keep", smart_typography: bool = True,
                 disabled_rules: frozenset[str] = frozenset(), keep_licence: bool = False) -> tuple[Book, list[Block]]:
    """The book as it will be rendered, and the notes removed from the reading flow. The Gutenberg
    licence is left out unless `keep_licence`, which prints it as back matter."""
    book, removed = apply_notes_mode(book, notes)
    book.back_matter = licence_paragraphs(book.back_matter) if keep_licence else []

    def fix(text: str) -> str:
        return smarten(text, disabled_rules) if smart_typography else text


    def typeset(block: Block) -> Block:
        parts = [typeset(part) for part in block.parts] if block.parts else block.parts
        return replace(block, spans=parse_emphasis(fix(block.text)), parts=parts)

    book.front_matter = [typeset(b) for b in book.front_matter]
    book.back_matter = [typeset(b) for b in book.back_matter]
    for chapter in book.chapters:
        chapter.blocks = [typeset(b) for b in chapter.blocks]
    book.endnotes = [replace(note, block=typeset(note.block)) for note in book.endnotes]
    for chapter in book.chapters:
        if chapter.title:
            chapter.title = fix(title_case(strip_markup(chapter.title)))
        if chapter.label:
            chapter.label = title_case(chapter.label)
        if chapter.part:
            chapter.part = fix(title_case(strip_markup(chapter.part)))
    meta = book.metadata
    book.metadata = replace(meta, title=fix(meta.title) if meta.title else meta.title)
    return book, removed


def licence_paragraphs(back_matter: list[Block]) -> list[Block]:
    """Licence text kept as back matter: its paragraphs, hard-wrapped lines joined."""
    paragraphs: list[Block] = []
    for block in back_matter:
        first = block.lines[0]
        lines = block.text.split("\n")
        start = None
        for offset, line in enumerate(lines + [""]):
            if line.strip() and start is None:
                start = offset
            elif not line.strip() and start is not None:
                text = " ".join(part.strip() for part in lines[start:offset])
                paragraphs.append(Block("paragraph", (first + start, first + offset - 1), text, block.file,
                                        "licence_text"))
                start = None
    return paragraphs
