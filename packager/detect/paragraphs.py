"""Rebuilding paragraphs from lines: blank-line separated, one per line, or hard-wrapped.

The result is a list of units, each one candidate block with its source lines and the number of blank
lines before it (the gap), which scene-break and note rules read.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from packager.detect.breaks import symbol_line
from packager.detect.frontmatter import by_line, downloader_field
from packager.detect.headings import looks_like_title_line, named_section, numbered_heading
from packager.detect.notes import explicit_marker

MIN_WRAPPED_LINES = 6
_SENTENCE_END = (".", "!", "?", '"', "\u201d", "'", "\u2019", ":", "\u2026")
_NBSP_ONLY = re.compile(r"^[ \t]*\u00a0[\u00a0 \t]*$")


@dataclass(slots=True)
class Unit:
    """A candidate block: consecutive source lines that read as one paragraph (or one heading)."""

    first: int
    last: int
    text: str
    gap_before: int
    raw: list[str]
    # The text with the line breaks rule `verse_lines` (or a Markdown hard break) keeps, else None
    kept_text: str | None = None

    @property
    def single_line(self) -> bool:
        return self.first == self.last


def is_blank(line: str) -> bool:
    """Blank for paragraph purposes. A line of non-breaking spaces is not blank: it is a scene break."""
    return not line.strip() and not _NBSP_ONLY.match(line)


def is_hard_wrapped(lines: list[str], groups: list[list[int]] | None = None) -> bool:
    """Hard-wrapped text (Project Gutenberg style): most lines sit in multi-line groups and none of the
    long ones runs far past a typewriter width. `groups`: the text's runs of lines, when known."""
    if groups is None:
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


_ATX_HEADING = re.compile(r"^#{1,6}[ \t]*[^\s#]")
MIN_MARKDOWN_HEADINGS = 2
MAX_JOINED_SHARE = 0.2  # of a text's lines: what Markdown may join that one-paragraph-a-line would not


def markdown_syntax(lines: list[str], front_matter: bool = False) -> bool:
    """Rule `markdown_syntax`: a plain-text file written in Markdown (a `.txt` saved from a Markdown
    editor, a static site's page). YAML front matter (`front_matter`: a static site's page, whose
    lines Markdown joins as the site did), or two or more ATX headings (`# Title`, `## Chapter 1`,
    `##Chapter 1`) over paragraphs set apart by blank lines or hard-wrapped, so that reading it as
    Markdown joins no more lines than reading it as text would. A line of hashes alone is a scene
    break, not a heading."""
    if front_matter:
        return True
    headings = 0
    for line in lines:
        if line[:1] == "#" and _ATX_HEADING.match(line) and not symbol_line(line):
            headings += 1
            if headings >= MIN_MARKDOWN_HEADINGS:
                break
    else:
        return False
    groups = _groups(lines)
    # lines Markdown would join to the line above: not the first of a run, not a block of their own,
    # not under a heading
    joined = sum(1 for g in groups for i in g[1:]
                 if not _MD_BLOCK_START.match(lines[i]) and not lines[i - 1].lstrip().startswith("#"))
    total = sum(len(g) for g in groups)
    return joined <= MAX_JOINED_SHARE * total or is_hard_wrapped(lines, groups)


def build_units(lines: list[str], line_offset: int = 0, wrapped: bool | None = None,
                markdown: bool = False, keep_lines: bool = True) -> list[Unit]:
    """Split lines into units. In hard-wrapped text (and in Markdown) a run of lines is one paragraph;
    otherwise every line is its own paragraph. `line_offset` is added to line numbers. With
    `keep_lines` (rule `verse_lines` on), a unit whose breaks are the author's (verse, a signature, a
    Markdown hard break) carries them in `kept_text`."""
    spacing = nbsp_lines_are_spacing(lines)
    groups = _groups(lines, spacing)
    if wrapped is None:  # the runs are the same unless lines of non-breaking spaces are spacing
        wrapped = markdown or is_hard_wrapped(lines, None if spacing else groups)
    measure = _Measure.of(lines, groups) if wrapped and keep_lines and not markdown else None
    units: list[Unit] = []
    previous_end = -1
    for group in groups:
        gap = group[0] - previous_end - 1
        previous_end = group[-1]
        if wrapped:
            chunks = _split_wrapped(lines, group, markdown)
        else:
            chunks = [[i] for i in group]
        for n, chunk in enumerate(chunks):
            raw = [lines[i] for i in chunk]
            text = " ".join(part.strip() for part in raw if part.strip()) or raw[0]
            kept = None
            if len(chunk) > 1 and keep_lines:
                kept = _hard_breaks(raw) if markdown else _verse_lines(raw, measure) if measure else None
            units.append(Unit(chunk[0] + 1 + line_offset, chunk[-1] + 1 + line_offset, text,
                              gap if n == 0 else 0, raw, kept))
    return units


# Rule `verse_lines`: in hard-wrapped text, the line breaks a writer made on purpose are kept.
SET_IN = 2        # spaces past the text's left edge that set a line in (one stray space after a quote does not)
SET_RIGHT = 10    # a line set in this far stands apart: a signature, an address, a date set to the right
SHORT_FIT = 0.7   # a short line: it and the next line's first word fill less than this share of the measure
ROOM_FIT = 0.9    # an indented line broke with room to spare: the next word would have fitted
MAX_INDENTED_OPENINGS = 2  # paragraphs opened by an indent inside a run: indentation is the text's layout


@dataclass(frozen=True)
class _Measure:
    """How a hard-wrapped text is set: its wrap width, the left edge its paragraphs' lines keep, and
    whether a line set in past that edge means something (not when the text opens its paragraphs so)."""

    width: int
    margin: int
    indents_mean: bool

    @staticmethod
    def of(lines: list[str], groups: list[list[int]]) -> _Measure | None:
        multi = [g for g in groups if len(g) > 1]
        if not multi:
            return None
        lengths: list[int] = []
        inner: Counter[int] = Counter()  # the indents of lines after a run's first
        for g in multi:
            for position, i in enumerate(g):
                line = lines[i]
                lengths.append(len(line.rstrip()))
                if position:
                    inner[len(line) - len(line.lstrip(" \t"))] += 1
        lengths.sort()
        width = lengths[int(0.9 * (len(lengths) - 1))]
        margin = inner.most_common(1)[0][0]  # statistics.mode: the first seen of the commonest
        # A full line set in with the next at the edge, inside a run of lines: a paragraph's opening,
        # where a text marks its paragraphs by indenting them and leaves out the blank lines.
        openings = 0
        if len(inner) > 1:  # every line at one edge: nothing is set in
            openings = sum(1 for g in multi for a, b in zip(g[1:], g[2:])
                           if _indent(lines[a]) >= margin + SET_IN and _indent(lines[b]) <= margin
                           and _fit(lines[a], lines[b]) >= ROOM_FIT * width)
        return _Measure(width, margin, openings < MAX_INDENTED_OPENINGS)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _fit(line: str, following: str) -> int:
    """How far a line would reach with the next line's first word on it."""
    return len(line.rstrip()) + 1 + len(following.split()[0])


_OPENING_QUOTE = ('"', "\u201c", "'", "\u2018")


def _verse_lines(raw: list[str], measure: _Measure) -> str | None:
    """Rule `verse_lines`: the line breaks of a run of hard-wrapped lines that a wrap never makes.
    A line set in past the text's left edge (verse, a signature, an address) keeps its breaks: a
    wrapped paragraph's lines all start at one edge, so a line that starts elsewhere (unless full lines
    hang from a full one at the edge, as a list item's do), a set-in line
    followed by one at the edge (`Their faithful Friend and Servant,` / `C. D.` set right / `December,
    1843.`), and a set-in run whose lines broke with room to spare are the writer's. Footnotes and
    quoted letters set in as wrapped prose (their lines full) are joined. A run whose lines are all
    well short of the measure (not just its last line) is verse too, unless it is lines of dialogue,
    each opening a quotation and ending a sentence. Returns the text with the kept breaks as `\n`
    and each line's indentation, or None when every break is a wrap."""
    width, margin = measure.width, measure.margin
    last = len(raw) - 1
    if not (measure.indents_mean and any(line[0] in " \t" and _indent(line) >= margin + SET_IN for line in raw)) \
            and (len(raw[last].rstrip()) >= SHORT_FIT * width
                 or any(_fit(raw[k], raw[k + 1]) >= SHORT_FIT * width for k in range(last))):
        return None  # every line at the edge and one of them full: wrapped prose (most runs end here)
    indents = [_indent(line) for line in raw]
    set_in = [indent >= margin + SET_IN for indent in indents] if measure.indents_mean else [False] * len(raw)
    fits = [_fit(raw[k], raw[k + 1]) for k in range(last)]
    keep: set[int] = set()  # k: the break after line k is kept
    if all(fit < SHORT_FIT * width for fit in fits) and len(raw[last].rstrip()) < SHORT_FIT * width \
            and not _dialogue_lines(raw):
        keep.update(range(last))
    for k in range(last):
        if set_in[k + 1] and indents[k + 1] != indents[k]:
            hanging = not set_in[k] and indents[k + 1] < margin + SET_RIGHT and fits[k] >= ROOM_FIT * width \
                and (k + 1 == last or fits[k + 1] >= ROOM_FIT * width)
            if not hanging:
                keep.add(k)  # a line starting at a new left edge, unless full lines hang from a full one
        elif set_in[k] and not set_in[k + 1] and (k > 0 or fits[k] < ROOM_FIT * width
                                                  or indents[k] >= margin + SET_RIGHT):
            keep.add(k)  # a set-in line, then one at the edge; a paragraph's own first-line indent is full
    start = 0
    while start < last:  # runs of lines set in alike: verse when most of their breaks left room
        end = start
        while end < last and set_in[end] and set_in[end + 1] and indents[end + 1] == indents[start]:
            end += 1
        if end > start and 2 * sum(1 for k in range(start, end) if fits[k] < ROOM_FIT * width) >= end - start:
            keep.update(range(start, end))
        start = end + 1
    if not keep:
        return None
    least = min(indents)
    text = raw[0][least:].rstrip()
    for k in range(last):
        text += ("\n" + raw[k + 1][least:].rstrip()) if k in keep else " " + raw[k + 1].strip()
    return text


def _dialogue_lines(raw: list[str]) -> bool:
    """Lines that each open a quotation and end a sentence: speeches one to a line, not verse."""
    quoted = sum(1 for line in raw if line.lstrip().startswith(_OPENING_QUOTE))
    return quoted >= 2 and all(line.rstrip().endswith(_SENTENCE_END) for line in raw)


_MD_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")


def _hard_breaks(raw: list[str]) -> str | None:
    """A Markdown hard break: a line ending in two spaces or a backslash ends a line of the paragraph."""
    if not any(_MD_HARD_BREAK.search(line) for line in raw[:-1]):
        return None
    text = ""
    for k, line in enumerate(raw):
        hard = k < len(raw) - 1 and _MD_HARD_BREAK.search(line)
        part = line.strip()
        if hard and part.endswith("\\"):
            part = part[:-1].rstrip()
        text += part + ("\n" if hard else " " if k < len(raw) - 1 else "")
    return text


_MD_BLOCK_START = re.compile(r"^\s*(#{1,6}(?!#)\S|#{1,6}\s|>|[-*+]\s|\d+[.)]\s|\*\s*\*\s*\*|-{3,}\s*$|_{3,}\s*$)")


def _is_by_after_short_line(previous: str, line: str) -> bool:
    """`Title` then `by Author` on the next line: two lines of a title block, not one wrapped sentence."""
    return len(previous.strip()) < 50 and by_line(line) is not None


def _opens_own_block(line: str) -> bool:
    """In wrapped plain text, a heading, a note marker or a break line never joins the line before."""
    text = line.strip()
    if not text or text[0].islower():
        return False  # the rest of a sentence, whatever word it starts with
    return symbol_line(line) or bool(numbered_heading(text) or named_section(text) or explicit_marker(text))


_NOTE_END = _SENTENCE_END + ("]", ")", "*")


def _opens_a_note(line: str) -> bool:
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
    heading = numbered_heading(heading_line.strip()) or named_section(heading_line.strip())
    return heading is not None and (heading.title is not None or not looks_like_title_line(line))


def _split_wrapped(lines: list[str], group: list[int], markdown: bool) -> list[list[int]]:
    """Join a run of wrapped lines, but start a new unit at lines that open their own block: Markdown
    headings, quotes and breaks, a line after a quote that does not carry `>` itself, and (in plain text) short centred or indented heading-like lines that
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
                                      or markdown and previous.lstrip().startswith("#")
                                      # no lazy continuation: a quote ends at the first line without `>`
                                      or markdown and previous.lstrip().startswith(">")
                                      and not line.lstrip().startswith(">"))
        if starts_block:
            chunks.append([index])
            in_note = not markdown and _opens_a_note(line)
        else:
            chunks[-1].append(index)
    return chunks
