"""The structure pass: units of text to a Book of front matter, parts, chapters and blocks.

The named rules in `headings`, `notes`, `breaks` and `frontmatter` each judge one line or paragraph;
this module decides from their positions what they are: which headings are real (a contents list
repeats them with nothing between), which open parts, where the story title stands, which notes sit at
chapter edges, which blank gaps are scene breaks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from packager.detect import breaks, frontmatter, notes
from packager.detect.headings import HeadingMatch, bare_numeral, looks_like_title_line, match_heading, unwrap
from packager.detect.options import DetectOptions
from packager.detect.paragraphs import Unit, build_units, markdown_syntax
from packager.model import Block, Book, Chapter, Metadata


@dataclass(frozen=True)
class SourceFile:
    """One decoded source file handed to detection; `name` is set for chapter files of a folder story."""

    lines: list[str]
    name: str | None = None
    markdown: bool = False


@dataclass
class _Heading:
    index: int  # position in the unit list
    match: HeadingMatch
    title_unit: int | None = None  # a title standing on the line after a bare `Chapter 7`
    index_unit: int | None = None  # the same heading given just before, as an index line (`1. Title`)

    group: tuple[int, ...] = ()  # lines repeated above the heading (story title, `By Author`)
    byline: int | None = None  # a blog post's `Posted on … by …` under the heading

    @property
    def start(self) -> int:
        if self.group:
            return min(self.group)
        return self.index_unit if self.index_unit is not None else self.index
    has_body: bool = False
    role: str = "chapter"  # chapter | part | contents | front


@dataclass
class _Layout:
    """What the whole document decided about its units, for the chapter bodies: contents entries,
    note sections opened by a heading (first unit -> unit after the last), sub-section headings."""

    contents: set[int] = field(default_factory=set)
    note_sections: dict[int, int] = field(default_factory=dict)
    subsections: set[int] = field(default_factory=set)


@dataclass
class _FileReading:
    front: list[Block] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    back: list[Block] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)


def detect_book(files: list[SourceFile], options: DetectOptions = DetectOptions(),
                fallback_title: str | None = None) -> Book:
    """Read one story (a file, or a folder's chapter files in order) into a Book.

    Metadata holds only what the text itself says; the build merges sidecar and command line over it.
    """
    folder = len(files) > 1
    front: list[Block] = []
    chapters: list[Chapter] = []
    back: list[Block] = []
    meta: dict[str, str] = {}
    standalone: list[str] = []
    for position, source in enumerate(files):
        reading = _read_file(source, options, chapter_file=folder, first_file=position == 0)
        if folder and _reads_as_a_story(source, reading):
            standalone.append(source.name or "")
        front.extend(reading.front if position == 0 else [])
        if position > 0 and reading.front:
            # text before the first heading of a later chapter file opens that file's chapter
            if reading.chapters:
                reading.chapters[0].blocks[:0] = reading.front
                first = reading.front[0].lines[0]
                reading.chapters[0].lines = (first, reading.chapters[0].lines[1])
        chapters.extend(reading.chapters)
        back.extend(reading.back)
        for key, value in reading.meta.items():
            meta.setdefault(key, value)
    for position, title in options.chapter_titles:
        if 1 <= position <= len(chapters):
            chapters[position - 1].title = title
            chapters[position - 1].rule = f"{chapters[position - 1].rule}+sidecar_title"
    metadata = Metadata(
        title=meta.get("title") or fallback_title,
        authors=[meta["author"]] if meta.get("author") else [],
        translators=[meta["translator"]] if meta.get("translator") else [],
        language=frontmatter.language_code(meta.get("language", "en")),
        description=meta.get("summary"),
        rating=meta.get("rating"),
        status=meta.get("status"),
        source=meta.get("story url") or meta.get("source"),
        date=meta.get("updated") or meta.get("published") or meta.get("release date"),
        subjects=[s.strip() for s in re.split(r"[,/]", meta.get("genre", "")) if s.strip()],
    )
    warnings = []
    if len(standalone) >= 2:
        warnings.append(f"{len(standalone)} of the folder's {len(files)} files read as stories of their own "
                        f"({', '.join(standalone[:3])}{', …' if len(standalone) > 3 else ''}: a title and "
                        "author, a downloader's header or a Chapter 1 each); they are bound as chapters of one "
                        "book: add a collection.toml to build them as separate books")
    return Book(metadata=metadata, chapters=chapters, front_matter=front, back_matter=back, warnings=warnings)


def _reads_as_a_story(source: SourceFile, reading: _FileReading) -> bool:
    """Rule `separate_stories`: a chapter file of a folder that opens like a whole story: a title and a
    `by` line, a downloader's header, or its own `Chapter 1` after which more chapters follow."""
    head = [line.strip() for line in source.lines[:40] if line.strip()][:12]
    titled = len(head) >= 2 and frontmatter.title_line(head[0]) and not match_heading(head[0]) and (
        frontmatter.by_line(head[1]) is not None or match_heading(head[1]) is not None)
    header = sum(1 for line in head if frontmatter.downloader_field(line)) >= 3
    numbers = [c.number for c in reading.chapters if c.number is not None]
    return titled or header or (bool(numbers) and numbers[0] == 1)


def _read_file(source: SourceFile, options: DetectOptions, chapter_file: bool, first_file: bool) -> _FileReading:
    reading = _FileReading()
    lines = source.lines
    name = source.name
    offset = 0
    body_lines = lines
    gutenberg = frontmatter.gutenberg_bounds(lines) if first_file else None
    if gutenberg:
        start, end = gutenberg
        reading.meta.update(frontmatter.gutenberg_header(lines[:start]))
        reading.front.append(Block("metadata", (1, start + 1), file=name, rule="gutenberg_header",
                                   reason="Project Gutenberg header and licence"))
        if end < len(lines):
            reading.back.append(Block("metadata", (end + 1, len(lines)), file=name, rule="gutenberg_licence",
                                      reason="Project Gutenberg licence", text="\n".join(lines[end:])))
        body_lines = lines[start + 1:end]
        offset = start + 1
    last = next((k for k in range(len(body_lines) - 1, -1, -1) if body_lines[k].strip()), None)
    if last is not None and frontmatter.downloader_end(body_lines[last]):
        reading.back.append(Block("metadata", (offset + last + 1, offset + last + 1), body_lines[last].strip(),
                                  name, "downloader_end", reason="a downloader's end-of-file line"))
        body_lines = body_lines[:last]
    elif last is not None and frontmatter.navigation_line(body_lines[last]) and "navigation_line" not in options:
        reading.back.append(Block("metadata", (offset + last + 1, offset + last + 1), body_lines[last].strip(),
                                  name, "navigation_line", reason="a web page's chapter links"))
        body_lines = body_lines[:last]
    yaml = frontmatter.yaml_front_matter(lines) if first_file and not gutenberg \
        and "yaml_front_matter" not in options else None
    if yaml:
        end, fields = yaml
        reading.meta.update(fields)
        reading.front.append(Block("metadata", (1, end + 1), file=name, rule="yaml_front_matter",
                                   reason="a YAML front-matter block"))
        body_lines = lines[end + 1:]
        offset = end + 1
    markdown = source.markdown or "markdown_syntax" not in options and markdown_syntax(body_lines, bool(yaml))
    units = build_units(body_lines, offset, markdown=markdown, keep_lines="verse_lines" not in options)
    if not units:
        return reading
    disabled = options
    ao3 = not gutenberg and frontmatter.ao3_export(lines) and "ao3_layout" not in options
    if ao3:
        # AO3 pads headings and notes with blank lines of its own: gaps are layout, never scene breaks
        disabled = replace(options, disabled_rules=options.disabled_rules | {"blank_gap", "note_fence"})
        start_index = _read_ao3_preface(units, reading, name)
        afterword = next((i for i in range(start_index, len(units)) if units[i].text.strip() == "Afterword"
                          and units[i].gap_before >= 2), None)
        if afterword is not None:
            reading.back.append(Block("metadata", (units[afterword].first, units[-1].last), "", name,
                                      "ao3_afterword", reason="AO3's closing page"))
            closing = units[afterword + 1:]
            units = units[:afterword]
            # the work's end notes stand on AO3's closing page: they close the last chapter
            for k, unit in enumerate(closing):
                if unit.text.strip() == "End Notes":
                    end = next((m for m in range(k + 1, len(closing)) if closing[m].gap_before >= 2), len(closing))
                    units.extend(closing[k:end])
                    break
        heading_of = _ao3_headings(units, start_index, frontmatter.ao3_stated_chapters(lines), disabled)
    else:
        heading_of = {i: h for i, u in enumerate(units) if u.single_line
                      and not breaks.symbol_line(u.raw[0]) and (h := match_heading(u.text, disabled))}
        start_index = 0
        if not gutenberg and first_file:
            start_index = _read_opening(units, heading_of, reading, name, chapter_file)
    if not ao3 and not gutenberg and "contents_list" not in disabled:
        _contents_titles(units, heading_of, start_index)
    note_sections, subsections = _markdown_outline(units, heading_of, start_index, disabled) \
        if markdown else ({}, set())
    headings = _resolve_headings(units, heading_of, start_index, disabled)
    usual_gap = 1 if ao3 else breaks.typical_gap([u.gap_before for u in units[start_index + 1:]])

    grouped = next((h for h in headings if h.group and h.role in ("chapter", "part")), None)
    if grouped is not None:
        for j in sorted(grouped.group):
            text = unwrap(units[j].text)
            if (author := frontmatter.by_line(text)):
                reading.meta.setdefault("author", author)
            elif "title" not in reading.meta and frontmatter.title_line(text):
                reading.meta["title"] = text
    first_heading = next((h.start for h in headings if h.role in ("chapter", "part", "front")), None)
    front_end = first_heading if first_heading is not None else start_index
    contents = {h.index for h in headings if h.role == "contents"}
    layout = _Layout(contents, note_sections, subsections)
    front = [i for i in range(start_index, front_end if first_heading is not None else start_index)]
    front_notes = {} if gutenberg or "edge_content" in options.disabled_rules else _judge(
        units, _notelike_prefix(units, [i for i in front if i not in contents], disabled), True, disabled)
    if not gutenberg and "note_continues" not in disabled:
        front_notes.update(_note_runs([i for i in front if i not in contents], units, usual_gap, disabled,
                                      front_notes)[0])
    opens_front = next((h.role == "front" for h in headings if h.role in ("chapter", "part", "front")), False)
    opening = [] if gutenberg or opens_front or "opening_text" in disabled \
        else _opening_text(front, units, contents, front_notes)
    for i in front[:len(front) - len(opening)]:
        reading.front.append(_front_block(units[i], i in contents, bool(gutenberg), name, disabled,
                                          front_notes.get(i)))
    if opening:
        reading.chapters.append(_chapter(None, opening, units, usual_gap, name, disabled, None, layout))

    story_headings = [h for h in headings if h.role in ("chapter", "part", "front")]
    if not story_headings:
        body = list(range(start_index, len(units)))
        if body:
            chapter = _chapter(None, body, units, usual_gap, name, disabled, None, layout)
            if "opening_text" not in disabled:
                _leading_notes_to_front(chapter, reading)
            reading.chapters.append(chapter)
        return reading
    part: str | None = None
    for k, heading in enumerate(story_headings):
        stop = story_headings[k + 1].start if k + 1 < len(story_headings) else len(units)
        own = {*heading.group, heading.index_unit, heading.index, heading.title_unit, heading.byline}
        body = [i for i in range(heading.start, stop) if i not in own]
        if heading.role == "part":
            part = units[heading.index].text.strip().strip("#").strip()
            if any(units[i].text.strip() for i in body if not breaks.symbol_line(units[i].raw[0])):
                # a part that opens with text of its own: that text is an untitled opening chapter
                reading.chapters.append(_chapter(None, body, units, usual_gap, name, disabled, part, layout))
            continue
        if heading.role == "front":
            reading.front.append(_heading_block(heading, units, name))
            reading.front.extend(_body_blocks(body, units, usual_gap, name, disabled, layout))
            continue
        reading.chapters.append(_chapter(heading, body, units, usual_gap, name, disabled, part, layout))
    return reading


MIN_OPENING_AFTER_FENCE = 2
MIN_OPENING = 5


def _opening_text(front: list[int], units: list[Unit], contents: set[int],
                  front_notes: dict[int, notes.NoteMatch]) -> list[int]:
    """Rule `opening_text`: story text before the first heading (a prologue the author left untitled)
    is an untitled opening chapter, not front matter: the paragraphs that end the front, when a fence
    (`---`, `* * *`) sets them off from the title and summary above, or when there are too many of them
    to be a summary. A run under a label (`Summary:`) is the summary. Returns those units."""
    run: list[int] = []
    for i in reversed(front):
        unit = units[i]
        note = front_notes.get(i) or notes.match_note(unit.text)
        if i in contents or breaks.symbol_line(unit.raw[0]) or (note and note.confidence >= notes.CONFIDENT) \
                or frontmatter.downloader_field(unit.text) or frontmatter.by_line(unit.text):
            break
        run.append(i)
    run.reverse()
    if not run:
        return []
    fenced = run[0] > 0 and breaks.symbol_line(units[run[0] - 1].raw[0])
    labelled = any(units[i].text.strip().rstrip("*_").endswith((":", "\uff1a")) and len(units[i].text) <= 40
                   for i in run[:1])
    if labelled:
        run = run[1:]
    if (fenced and len(run) >= MIN_OPENING_AFTER_FENCE) or (not labelled and len(run) >= MIN_OPENING):
        return run
    return []


def _leading_notes_to_front(chapter: Chapter, reading: _FileReading) -> None:
    """A story with no headings: the notes it opens with (and the fence under them) are the work's notes,
    in the front matter, and the one chapter starts where the story does (rule `opening_text`)."""
    k = 0
    while k < len(chapter.blocks) and chapter.blocks[k].kind in ("note", "scene_break") \
            and any(b.kind == "note" for b in chapter.blocks[:k + 1]):
        k += 1
    if k == 0 or not any(b.kind == "paragraph" for b in chapter.blocks[k:]):
        return
    reading.front.extend(chapter.blocks[:k])
    chapter.blocks = chapter.blocks[k:]
    chapter.lines = (chapter.blocks[0].lines[0], chapter.lines[1])


_CONTENTS_LABEL = re.compile(r"^[#*_\s]*(?:table of contents|contents|index|chapters|目录|目錄|содержание|innehåll)"
                             r"[*_:\s]*$", re.IGNORECASE)
_ENTRY_NUMBER = re.compile(r"^\s*(?:\d{1,3}|[IVXLC]{1,7})[.):]\s+")
MAX_CONTENTS_ENTRIES = 200


def _contents_titles(units: list[Unit], heading_of: dict[int, HeadingMatch], start: int) -> None:
    """Rule `contents_list`: a contents list at the top (after a `Contents` label, or a run of short
    lines) whose entries stand again, alone on their lines, further down: those lines head the
    chapters, even when they are bare titles (`The Crossing`), and the list is front matter."""
    label = next((k for k in range(start, min(len(units), start + 40))
                  if units[k].single_line and _CONTENTS_LABEL.match(units[k].text.strip())), None)
    first = label + 1 if label is not None else start
    entries: list[int] = []
    k = first
    while k < len(units) and len(entries) < MAX_CONTENTS_ENTRIES and units[k].single_line \
            and len(units[k].text.strip()) <= 80 and (k == first or units[k].gap_before <= 1) \
            and not units[k].text.strip().endswith((".", ",", ";", "!", "?", '"', "\u201d")):
        entries.append(k)
        k += 1
    keys: dict[str, int] = {}
    for entry in entries:
        key = _squash(unwrap(_ENTRY_NUMBER.sub("", unwrap(units[entry].text))))
        if key:
            keys.setdefault(key, entry)
    if len(keys) < 2:
        return  # two entries must stand again below (most texts have no list: no scan of the whole)
    found: dict[int, int] = {}
    for i in range(k, len(units)):
        unit = units[i]
        if not unit.single_line or len(unit.text.strip()) > 80:
            continue
        key = _squash(unwrap(_ENTRY_NUMBER.sub("", unwrap(unit.text))))
        if i in heading_of and heading_of[i].title:  # `Chapter 1: The Bundle` names its entry too
            key = _squash(heading_of[i].title) if _squash(heading_of[i].title) in keys else key
        if key in keys and keys[key] not in found.values():
            found[i] = keys[key]
    in_order = list(found.values()) == sorted(found.values())
    if len(found) < 2 or not in_order or (label is None and len(found) < 0.8 * len(entries)):
        return
    for i in found:
        title = unwrap(_ENTRY_NUMBER.sub("", unwrap(units[i].text)))
        heading_of.setdefault(i, HeadingMatch("chapter", None, None, title, "contents_list", "contents"))
    for entry in ([label] if label is not None else []) + entries:
        if entry in heading_of and heading_of[entry].rule == "bare_numeral":
            del heading_of[entry]  # `1. The Bundle` in the list is an entry, not a numeral heading
        heading_of.setdefault(entry, HeadingMatch("chapter", None, None, units[entry].text.strip(),
                                                  "contents_list", "contents"))


def _leading_notes(units: list[Unit]) -> int:
    """How many units at the top are a note: a marked or labelled paragraph, and the paragraph a bare
    label heads."""
    k = 0
    while k < min(len(units), 6) and (note := notes.match_note(units[k].text)) is not None:
        k += 2 if notes.note_label(units[k].text) and k + 1 < len(units) else 1
    return k if k < len(units) else 0


def _md_level(match: HeadingMatch) -> int:
    return int(match.family.split(":")[1]) if match.family.startswith("markdown:") else 0


_NOTE_HEADING = re.compile(
    r"^(?:notes?|author['\u2019]?s['\u2019]?\s+notes?|a\s*/\s*n|afterword|acknowledge?ments|"
    r"作者的碎碎念|作者的话|后记|作者有话说)\b", re.IGNORECASE)


def _markdown_outline(units: list[Unit], heading_of: dict[int, HeadingMatch], start: int,
                      disabled: DetectOptions) -> tuple[dict[int, int], set[int]]:
    """Decide Markdown headings for the document as a whole (rule `markdown_outline`):
    - a heading that names a note (`#### Notes (on formatting)`, `## Afterword`, `## 作者的碎碎念`) opens a
      note that runs to the next heading of its level or above;
    - a heading that is a date or time (`#### April 4, 2000 AD`) opens a scene, not a chapter;
    - chapters are the shallowest level that repeats; deeper headings inside a chapter are its
      sub-sections, kept in its text (the Prologue's `## A Crown of Thorns` under `# Prologue`).
    Returns the note sections (first unit -> unit after the last) and the sub-section headings."""
    sections: dict[int, int] = {}
    subsections: set[int] = set()
    if "markdown_outline" in disabled:
        return sections, subsections
    marked = sorted(i for i, h in heading_of.items() if h.rule == "markdown_heading" and i >= start)
    for i in marked:
        text = unwrap(units[i].text.strip().lstrip("#"))
        if _NOTE_HEADING.match(text):
            level = _md_level(heading_of[i])
            end = next((j for j in marked if j > i and j in heading_of and _md_level(heading_of[j]) <= level),
                       len(units))
            sections[i] = end
            for j in marked:
                if i <= j < end:
                    heading_of.pop(j, None)
        elif frontmatter.dateline(text):
            heading_of.pop(i, None)
    levels = Counter(_md_level(h) for i, h in heading_of.items() if h.rule == "markdown_heading" and i >= start)
    repeated = sorted(level for level, count in levels.items() if count >= 2)
    if repeated:
        chapter_level = repeated[0]
        for i in [i for i, h in heading_of.items() if h.rule == "markdown_heading" and i >= start]:
            h = heading_of[i]
            if _md_level(h) > chapter_level and h.level == "chapter" and h.number is None and h.label is None \
                    and any(j < i and _md_level(g) == chapter_level for j, g in heading_of.items()):
                subsections.add(i)
                del heading_of[i]
    return sections, subsections


def _read_ao3_preface(units: list[Unit], reading: _FileReading, name: str | None) -> int:
    """AO3's preface (rule `ao3_layout`): `Title - author - fandom`, the work's tags and stats, then the
    title, `by author`, `Summary` and the work's `Notes` (a note). Returns the first unit after it."""
    stats = next((k for k, u in enumerate(units[:200]) if u.text.strip().startswith("Words:")), 0)
    by = next((k for k in range(stats + 1, min(len(units), stats + 12))
               if re.match(r"^by\s+\S", units[k].text.strip()) and units[k].single_line), None)
    if by is None:
        return 0
    reading.meta["title"] = units[by - 1].text.strip()
    reading.meta["author"] = units[by].text.strip()[3:].strip()  # AO3 handles may start in lower case
    for k in range(by + 1):
        reading.front.append(Block("metadata", (units[k].first, units[k].last), units[k].text, name, "ao3_preface"))
    i = by + 1
    while i < len(units) and units[i].text.strip() in ("Summary", "Notes") and units[i].gap_before < 2:
        label = units[i].text.strip()
        j = i + 1
        while j < len(units) and units[j].gap_before < 2 and units[j].text.strip() not in ("Summary", "Notes"):
            j += 1
        if label == "Summary":
            reading.meta["summary"] = " ".join(units[k].text.strip() for k in range(i + 1, j))
            for k in range(i, j):
                reading.front.append(Block("metadata", (units[k].first, units[k].last), units[k].text, name,
                                           "ao3_preface"))
        else:
            note = Block("note", (units[i].first, units[j - 1].last), "\n\n".join(
                units[k].text.strip() for k in range(i, j)), name, "note_label", 0.95,
                "AO3's work notes", "author_note")
            reading.front.append(note)
        i = j
    return i


_AO3_CHAPTER_LABELS = ("Chapter Summary", "Chapter Notes")


def _ao3_headings(units: list[Unit], start: int, stated: int | None,
                  disabled: DetectOptions) -> dict[int, HeadingMatch]:
    """AO3's chapter headings (rule `ao3_layout`): a short line standing alone after a gap of two or
    more blank lines, followed by `Chapter Summary`/`Chapter Notes` or by another such gap. `Chapter 3`
    is read as numbered; any other line is the chapter's title. A heading given again with only notes
    between (the author's own `Chapter 1` under AO3's) is one heading."""
    found: dict[int, HeadingMatch] = {}
    previous: int | None = None
    for i in range(start, len(units)):
        unit = units[i]
        text = unit.text.strip()
        nxt = units[i + 1] if i + 1 < len(units) else None
        if not unit.single_line or (unit.gap_before < 2 and i != start) or not text or len(text) > MAX_HEADING \
                or text == "Afterword" or notes.match_note(text, disabled) or breaks.symbol_line(unit.raw[0]):
            continue
        if not (nxt is None or nxt.gap_before >= 3 or nxt.text.strip() in _AO3_CHAPTER_LABELS):
            continue
        if previous is not None and _squash(units[previous].text) == _squash(text) and all(
                notes.match_note(units[k].text, disabled) or not units[k].text.strip()
                for k in range(previous + 1, i)):
            continue
        match = match_heading(text, disabled)
        if match is None or match.rule == "bare_numeral" or match.level != "chapter":
            match = HeadingMatch("chapter", None, None, text, "ao3_layout", "ao3")
        found[i] = match
        previous = i
    for i, match in list(found.items()):
        if match.title is None and match.number is not None:
            title = _author_heading_after(units, i, match.number, disabled)
            if title:
                found[i] = replace(match, title=title, rule="ao3_layout+duplicate_heading")
    if stated and len(found) > stated:
        # more candidates than the chapters AO3 says the work has: keep the likeliest, in order
        def likelihood(i: int) -> tuple[int, int, int]:
            nxt = units[i + 1] if i + 1 < len(units) else None
            labelled = nxt is not None and nxt.text.strip() in _AO3_CHAPTER_LABELS
            sentence = units[i].text.strip().endswith((".", "!", "?", "\u201d", '"', ")"))
            return (labelled, not sentence, units[i].gap_before)
        keep = set(sorted(found, key=likelihood, reverse=True)[:stated])
        found = {i: h for i, h in found.items() if i in keep}
    return found


MAX_HEADING = 100


def _author_heading_after(units: list[Unit], i: int, number: int, disabled: DetectOptions) -> str | None:
    """The author's own heading under AO3's `Chapter 17`, past the chapter's notes (`Chapter 17
    (Epilogue)`): one heading, whose title is the chapter's."""
    in_note = False
    for j in range(i + 1, min(len(units), i + 12)):
        text = units[j].text.strip()
        if notes.match_note(text, disabled):
            in_note = True
        elif in_note and units[j].gap_before < 2:
            continue
        else:
            match = match_heading(text, disabled)
            return match.title if match is not None and match.number == number else None
    return None


def _read_opening(units: list[Unit], heading_of: dict[int, HeadingMatch], reading: _FileReading,
                  name: str | None, chapter_file: bool) -> int:
    """Title line, `by Author`, downloader `Key: value` fields at the top of a file. Returns the index of
    the first unit that is not opening metadata."""
    i = 0
    first = units[0]
    if len(units) > 1 and first.single_line and units[1].single_line and 0 not in heading_of \
            and (posted := frontmatter.posted_line(units[1].text)) and len(first.text.strip()) <= MAX_HEADING:
        # a blog post's title over its byline: the post is a chapter (a web serial's chapter page)
        heading_of[0] = HeadingMatch("chapter", None, None, unwrap(first.text.strip()), "posted_line", "posted")
        reading.meta.setdefault("author", posted[1])
        return 0
    has_headings = any(h.rule != "bare_numeral" for h in heading_of.values())
    lead = _leading_notes(units)  # a note may stand above the title (`Author's note:` on line 1)
    top = heading_of.get(lead)
    markdown_title = (top is not None and top.rule == "markdown_heading" and top.number is None
                      and top.label is None and all(
                          _md_level(h) > _md_level(top) for j, h in heading_of.items()
                          if j != lead and h.rule == "markdown_heading"))
    if markdown_title and not chapter_file:
        for k in range(lead):
            note = notes.match_note(units[k].text) or notes.NoteMatch(
                "note_continues", "author_note", 0.9, "continues the note above the title")
            reading.front.append(Block("note", (units[k].first, units[k].last), units[k].text, name, note.rule,
                                       note.confidence, note.reason, note.note_kind))
        title_unit = units[lead]
        reading.meta["title"] = heading_of.pop(lead).title or title_unit.text
        reading.front.append(Block("metadata", (title_unit.first, title_unit.last), title_unit.text, name,
                                   "markdown_title",
                                   reason="the one shallowest Markdown heading at the top names the story"))
        i = lead + 1
    elif first.single_line and 0 not in heading_of and not chapter_file and frontmatter.title_line(first.text) \
            and not notes.match_note(first.text):
        following = units[1] if len(units) > 1 else None
        confirms = following is not None and (
            1 in heading_of or frontmatter.by_line(following.text) is not None
            or frontmatter.downloader_field(following.text) is not None
            or (has_headings and (notes.match_note(following.text) is not None
                                  or notes.note_cues(following.text)[0] > 0))
            or (not has_headings and len(units) >= 4 and following.gap_before >= 1)
            or (frontmatter.name_line(following.text) is not None and following.single_line and 2 in heading_of))
        if confirms:
            reading.meta["title"] = first.text.strip().strip("*_").strip()
            reading.front.append(Block("metadata", (first.first, first.last), first.text, name, "title_line",
                                       reason="a short capitalised line standing alone at the top"))
            i = 1
    if i < len(units) and (author := frontmatter.by_line(units[i].text)) and units[i].single_line:
        reading.meta["author"] = author
        reading.front.append(Block("metadata", (units[i].first, units[i].last), units[i].text, name, "by_line"))
        i += 1

    while i < len(units) and (field_ := frontmatter.downloader_field(units[i].text)):
        key, value = field_
        reading.meta.setdefault(key.lower(), value)
        if key.lower() == "by":
            reading.meta.setdefault("author", value)
        reading.front.append(Block("metadata", (units[i].first, units[i].last), units[i].text, name,
                                   "downloader_header"))
        i += 1
    return _fenced_summary(units, i, heading_of, reading, name)


MAX_SUMMARY_UNITS = 8


def _fenced_summary(units: list[Unit], i: int, heading_of: dict[int, HeadingMatch], reading: _FileReading,
                    name: str | None) -> int:
    """Rule `summary_label`: `Summary:` on a line of its own at the top, the blurb, then a fence (`---`,
    `* * *`) before the story: the label and blurb are the book's description, the fence closes them.
    Returns the first unit after the fence."""
    if i >= len(units) or not units[i].single_line or not frontmatter.summary_label(units[i].text):
        return i
    fence = next((k for k in range(i + 1, min(len(units), i + MAX_SUMMARY_UNITS + 1))
                  if breaks.symbol_line(units[k].raw[0]) or k in heading_of), None)
    if fence is None or fence in heading_of or fence == i + 1:
        return i
    reading.meta.setdefault("summary", " ".join(units[k].text.strip() for k in range(i + 1, fence)))
    for k in range(i, fence + 1):
        reading.front.append(Block("metadata", (units[k].first, units[k].last), units[k].text, name,
                                   "summary_label", reason="a summary under its label, fenced off from the story"))
    return fence + 1


def _resolve_headings(units: list[Unit], heading_of: dict[int, HeadingMatch], start: int,
                      disabled: DetectOptions) -> list[_Heading]:
    """Decide which heading candidates are chapters, parts, front-matter sections or contents entries."""
    candidates = {i: h for i, h in heading_of.items() if i >= start
                  and not (i > 0 and frontmatter.sequel_pointer(units[i - 1].text))}
    worded = any(h.rule != "bare_numeral" for h in candidates.values())
    if worded:
        candidates = _numerals_that_continue(candidates)
    headings = [_Heading(i, h) for i, h in sorted(candidates.items())]
    for heading in headings:
        match = heading.match
        nxt = heading.index + 1
        if match.title is None and match.label and nxt < len(units) and nxt not in candidates:
            unit = units[nxt]
            after = units[nxt + 1] if nxt + 1 < len(units) else None
            if unit.single_line and looks_like_title_line(unit.text) and not frontmatter.dateline(unit.text) \
                    and not frontmatter.story_closer(unit.text) \
                    and not notes.match_note(unit.text) and not breaks.symbol_line(unit.raw[0]) \
                    and after is not None and after.gap_before >= 1 \
                    and (nxt + 1) not in candidates and "title_on_next_line" not in disabled:
                heading.title_unit = nxt  # only when story follows: a lone short line is the chapter's text
    for heading in headings:
        if heading.match.rule == "bare_numeral" or "duplicate_heading" in disabled:
            continue
        previous = heading.index - 1  # past the notes and breaks standing between the two
        while previous >= start and heading.index - previous <= MAX_NOTES_BETWEEN and previous not in candidates \
                and (breaks.symbol_line(units[previous].raw[0]) or notes.match_note(units[previous].text, disabled)
                     or _continues_note(units, previous, disabled)):
            previous -= 1
        if previous >= start and _same_heading(units[previous], heading.match, disabled) and (
                previous not in candidates or candidates[previous].rule == "bare_numeral"
                or candidates[previous].family != heading.match.family
                and (heading.index - previous > 1 or heading.match.rule == "markdown_heading")):
            heading.index_unit = previous
    absorbed = {h.index_unit for h in headings if h.index_unit is not None}
    headings = [h for h in headings if h.index not in absorbed]
    if "heading_group" not in disabled:
        _heading_groups(units, headings, candidates, start)
    if "posted_line" not in disabled:
        for heading in headings:
            after = (heading.title_unit if heading.title_unit is not None else heading.index) + 1
            if after < len(units) and units[after].single_line and frontmatter.posted_line(units[after].text):
                heading.byline = after
    for k, heading in enumerate(headings):
        stop = headings[k + 1].start if k + 1 < len(headings) else len(units)
        first_body = (heading.title_unit if heading.title_unit is not None else heading.index) + 1
        heading.has_body = any(not breaks.symbol_line(units[i].raw[0]) for i in range(first_body, stop))
    for k, heading in enumerate(headings):
        nxt = headings[k + 1] if k + 1 < len(headings) else None
        match = heading.match
        if match.level == "front":
            heading.role = "front"
        elif heading.has_body:
            heading.role = "chapter"
        elif nxt is not None and nxt.match.family != match.family and nxt.match.level == "chapter" \
                and (match.level == "part" or match.rule == "named_section"):
            heading.role = "part"
        else:
            heading.role = "contents"
    # a part with no chapter after it (before the next part) was a contents entry
    for k, heading in enumerate(headings):
        if heading.role == "part":
            following = next((h for h in headings[k + 1:] if h.role in ("part", "chapter")), None)
            if following is None or following.role == "part":
                heading.role = "contents"
    # front sections (Preface) after the first chapter are ordinary chapters
    seen_chapter = False
    for heading in headings:
        if heading.role in ("chapter", "part"):
            seen_chapter = True
        elif heading.role == "front" and seen_chapter:
            heading.role = "chapter"
    return headings


MAX_GROUP_LINES = 4


def _heading_groups(units: list[Unit], headings: list[_Heading], candidates: dict[int, HeadingMatch],
                    start: int) -> None:
    """Rule `heading_group`: short lines standing right above several headings, the same each time
    (the story's title and `By Author` repeated before every chapter, as pasted chapter pages are),
    belong to the heading, not to the chapter before. A line set closer to the text above it than to
    the line below (the last line of a chapter's end notes, then a gap, then the next title) stays
    with the text above."""
    above: dict[int, list[int]] = {}
    seen: Counter[str] = Counter()
    for heading in headings:
        run: list[int] = []
        j = heading.start - 1
        while j >= start and len(run) < MAX_GROUP_LINES and units[j].single_line \
                and len(units[j].text.strip()) <= MAX_HEADING and j not in candidates \
                and not notes.match_note(units[j].text) and not breaks.symbol_line(units[j].raw[0]) \
                and (j == start or units[j].gap_before >= units[j + 1].gap_before):
            run.append(j)
            j -= 1
        above[heading.index] = run
        seen.update({_squash(units[j].text) for j in run})
    for heading in headings:
        group = []
        for j in above[heading.index]:  # nearest first
            if seen[_squash(units[j].text)] < 2 or not _squash(units[j].text):
                break
            group.append(j)
        heading.group = tuple(group)


MAX_NOTES_BETWEEN = 8


def _same_heading(unit: Unit, heading: HeadingMatch, options: DetectOptions) -> bool:
    """Rule `duplicate_heading`: the heading given twice, an index line (`1. The Beginning`, a
    downloader's `\t1. The Beginning`, `## 1. The Beginning`) before `Chapter 1: The Beginning`, with
    at most the chapter's opening notes between; both lines make one heading."""
    if not unit.single_line:
        return False
    text = unit.text.strip()
    index = bare_numeral(text) or match_heading(text, options)
    if index is not None and index.rule == "markdown_heading" and index.number is None and index.title:
        index = bare_numeral(index.title) or index
    if index is not None and index.number == heading.number and (index.title is None or heading.title is None
                                                                  or _squash(index.title) == _squash(heading.title)):
        return True
    return heading.title is not None and _squash(unit.text) == _squash(heading.title)


_NOT_WORD = re.compile(r"\W+")


def _squash(text: str) -> str:
    return _NOT_WORD.sub("", text).lower()


def _numerals_that_continue(candidates: dict[int, HeadingMatch]) -> dict[int, HeadingMatch]:
    """In a book with worded headings, a bare numeral is a sub-section (`I.` inside an adventure) unless
    it carries a title and continues the chapter numbering (`VII. THE BLUE CARBUNCLE` after
    `ADVENTURE VI`): rule `numbering_continues`."""
    kept: dict[int, HeadingMatch] = {}
    last: int | None = None
    for i, heading in sorted(candidates.items()):
        if heading.rule == "bare_numeral":
            if heading.title and last is not None and heading.number == last + 1:
                kept[i] = heading
                last = heading.number
            continue
        kept[i] = heading
        if heading.level == "chapter" and heading.number is not None:
            last = heading.number
    return kept


def _heading_block(heading: _Heading, units: list[Unit], name: str | None) -> Block:
    first = units[heading.start]
    last_index = heading.byline if heading.byline is not None else \
        heading.title_unit if heading.title_unit is not None else heading.index
    last = units[last_index]
    text = "\n".join(units[i].text for i in (*sorted(heading.group), heading.index_unit, heading.index,
                                              heading.title_unit, heading.byline) if i is not None)
    rule = heading.match.rule + ("+title_on_next_line" if heading.title_unit is not None else "") \
        + ("+duplicate_heading" if heading.index_unit is not None else "") \
        + ("+heading_group" if heading.group else "") + ("+posted_line" if heading.byline is not None else "")
    return Block("heading", (first.first, last.last), text, name, rule)


def _front_block(unit: Unit, is_contents: bool, gutenberg: bool, name: str | None,
                 disabled: DetectOptions, edge_note: notes.NoteMatch | None = None) -> Block:
    if is_contents:
        return Block("metadata", (unit.first, unit.last), unit.text, name, "contents_list",
                     reason="a heading with no text under it, as in a contents list")
    if breaks.symbol_line(unit.raw[0]):
        return Block("scene_break", (unit.first, unit.last), unit.text, name, "symbol_line")
    note = edge_note or notes.match_note(unit.text, disabled)
    if note and note.confidence >= notes.CONFIDENT:
        return Block("note", (unit.first, unit.last), unit.text, name, note.rule, note.confidence,
                     note.reason, note.note_kind)
    if gutenberg:
        return Block("metadata", (unit.first, unit.last), unit.text, name, "gutenberg_title_page",
                     reason="title-page text of a Project Gutenberg edition")
    block = _paragraph(unit, name, unit.text)
    if note:
        block.rule, block.confidence, block.reason = "possible_note", note.confidence, note.reason
    return block


def _paragraph(unit: Unit, name: str | None, text: str) -> Block:
    """A paragraph of the story; one whose line breaks are the writer's keeps them (rule `verse_lines`)."""
    if unit.kept_text is not None and not _is_quote(unit):
        return Block("paragraph", (unit.first, unit.last), unit.kept_text, name, "verse_lines", lines_kept=True,
                     reason="lines set in or short of the measure: verse, a signature, an address")
    return Block("paragraph", (unit.first, unit.last), text, name, quote=_is_quote(unit))


def _is_quote(unit: Unit) -> bool:
    return all(line.lstrip().startswith(">") for line in unit.raw if line.strip())


def _paragraph_text(unit: Unit) -> str:
    if _is_quote(unit):
        return " ".join(line.lstrip()[1:].strip() for line in unit.raw if line.strip()).strip()
    return unit.text


def _body_blocks(body: list[int], units: list[Unit], usual_gap: int, name: str | None,
                 disabled: DetectOptions, layout: _Layout) -> list[Block]:
    """Paragraphs, notes and breaks of one chapter body, with notes found at its edges."""
    edge = {} if "edge_content" in disabled else _edge_notes(body, units, usual_gap, disabled)
    continued, opened_by = ({}, {}) if "note_continues" in disabled else \
        _note_runs(body, units, usual_gap, disabled, edge)
    edge.update(continued)
    for first, end in layout.note_sections.items():
        for i in body:
            if first <= i < end:
                edge[i] = notes.NoteMatch("markdown_outline", "author_note", 0.9,
                                          f"under the note heading at line {units[first].first}")
                opened_by[i] = first
    blocks: list[Block] = []
    for position, i in enumerate(body):
        unit = units[i]
        opens_scene = position > 0 and blocks and blocks[-1].kind != "scene_break" \
            and not breaks.symbol_line(unit.raw[0]) and not frontmatter.story_closer(unit.text)
        if opens_scene and breaks.is_gap_break(unit.gap_before, usual_gap) and "blank_gap" not in disabled:
            blocks.append(Block("scene_break", (unit.first - unit.gap_before, unit.first - 1), "", name,
                                "blank_gap", reason=f"{unit.gap_before} blank lines where the text uses {usual_gap}"))
        elif opens_scene and unit.single_line and unit.gap_before >= 1 and frontmatter.dateline(unit.text) \
                and "dateline" not in disabled \
                and not unit.raw[0].startswith("    "):  # a centred line is a notice, not a dateline
            blocks.append(Block("scene_break", (unit.first - unit.gap_before, unit.first - 1), "", name,
                                "dateline", reason="a dateline or time skip opens a new scene"))
        if unit.single_line and breaks.symbol_line(unit.raw[0]) and "symbol_line" not in disabled:
            blocks.append(Block("scene_break", (unit.first, unit.last), unit.text.strip(), name, "symbol_line"))
            continue
        note = edge.get(i) or notes.match_note(unit.text, disabled)
        if note and note.confidence >= notes.CONFIDENT:
            block = Block("note", (unit.first, unit.last), _paragraph_text(unit), name, note.rule, note.confidence,
                          note.reason, note.note_kind)
            previous = blocks[-1] if blocks else None
            if previous is not None and previous.kind == "note" and i in opened_by \
                    and opened_by[i] == opened_by.get(_last_unit_of[id(previous)], -1):
                _join_note(previous, block)
            else:
                blocks.append(block)
            _last_unit_of[id(blocks[-1])] = i
            continue
        if i in layout.subsections:
            blocks.append(Block("paragraph", (unit.first, unit.last), unwrap(unit.text.strip().lstrip("#")), name,
                                "markdown_outline", reason="a sub-section heading inside the chapter"))
            continue
        block = _paragraph(unit, name, _paragraph_text(unit))
        if note:  # unsure: kept as story, and `inspect` says why it might be a note
            block.rule, block.confidence, block.reason = "possible_note", note.confidence, note.reason
        blocks.append(block)
    _drop_edge_breaks(blocks)
    if "after_the_end" not in disabled:
        _after_the_end(blocks)
    if "note_fence" not in disabled:
        _fences_to_notes(blocks)
    _last_unit_of.clear()
    return blocks


_DIALOGUE = ('"', "\u201c", "\u300c", "\u300e", "\u00ab", "\u201e", "'", "\u2018", "-", "\u2014")


def _after_the_end(blocks: list[Block]) -> None:
    """Rule `after_the_end`: what follows the story's own last line (`The End`, `TBC`, `（完）`, `Конец`) to
    the end of the chapter is the author speaking (an afterword, a plot outline, thanks), not story: a
    note. Only a short tail, with no dialogue in it, and only after story."""
    closer = next((k for k in range(len(blocks) - 1, max(-1, len(blocks) - 2 * MAX_TAIL_NOTE_PARAGRAPHS - 2), -1)
                   if blocks[k].kind == "paragraph" and frontmatter.story_closer(blocks[k].text)), None)
    if closer is None:
        return
    before = sum(1 for b in blocks[:closer] if b.kind == "paragraph")
    tail = [b for b in blocks[closer + 1:] if b.kind == "paragraph"]
    if not tail or before == 0 or len(tail) > min(MAX_TAIL_NOTE_PARAGRAPHS, max(3, before // 3)) \
            or any(b.text.lstrip().startswith(_DIALOGUE) for b in tail):
        return
    kept = blocks[:closer + 1]
    for block in blocks[closer + 1:]:
        previous = kept[-1]
        if block.kind == "paragraph":
            note = Block("note", block.lines, block.text, block.file, "after_the_end", 0.9,
                         "after the story's last line", "author_note")
            if previous.kind == "note" and previous.rule == "after_the_end":
                _join_note(previous, note)
                continue
            if previous.kind == "scene_break" and len(kept) > closer + 1:
                kept.pop()
                _fence_note(note, previous, after=False)
            block = note
        kept.append(block)
    blocks[:] = kept


def _fence_note(note: Block, fence: Block, after: bool) -> None:
    """The fence joins the note: its lines and its text (so `inspect`, strip and the notes file keep
    every character of the source), but not the note's printed paragraphs: the aside is its frame."""
    if note.parts is None:
        note.parts = [Block("paragraph", note.lines, note.text, note.file)]
    if after:
        note.lines, note.text = (note.lines[0], max(note.lines[1], fence.lines[1])), f"{note.text}\n\n{fence.text}"
    else:
        note.lines, note.text = (min(note.lines[0], fence.lines[0]), note.lines[1]), f"{fence.text}\n\n{note.text}"


def _fences_to_notes(blocks: list[Block]) -> None:
    """Rule `note_fence`: a break that fences a note off at a chapter's edge (`A/N: …` then `* * *`
    then the story; the story, `* * *`, then the closing note) belongs to the note, not the story."""
    kinds = [b.kind for b in blocks]
    story = [k for k, kind in enumerate(kinds) if kind == "paragraph"]
    if not story:
        return
    first, last = story[0], story[-1]
    drop: set[int] = set()
    k = first - 1  # the break just before the first paragraph, with only notes above it
    if k >= 1 and kinds[k] == "scene_break" and kinds[k - 1] == "note" \
            and all(kind in ("note", "heading", "scene_break") for kind in kinds[:k]):
        _fence_note(blocks[k - 1], blocks[k], after=True)
        drop.add(k)
    k = last + 1  # the break just after the last paragraph, with only notes below it
    if k + 1 < len(blocks) and kinds[k] == "scene_break" and kinds[k + 1] == "note" \
            and all(kind in ("note", "scene_break") for kind in kinds[k + 1:]):
        _fence_note(blocks[k + 1], blocks[k], after=False)
        drop.add(k)
    blocks[:] = [b for k, b in enumerate(blocks) if k not in drop]


_last_unit_of: dict[int, int] = {}  # note block -> the unit it last took in, while a body is read


def _join_note(note: Block, paragraph: Block) -> None:
    """One note of several paragraphs is one block; its paragraphs are kept as its parts."""
    if note.parts is None:
        note.parts = [Block("paragraph", note.lines, note.text, note.file)]
    note.parts.append(Block("paragraph", paragraph.lines, paragraph.text, paragraph.file))
    note.lines = (note.lines[0], paragraph.lines[1])
    note.text = f"{note.text}\n\n{paragraph.text}"


MAX_TAIL_NOTE_PARAGRAPHS = 40
_BOLD_LINE = re.compile(r"^(\*\*|__).*(\*\*|__)$")


def _formatting(unit: Unit) -> str:
    if _is_quote(unit):
        return "quote"
    return "bold" if _BOLD_LINE.match(unit.text.strip()) else "plain"


def _note_runs(body: list[int], units: list[Unit], usual_gap: int, disabled: DetectOptions,
               known: dict[int, notes.NoteMatch]) -> tuple[dict[int, notes.NoteMatch], dict[int, int]]:
    """Rule `note_continues`: a note is a block, not a line. A marker or a label (`A/N:`, `Chapter End
    Notes`, `**Author's Endnote:**`) opens a note that runs on over the paragraphs after it while they
    read as the writer's (cues, or the note's own formatting: all bold, all quoted) and no wider gap or
    break sets the story apart; at a chapter's tail, where nothing after the marker reads as story
    (dialogue, a break), the note runs to the chapter's end. Returns the paragraphs taken in, and for
    each note paragraph the unit that opened its note."""
    found: dict[int, notes.NoteMatch] = {}
    opened_by: dict[int, int] = {}
    n = len(body)
    k = 0
    while k < n:
        i = body[k]
        unit = units[i]
        opener = known.get(i) or notes.match_note(unit.text, disabled)
        if opener is None or opener.confidence < notes.CONFIDENT or breaks.symbol_line(unit.raw[0]):
            k += 1
            continue
        bare = notes.note_label(unit.text) is not None
        style = _formatting(unit)
        rest = body[k + 1:]
        tail = opener.rule in ("note_label", "explicit_marker", "sidecar_note_pattern") \
            and k >= 2 and len(rest) <= min(MAX_TAIL_NOTE_PARAGRAPHS, max(3, k // 2)) \
            and not any(notes.looks_like_dialogue(units[j].text) or breaks.symbol_line(units[j].raw[0])
                        or notes.never_note(units[j].text, disabled) for j in rest)
        opened_by[i] = i
        j = k + 1
        while j < n:
            following = units[body[j]]
            if j > k + 1 and notes.heads_a_note(following.text):
                break  # a label of its own (AO3's `End Notes` after a chapter's): a note of its own
            if not tail:
                if following.gap_before > usual_gap or breaks.symbol_line(following.raw[0]) \
                        or notes.never_note(following.text, disabled):
                    break
                compatible = (bare and j == k + 1) or _continues_note(units, body[j], disabled) \
                    or (style != "plain" and _formatting(following) == style)
                if not compatible:
                    break
            if body[j] not in known:
                found[body[j]] = notes.NoteMatch("note_continues", opener.note_kind, opener.confidence,
                                                 f"continues the note opened at line {unit.first}")
            opened_by[body[j]] = i
            j += 1
        k = j
    return found, opened_by


MAX_EDGE_NOTE_PARAGRAPHS = 6


def _segments(body: list[int], units: list[Unit], usual_gap: int) -> list[list[int]]:
    """Runs of a chapter's paragraphs between wider gaps and symbol breaks."""
    segments: list[list[int]] = [[]]
    for position, i in enumerate(body):
        unit = units[i]
        if unit.single_line and breaks.symbol_line(unit.raw[0]):
            segments.append([])
            continue
        if position > 0 and unit.gap_before > usual_gap and segments[-1]:
            segments.append([])
        segments[-1].append(i)
    return [segment for segment in segments if segment]


def _edge_notes(body: list[int], units: list[Unit], usual_gap: int,
                disabled: DetectOptions) -> dict[int, notes.NoteMatch]:
    """Notes at the start and end of a chapter, marked or not (rule `edge_content`): runs of paragraphs
    at the edge whose words are the writer talking to readers, with a formatting legend beside them
    (rule `formatting_legend`). A run set apart from the story by a wider gap is surer. Scanning stops
    at the first paragraph that reads as story."""
    segments = _segments(body, units, usual_gap)
    found: dict[int, notes.NoteMatch] = {}
    for k, segment in enumerate(segments[:3]):  # leading runs
        run = _notelike_prefix(units, segment, disabled)
        whole = len(run) == len(segment) and k + 1 < len(segments)
        found.update(_judge(units, run, separated=whole, disabled=disabled))
        if not whole:
            break
    for k, segment in enumerate(list(reversed(segments))[:3]):  # trailing runs
        run = list(reversed(_notelike_prefix(units, list(reversed(segment)), disabled)))
        if not run or any(i in found for i in run):
            break
        whole = len(run) == len(segment) and k + 1 < len(segments)
        found.update(_judge(units, run, separated=whole, disabled=disabled))
        if not whole:
            break
    return found


def _notelike(units: list[Unit], i: int, disabled: DetectOptions, weak_needed: int = 1) -> bool:
    """Marked, a legend, or the writer's words: one strong cue or `weak_needed` weak ones."""
    text = units[i].text
    if frontmatter.story_closer(text) or frontmatter.dateline(text) or notes.never_note(text, disabled):
        return False
    if notes.match_note(text, disabled) or notes.formatting_legend(text):
        return True
    strong, weak, _ = notes.note_cues(text)
    return strong >= 1 or weak >= weak_needed


def _continues_note(units: list[Unit], i: int, disabled: DetectOptions) -> bool:
    """A paragraph after a note that reads as more of it: two weak cues needed, since a single `story`
    in a paragraph of story is not enough."""
    return _notelike(units, i, disabled, weak_needed=2)


def _notelike_prefix(units: list[Unit], ordered: list[int], disabled: DetectOptions) -> list[int]:
    run: list[int] = []
    for i in ordered[:MAX_EDGE_NOTE_PARAGRAPHS]:
        if not _notelike(units, i, disabled):
            break
        run.append(i)
    return run


def _judge(units: list[Unit], run: list[int], separated: bool,
           disabled: DetectOptions) -> dict[int, notes.NoteMatch]:
    """Name every paragraph of a note-like run at a chapter edge, with the run's confidence."""
    if not run:
        return {}
    marked = {i: notes.match_note(units[i].text, disabled) for i in run}
    legends = {i for i in run if not marked[i] and "formatting_legend" not in disabled
               and notes.formatting_legend(units[i].text)}
    strong = weak = 0
    cues: set[str] = set()
    for i in run:
        if marked[i]:
            strong += 2
        elif i not in legends:
            s, w, found = notes.note_cues(units[i].text)
            strong, weak = strong + s, weak + w
            cues.update(c.lower() for c in found)
    confidence = notes.judge_edge_run(strong, weak, separated)
    if confidence is None:
        return {}
    where = "set apart by a wider gap at the chapter's edge" if separated else "at the chapter's edge"
    kind = next((m.note_kind for m in marked.values() if m), "author_note")
    result: dict[int, notes.NoteMatch] = {}
    for i in run:
        if marked[i]:
            result[i] = marked[i]
        elif i in legends:
            result[i] = notes.NoteMatch("formatting_legend", kind, confidence, f"a formatting legend, {where}")
        else:
            reason = f"the writer talking to readers ({', '.join(sorted(cues)[:4])}), {where}"
            result[i] = notes.NoteMatch("edge_content", kind, confidence, reason)
    return result


def _drop_edge_breaks(blocks: list[Block]) -> None:
    """A gap before the first or after the last story paragraph is not a scene break (notes at the
    edges are usually set off by a wider gap)."""
    story = [k for k, b in enumerate(blocks) if b.kind == "paragraph"]
    if not story:
        return
    first, last = story[0], story[-1]
    keep = [b for k, b in enumerate(blocks)
            if not (b.kind == "scene_break" and b.rule == "blank_gap" and (k < first or k > last))]
    # a symbol break at the very start or end of a chapter is decoration, kept as a break but harmless
    blocks[:] = keep


def _note_chapter(title: str | None, blocks: list[Block]) -> None:
    """A chapter that is all note (rule `note_chapter`): its text after the heading becomes one note."""
    opening = " ".join(b.text for b in blocks[1:4] if b.kind == "note")
    found = notes.note_chapter(title, opening)
    if found is None or not any(b.kind == "paragraph" for b in blocks):
        return
    body = [b for b in blocks[1:] if b.kind in ("paragraph", "note")]
    note = Block("note", body[0].lines, body[0].text, body[0].file, found.rule, found.confidence, found.reason,
                 found.note_kind)
    for block in body[1:]:
        _join_note(note, block)
    blocks[1:] = [note]


def _chapter(heading: _Heading | None, body: list[int], units: list[Unit], usual_gap: int, name: str | None,
             disabled: DetectOptions, part: str | None, layout: _Layout) -> Chapter:
    blocks = []
    if heading is not None:
        blocks.append(_heading_block(heading, units, name))
    blocks.extend(_body_blocks(body, units, usual_gap, name, disabled, layout))
    if heading is not None and "note_chapter" not in disabled:
        _note_chapter(heading.match.title, blocks)
    match = heading.match if heading else None
    title = match.title if match else None
    if heading is not None and heading.title_unit is not None:
        title = units[heading.title_unit].text.strip().strip("*_").strip()
    first_line = blocks[0].lines[0] if blocks else units[body[0]].first
    last_line = blocks[-1].lines[1] if blocks else first_line
    return Chapter(title=title, number=match.number if match else None, lines=(first_line, last_line),
                   blocks=blocks, label=match.label if match else None, part=part, file=name,
                   rule=(match.rule if match else "whole_text"))
