"""The reading order both formats share: front matter, parts, chapters, endnotes, with their file
names (EPUB), anchors (PDF) and table-of-contents titles."""

from __future__ import annotations

from dataclasses import dataclass, field

from packager.model import Block, Book, Chapter


@dataclass
class Entry:
    kind: str  # front | part | chapter | endnotes
    anchor: str
    title: str
    chapter: Chapter | None = None
    index: int = -1
    children: list[Entry] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"{self.anchor}.xhtml"


def front_blocks(book: Book) -> list[Block]:
    """Front matter worth printing: everything but metadata lines (title lines, headers, contents)."""
    return [b for b in book.front_matter if b.kind != "metadata"]


def front_title(blocks: list[Block]) -> str:
    heading = next((b for b in blocks if b.kind == "heading"), None)
    if heading is not None:
        return "".join(s.text for s in heading.spans or []) or heading.text
    if blocks and all(b.kind == "note" for b in blocks):
        return "Author’s Note"
    return "Opening"


def chapter_title(book: Book, chapter: Chapter, index: int) -> str:
    """A title for the table of contents and the XHTML <title>, never empty."""
    if chapter.display_title:
        return chapter.display_title
    if len(book.chapters) == 1:
        return book.metadata.title or "Story"
    if chapter.part and (index == 0 or book.chapters[index - 1].part != chapter.part):
        return chapter.part
    return f"Chapter {index + 1}"


def plan(book: Book) -> tuple[list[Entry], list[Entry]]:
    """The reading sequence, and the nested outline (parts holding their chapters) for the contents."""
    sequence: list[Entry] = []
    outline: list[Entry] = []
    front = front_blocks(book)
    if front:
        entry = Entry("front", "front", front_title(front))
        sequence.append(entry)
        outline.append(entry)
    part_count = 0
    index = 0
    for part, chapters in book.parts:
        holder = outline
        if part:
            part_count += 1
            part_entry = Entry("part", f"part-{part_count:02d}", part)
            sequence.append(part_entry)
            outline.append(part_entry)
            holder = part_entry.children
        for chapter in chapters:
            entry = Entry("chapter", f"chapter-{index + 1:03d}", chapter_title(book, chapter, index), chapter, index)
            sequence.append(entry)
            holder.append(entry)
            index += 1
    if book.endnotes:
        entry = Entry("endnotes", "endnotes", "Author’s Notes")
        sequence.append(entry)
        outline.append(entry)
    if book.back_matter:
        entry = Entry("back", "licence", "Licence")
        sequence.append(entry)
        outline.append(entry)
    return sequence, outline
