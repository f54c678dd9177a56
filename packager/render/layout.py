"""The reading order both formats share: front matter, parts, chapters, endnotes, with their file
names (EPUB), anchors (PDF) and table-of-contents titles. In an anthology each story opens with its
own title page, and its parts and chapters nest beneath it in the contents."""

from __future__ import annotations

from dataclasses import dataclass, field

from packager.model import Block, Book, Chapter, StoryHead


@dataclass
class Entry:
    kind: str  # front | story | part | chapter | endnotes | back
    anchor: str
    title: str
    chapter: Chapter | None = None
    index: int = -1
    children: list[Entry] = field(default_factory=list)
    lone: bool = False  # the only, untitled chapter of an anthology's story: its title is the story's

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


def story_front_blocks(head: StoryHead) -> list[Block]:
    """What an anthology prints on a story's title page below its title and author."""
    return [b for b in head.front_matter if b.kind != "metadata"]


def _story_chapters(book: Book, chapter: Chapter) -> list[Chapter]:
    return book.chapters if chapter.story is None else [c for c in book.chapters if c.story == chapter.story]


def _is_lone_untitled(book: Book, chapter: Chapter) -> bool:
    """A story of one chapter with no heading: its title is the story's own."""
    return not chapter.display_title and len(_story_chapters(book, chapter)) == 1


def chapter_title(book: Book, chapter: Chapter, index: int) -> str:
    """A title for the table of contents and the XHTML <title>, never empty."""
    if chapter.display_title:
        return chapter.display_title
    if _is_lone_untitled(book, chapter):
        if chapter.story is not None:
            return book.stories[chapter.story].metadata.title or "Story"
        return book.metadata.title or "Story"
    previous = book.chapters[index - 1] if index > 0 else None
    if chapter.part and (previous is None or (previous.part, previous.story) != (chapter.part, chapter.story)):
        return chapter.part
    return f"Chapter {index + 1}"


def plan(book: Book) -> tuple[list[Entry], list[Entry]]:
    """The reading sequence, and the nested outline (stories holding their parts, parts holding their
    chapters) for the contents."""
    sequence: list[Entry] = []
    outline: list[Entry] = []
    front = front_blocks(book)
    if front:
        entry = Entry("front", "front", front_title(front))
        sequence.append(entry)
        outline.append(entry)
    part_count = 0
    index = 0
    current_story: int | None = None
    story_entry: Entry | None = None
    for part, chapters in book.parts:
        story = chapters[0].story
        if story is not None and story != current_story:
            current_story = story
            head = book.stories[story]
            story_entry = Entry("story", f"story-{story + 1:02d}", head.metadata.title or f"Story {story + 1}",
                                index=story)
            sequence.append(story_entry)
            outline.append(story_entry)
        holder = story_entry.children if story_entry is not None and story is not None else outline
        if part:
            part_count += 1
            part_entry = Entry("part", f"part-{part_count:02d}", part)
            sequence.append(part_entry)
            holder.append(part_entry)
            holder = part_entry.children
        for chapter in chapters:
            entry = Entry("chapter", f"chapter-{index + 1:03d}", chapter_title(book, chapter, index), chapter, index)
            entry.lone = story is not None and not part and _is_lone_untitled(book, chapter)
            sequence.append(entry)
            if not entry.lone:
                holder.append(entry)  # a one-chapter story without a heading: its title page is its entry
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


def note_group_names(book: Book, sequence: list[Entry]) -> dict[int, str]:
    """The heading each group of endnotes gets: its chapter's title (in an anthology, with the story's),
    and -1 for notes that stood before the first chapter."""
    names: dict[int, str] = {-1: "Before the story"}
    for entry in sequence:
        if entry.kind != "chapter" or entry.chapter is None:
            continue
        title = entry.title
        if entry.chapter.story is not None:
            story = book.stories[entry.chapter.story].metadata.title or ""
            title = title if title == story else f"{story}: {title}"
        names[entry.index] = title
    return names
