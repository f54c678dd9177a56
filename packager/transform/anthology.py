"""Binding stories into one anthology: model -> model.

Each story comes in already prepared (its own notes mode and typography); the anthology keeps each
story's title, authors and opening matter as a StoryHead, marks its chapters with the story's index,
and renumbers endnotes so their anchors stay unique across stories.
"""

from __future__ import annotations

from dataclasses import replace

from packager.model import Book, Endnote, Metadata, StoryHead


def distinct_authors(books: list[Book]) -> list[str]:
    """Every author of the stories, once, in the order they first appear."""
    seen: list[str] = []
    for book in books:
        for author in book.metadata.authors:
            if author not in seen:
                seen.append(author)
    return seen


def bind_anthology(books: list[Book], metadata: Metadata) -> Book:
    """One book of `books` in order, under `metadata`."""
    chapters = []
    endnotes: list[Endnote] = []
    stories: list[StoryHead] = []
    for index, book in enumerate(books):
        offset = len(chapters)
        renamed: dict[str, str] = {}
        for note in book.endnotes:
            anchor = f"note-{len(endnotes) + 1}"
            renamed[note.anchor] = anchor
            chapter_index = note.chapter_index + offset if note.chapter_index >= 0 else -1
            endnotes.append(Endnote(anchor, chapter_index, note.block))
        for chapter in book.chapters:
            blocks = [replace(b, reason=renamed[b.reason]) if b.note_kind == "noteref" and b.reason in renamed
                      else b for b in chapter.blocks]
            chapters.append(replace(chapter, blocks=blocks, story=index))
        stories.append(StoryHead(replace(book.metadata), list(book.front_matter)))
    return Book(metadata, chapters, front_matter=[], back_matter=[], endnotes=endnotes, stories=stories)
