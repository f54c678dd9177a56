"""The notes mode: keep author's notes in place, strip them, or move them to endnotes.

Only confident notes are removed or moved; a note the detector is unsure of stays where it stood, so
nothing of the story is ever lost.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from packager.model import CONFIDENT_NOTE, Block, Book, Endnote

NotesMode = Literal["keep", "strip", "endnotes"]
NOTES_MODES = ("keep", "strip", "endnotes")


def is_confident_note(block: Block) -> bool:
    return block.kind == "note" and (block.confidence or 0.0) >= CONFIDENT_NOTE


def apply_notes_mode(book: Book, mode: NotesMode) -> tuple[Book, list[Block]]:
    """Return a new book with notes handled per `mode`, and the notes taken out of the reading flow.
    The input book is not changed."""
    book = replace(book, chapters=[replace(c, blocks=list(c.blocks)) for c in book.chapters],
                   front_matter=list(book.front_matter), endnotes=list(book.endnotes),
                   metadata=replace(book.metadata))
    removed: list[Block] = []
    if mode == "keep":
        return book, removed
    book.front_matter, taken = _take_notes(book.front_matter)
    removed.extend(taken)
    if mode == "endnotes":
        book.endnotes.extend(Endnote(f"note-{k + 1}", -1, block) for k, block in enumerate(taken))
    for index, chapter in enumerate(book.chapters):
        kept: list[Block] = []
        for block in chapter.blocks:
            if not is_confident_note(block):
                kept.append(block)
                continue
            removed.append(block)
            if mode == "endnotes":
                anchor = f"note-{len(book.endnotes) + 1}"
                book.endnotes.append(Endnote(anchor, index, block))
                kept.append(Block("note", block.lines, "", block.file, "noteref", reason=anchor,
                                  note_kind="noteref"))
        chapter.blocks = kept
    return book, removed


def _take_notes(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    kept = [b for b in blocks if not is_confident_note(b)]
    taken = [b for b in blocks if is_confident_note(b)]
    return kept, taken
