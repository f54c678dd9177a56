"""The document model every stage shares: Book -> Chapter -> Block.

Readers and detectors produce it, transforms rewrite it, renderers consume it. It imports nothing
else from the package, so each stage can be read and changed alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Notes at or above this confidence are stripped or moved; below it they stay in the text and
# `packager inspect` lists them as uncertain.
CONFIDENT_NOTE = 0.8

BlockKind = Literal["heading", "paragraph", "note", "scene_break", "metadata"]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of inline text with its emphasis, made by the emphasis transform."""

    text: str
    italic: bool = False
    bold: bool = False


@dataclass(slots=True)
class Block:
    """One block of the source: a heading, a paragraph, an author's note, a scene break, a metadata line.

    `lines` are the 1-based inclusive source lines it came from; `file` names the source file when the
    story is a folder of chapter files. `rule` names the detection rule that decided the block's kind,
    `confidence` how sure that rule was, and `reason` says why, for `packager inspect`.

    A paragraph with `lines_kept` (verse, a letter's closing, an address: rule `verse_lines`, or a
    Markdown hard break) prints its lines as lines: its text keeps a `\n` at each kept line break, and
    each line's indentation in the source as leading spaces, counted from its least indented line
    (renderers set 2 or more in, 10 or more to the right, as a signature stands). Elsewhere the source's
    line breaks are gone from the text.
    """

    kind: BlockKind
    lines: tuple[int, int]
    text: str = ""
    file: str | None = None
    rule: str | None = None
    confidence: float | None = None
    reason: str | None = None
    note_kind: str | None = None
    quote: bool = False
    lines_kept: bool = False
    spans: list[Span] | None = None
    # A note of several paragraphs is one block (one aside, one endnote): its paragraphs, in order.
    parts: list[Block] | None = None
    # A paragraph too long for the PDF to lay out whole, cut into consecutive paragraphs that print as
    # one (render/pdf.py): `runs_on` on every piece but the last, `continues` on every piece but the first.
    runs_on: bool = False
    continues: bool = False


@dataclass
class Chapter:
    """A chapter as the author gave it.

    `number` is the number the author printed (as an integer), `title` the chapter's own title without
    the "Chapter N" part, `label` the numbering part as printed ("Chapter 7", "Prologue", "STAVE I").
    `part` is the heading of the part or book that groups it, as printed.
    """

    title: str | None
    number: int | None
    lines: tuple[int, int]
    blocks: list[Block] = field(default_factory=list)
    label: str | None = None
    part: str | None = None
    file: str | None = None
    rule: str | None = None
    story: int | None = None  # in an anthology, the index of its story in Book.stories

    @property
    def display_title(self) -> str:
        """What a table of contents shows: label and title, or whichever exists."""
        if self.label and self.title and self.label != self.title:
            return f"{self.label}: {self.title}"
        if self.title:
            return self.title
        if self.label:
            return self.label
        if self.number is not None:
            return f"Chapter {self.number}"
        return ""


@dataclass
class Metadata:
    """Book metadata, merged from the text, a sidecar file and the command line."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str = "en"
    description: str | None = None
    subjects: list[str] = field(default_factory=list)
    series: str | None = None
    series_index: float | None = None
    publisher: str | None = None
    source: str | None = None
    rights: str | None = None
    date: str | None = None
    identifier: str | None = None
    rating: str | None = None
    status: str | None = None
    translators: list[str] = field(default_factory=list)


@dataclass
class StoryHead:
    """One story bound into an anthology: its own title and authors, and what stood before its
    first chapter. Its chapters are in Book.chapters, marked with the story's index."""

    metadata: Metadata
    front_matter: list[Block] = field(default_factory=list)


@dataclass
class Endnote:
    """An author's note moved to the back of the book; `anchor` is the id of the marker where it stood."""

    anchor: str
    chapter_index: int
    block: Block


@dataclass
class Book:
    """A whole story (or an anthology of stories): metadata, what stands before the first chapter,
    and the chapters."""

    metadata: Metadata
    chapters: list[Chapter]
    front_matter: list[Block] = field(default_factory=list)
    back_matter: list[Block] = field(default_factory=list)
    endnotes: list[Endnote] = field(default_factory=list)
    stories: list[StoryHead] = field(default_factory=list)  # an anthology's stories, else empty
    warnings: list[str] = field(default_factory=list)  # what reading the text found doubtful

    @property
    def parts(self) -> list[tuple[str | None, list[Chapter]]]:
        """Chapters grouped by their part, in order; a book without parts is one group keyed None.
        In an anthology a part never runs from one story into the next."""
        groups: list[tuple[str | None, list[Chapter]]] = []
        previous: Chapter | None = None
        for chapter in self.chapters:
            if groups and previous is not None and (previous.part, previous.story) == (chapter.part, chapter.story):
                groups[-1][1].append(chapter)
            else:
                groups.append((chapter.part, [chapter]))
            previous = chapter
        return groups

    @property
    def is_anthology(self) -> bool:
        return bool(self.stories)

    @property
    def has_parts(self) -> bool:
        return any(chapter.part for chapter in self.chapters)
