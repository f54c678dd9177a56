"""Rebuilding paragraphs from lines: blank-line separated, one per line, or hard-wrapped.

The result is a list of units, each one candidate block with its source lines and the number of blank
lines before it (the gap), which scene-break and note rules read.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from packager.detect.frontmatter import by_line, downloader_field

MIN_WRAPPED_LINES = 6
_SENTENCE_END = (".", "!", "?", '"', "\u201d", "'", "\u2019", ":", "\u2026")
_NBSP_ONLY = re.compile(r"^[ \t]*\u00a0[\u00a0 \t]*$")


@dataclass
class Unit:
    """A candidate block: consecutive source lines that read as one paragraph (or one heading)."""

    first: int
    last: int
    text: str
    gap_before: int
    raw: list[str]

    @property
    def single_line(self) -> bool:
        return self.first == self.last


def is_blank(line: str) -> bool:
    """Blank for paragraph purposes. A line of non-breaking spaces is not blank: it is a scene break."""
    return not line.strip() and not _NBSP_ONLY.match(line)


def is_hard_wrapped(lines: list[str]) -> bool:
    """Hard-wrapped text (Project Gutenberg style): most lines sit in multi-line groups and none of the
    long ones runs far past a typewriter width."""
    groups = _groups(lines)
    multi = [g for g in groups if len(g) > 1]
    in_multi = sum(len(g) for g in multi)
    total = sum(len(g) for g in groups)
    if not total or in_multi < 0.5 * total or in_multi < MIN_WRAPPED_LINES:
        return False  # a few lines are too little evidence: keep one paragraph per line
    lengths = sorted(len(lines[i].rstrip()) for g in multi for i in g)
    p90 = lengths[int(0.9 * (len(lengths) - 1))]
    # Wrapped lines break mid-sentence; lines that each end a sentence are one paragraph per line.
    inner = [lines[i].rstrip() for g in multi for i in g[:-1]]
    sentence_ends = sum(1 for line in inner if line.endswith(_SENTENCE_END)) / max(1, len(inner))
    return p90 <= 80 and statistics.median(lengths) >= 30 and sentence_ends < 0.5


def nbsp_lines_are_spacing(lines: list[str]) -> bool:
    """Rule `nbsp_spacing`: where the text marks its breaks with symbols (`—-`, `* * *`), lines of
    non-breaking spaces are spacing a web page left around them, not breaks of their own."""
    from packager.detect.breaks import symbol_line

    if not any("\u00a0" in line for line in lines):
        return False
    return any(line.strip() and not _NBSP_ONLY.match(line) and symbol_line(line) for line in lines)


def _groups(lines: list[str], nbsp_spacing: bool = False) -> list[list[int]]:
    """Runs of non-blank line indexes (0-based)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for index, line in enumerate(lines):
        if is_blank(line) or nbsp_spacing and not line.strip():
            if current:
                groups.append(current)
                current = []
        else:
            current.append(index)
    if current:
        groups.append(current)
    return groups


def build_units(lines: list[str], line_offset: int = 0, wrapped: bool | None = None,
                markdown: bool = False) -> list[Unit]:
    """Split lines into units. In hard-wrapped text (and in Markdown) a run of lines is one paragraph;
    otherwise every line is its own paragraph. `line_offset` is added to line numbers."""
    if wrapped is None:
        wrapped = markdown or is_hard_wrapped(lines)
    units: list[Unit] = []
    previous_end = -1
    for group in _groups(lines, nbsp_lines_are_spacing(lines)):
        gap = group[0] - previous_end - 1
        previous_end = group[-1]
        if wrapped:
            chunks = _split_wrapped(lines, group, markdown)
        else:
            chunks = [[i] for i in group]
        for n, chunk in enumerate(chunks):
            raw = [lines[i] for i in chunk]
            text = " ".join(part.strip() for part in raw if part.strip()) or raw[0]
            units.append(Unit(chunk[0] + 1 + line_offset, chunk[-1] + 1 + line_offset, text,
                              gap if n == 0 else 0, raw))
    return units


_MD_BLOCK_START = re.compile(r"^\s*(#{1,6}(?!#)\S|#{1,6}\s|>|[-*+]\s|\d+[.)]\s|\*\s*\*\s*\*|-{3,}\s*$|_{3,}\s*$)")


def _is_by_after_short_line(previous: str, line: str) -> bool:
    """`Title` then `by Author` on the next line: two lines of a title block, not one wrapped sentence."""
    return len(previous.strip()) < 50 and by_line(line) is not None


def _opens_own_block(line: str) -> bool:
    """In wrapped plain text, a heading, a note marker or a break line never joins the line before."""
    from packager.detect.breaks import symbol_line
    from packager.detect.headings import numbered_heading, named_section
    from packager.detect.notes import explicit_marker

    text = line.strip()
    if not text or text[0].islower():
        return False  # the rest of a sentence, whatever word it starts with
    return symbol_line(line) or bool(numbered_heading(text) or named_section(text) or explicit_marker(text))


_NOTE_END = _SENTENCE_END + ("]", ")", "*")


def _opens_a_note(line: str) -> bool:
    from packager.detect.notes import explicit_marker

    return bool(explicit_marker(line.strip()))


def _note_has_ended(last_line: str) -> bool:
    """The last line of a marked note (`A/N: …`) ends a sentence or closes its bracket: the next line
    starts the story again, not the note's second sentence. Taken the other way, stripping the note
    would take a line of the story with it; taken this way, at worst a note's last sentence is kept
    as story."""
    return last_line.rstrip().endswith(_NOTE_END)


def _heading_has_ended(heading_line: str, line: str) -> bool:
    """A heading line (`Chapter 1: Arrival`) in wrapped plain text: the next line is story, unless the
    heading is bare (`CHAPTER I.`) and the line reads as its title. Joined to the heading, a line of
    story would turn it into a paragraph, and the chapter into the text of the one before."""
    from packager.detect.headings import looks_like_title_line, named_section, numbered_heading

    heading = numbered_heading(heading_line.strip()) or named_section(heading_line.strip())
    return heading is not None and (heading.title is not None or not looks_like_title_line(line))


def _split_wrapped(lines: list[str], group: list[int], markdown: bool) -> list[list[int]]:
    """Join a run of wrapped lines, but start a new unit at lines that open their own block: Markdown
    headings, quotes and breaks, and (in plain text) short centred or indented heading-like lines that
    stand alone at the start of the run, the line after a marked note that has ended, and the line
    after a heading that is not its title. One look at each line: a run can be a whole chapter."""
    chunks: list[list[int]] = []
    in_note = False  # the current unit opened with a note marker (plain text only)
    for index in group:
        line = lines[index]
        previous = lines[chunks[-1][-1]] if chunks else ""
        starts_block = not chunks or (markdown and bool(_MD_BLOCK_START.match(line))
                                      or markdown and ":" in line[:40] and downloader_field(line) is not None
                                      or _is_by_after_short_line(previous, line)
                                      or not markdown and (_opens_own_block(line)
                                                           or in_note and _note_has_ended(previous)
                                                           or len(chunks[-1]) == 1
                                                           and _heading_has_ended(previous, line))
                                      or markdown and previous.lstrip().startswith("#"))
        if starts_block:
            chunks.append([index])
            in_note = not markdown and _opens_a_note(line)
        else:
            chunks[-1].append(index)
    return chunks
