"""The structure pass: units of text to a Book of front matter, parts, chapters and blocks.

The named rules in `headings`, `notes`, `breaks` and `frontmatter` each judge one line or paragraph;
this module decides from their positions what they are: which headings are real (a contents list
repeats them with nothing between), which open parts, where the story title stands, which notes sit at
chapter edges, which blank gaps are scene breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packager.detect import breaks, frontmatter, notes
from packager.detect.headings import HeadingMatch, bare_numeral, looks_like_title_line, match_heading
from packager.detect.options import DetectOptions
from packager.detect.paragraphs import Unit, build_units
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

    @property
    def start(self) -> int:
        return self.index_unit if self.index_unit is not None else self.index
    has_body: bool = False
    role: str = "chapter"  # chapter | part | contents | front


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
    for position, source in enumerate(files):
        reading = _read_file(source, options, chapter_file=folder, first_file=position == 0)
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
    return Book(metadata=metadata, chapters=chapters, front_matter=front, back_matter=back)


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
    units = build_units(body_lines, offset, markdown=source.markdown)
    if not units:
        return reading
    disabled = options
    heading_of = {i: h for i, u in enumerate(units) if u.single_line
                  and not breaks.symbol_line(u.raw[0]) and (h := match_heading(u.text, disabled))}
    start_index = 0
    if not gutenberg and first_file:
        start_index = _read_opening(units, heading_of, reading, name, chapter_file)
    headings = _resolve_headings(units, heading_of, start_index, disabled)
    usual_gap = breaks.typical_gap([u.gap_before for u in units[start_index + 1:]])

    first_heading = next((h.start for h in headings if h.role in ("chapter", "part", "front")), None)
    front_end = first_heading if first_heading is not None else start_index
    contents = {h.index for h in headings if h.role == "contents"}
    front = [i for i in range(start_index, front_end if first_heading is not None else start_index)]
    front_notes = {} if gutenberg or "edge_content" in options.disabled_rules else _judge(
        units, _notelike_prefix(units, [i for i in front if i not in contents], disabled), True, disabled)
    for i in front:
        reading.front.append(_front_block(units[i], i in contents, bool(gutenberg), name, disabled,
                                          front_notes.get(i)))

    story_headings = [h for h in headings if h.role in ("chapter", "part", "front")]
    if not story_headings:
        body = list(range(start_index, len(units)))
        if body:
            reading.chapters.append(_chapter(None, body, units, usual_gap, name, disabled, None, contents))
        return reading
    part: str | None = None
    for k, heading in enumerate(story_headings):
        stop = story_headings[k + 1].start if k + 1 < len(story_headings) else len(units)
        body_start = (heading.title_unit if heading.title_unit is not None else heading.index) + 1
        body = list(range(body_start, stop))
        if heading.role == "part":
            part = units[heading.index].text.strip().strip("#").strip()
            if any(units[i].text.strip() for i in body if not breaks.symbol_line(units[i].raw[0])):
                # a part that opens with text of its own: that text is an untitled opening chapter
                reading.chapters.append(_chapter(None, body, units, usual_gap, name, disabled, part, contents))
            continue
        if heading.role == "front":
            reading.front.append(_heading_block(heading, units, name))
            reading.front.extend(_body_blocks(body, units, usual_gap, name, disabled, contents))
            continue
        reading.chapters.append(_chapter(heading, body, units, usual_gap, name, disabled, part, contents))
    return reading


def _read_opening(units: list[Unit], heading_of: dict[int, HeadingMatch], reading: _FileReading,
                  name: str | None, chapter_file: bool) -> int:
    """Title line, `by Author`, downloader `Key: value` fields at the top of a file. Returns the index of
    the first unit that is not opening metadata."""
    i = 0
    first = units[0]
    has_headings = any(h.rule != "bare_numeral" for h in heading_of.values())
    markdown_title = (0 in heading_of and heading_of[0].rule == "markdown_heading"
                      and heading_of[0].family == "markdown:1" and heading_of[0].number is None
                      and heading_of[0].label is None
                      and not any(h.family == "markdown:1" for j, h in heading_of.items() if j > 0))
    if markdown_title and not chapter_file:
        reading.meta["title"] = heading_of.pop(0).title or first.text
        reading.front.append(Block("metadata", (first.first, first.last), first.text, name, "markdown_title",
                                   reason="a single top-level Markdown heading names the story"))
        i = 1
    elif first.single_line and 0 not in heading_of and not chapter_file and frontmatter.title_line(first.text) \
            and not notes.match_note(first.text):
        following = units[1] if len(units) > 1 else None
        confirms = following is not None and (
            1 in heading_of or frontmatter.by_line(following.text) is not None
            or frontmatter.downloader_field(following.text) is not None
            or (has_headings and (notes.match_note(following.text) is not None
                                  or notes.note_cues(following.text)[0] > 0))
            or (not has_headings and len(units) >= 4 and following.gap_before >= 1))
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
    return i


def _resolve_headings(units: list[Unit], heading_of: dict[int, HeadingMatch], start: int,
                      disabled: DetectOptions) -> list[_Heading]:
    """Decide which heading candidates are chapters, parts, front-matter sections or contents entries."""
    candidates = {i: h for i, h in heading_of.items() if i >= start}
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
                    and after is not None and after.gap_before >= 1 and unit.gap_before >= 1 \
                    and (nxt + 1) not in candidates and "title_on_next_line" not in disabled:
                heading.title_unit = nxt  # only when story follows: a lone short line is the chapter's text
    for heading in headings:
        previous = heading.index - 1
        if previous >= start and heading.match.rule != "bare_numeral" and "duplicate_heading" not in disabled \
                and (previous not in candidates or candidates[previous].rule == "bare_numeral") \
                and _same_heading(units[previous], heading.match, disabled):
            heading.index_unit = previous
    absorbed = {h.index_unit for h in headings if h.index_unit is not None}
    headings = [h for h in headings if h.index not in absorbed]
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


def _same_heading(unit: Unit, heading: HeadingMatch, options: DetectOptions) -> bool:
    """Rule `duplicate_heading`: the heading given twice, an index line (`1. The Beginning`) right
    before `Chapter 1: The Beginning`; both lines make one heading."""
    if not unit.single_line:
        return False
    index = bare_numeral(unit.text.strip())
    if index is not None and index.number == heading.number and (index.title is None or heading.title is None
                                                                  or _squash(index.title) == _squash(heading.title)):
        return True
    return heading.title is not None and _squash(unit.text) == _squash(heading.title)


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text).lower()


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
    last = units[heading.title_unit] if heading.title_unit is not None else units[heading.index]
    text = "\n".join(units[i].text for i in (heading.index_unit, heading.index, heading.title_unit) if i is not None)
    rule = heading.match.rule + ("+title_on_next_line" if heading.title_unit is not None else "") \
        + ("+duplicate_heading" if heading.index_unit is not None else "")
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
    block = Block("paragraph", (unit.first, unit.last), unit.text, name, quote=_is_quote(unit))
    if note:
        block.rule, block.confidence, block.reason = "possible_note", note.confidence, note.reason
    return block


def _is_quote(unit: Unit) -> bool:
    return all(line.lstrip().startswith(">") for line in unit.raw if line.strip())


def _paragraph_text(unit: Unit) -> str:
    if _is_quote(unit):
        return " ".join(line.lstrip()[1:].strip() for line in unit.raw if line.strip()).strip()
    return unit.text


def _body_blocks(body: list[int], units: list[Unit], usual_gap: int, name: str | None,
                 disabled: DetectOptions, contents: set[int]) -> list[Block]:
    """Paragraphs, notes and breaks of one chapter body, with notes found at its edges."""
    edge = {} if "edge_content" in disabled else _edge_notes(body, units, usual_gap, disabled)
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
            blocks.append(Block("note", (unit.first, unit.last), unit.text, name, note.rule, note.confidence,
                                note.reason, note.note_kind))
            continue
        block = Block("paragraph", (unit.first, unit.last), _paragraph_text(unit), name, quote=_is_quote(unit))
        if note:  # unsure: kept as story, and `inspect` says why it might be a note
            block.rule, block.confidence, block.reason = "possible_note", note.confidence, note.reason
        blocks.append(block)
    _drop_edge_breaks(blocks)
    return blocks


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


def _notelike(units: list[Unit], i: int, disabled: DetectOptions) -> bool:
    text = units[i].text
    if frontmatter.story_closer(text) or frontmatter.dateline(text) or notes.never_note(text, disabled):
        return False
    if notes.match_note(text, disabled) or notes.formatting_legend(text):
        return True
    strong, weak, _ = notes.note_cues(text)
    return strong + weak > 0


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


def _chapter(heading: _Heading | None, body: list[int], units: list[Unit], usual_gap: int, name: str | None,
             disabled: DetectOptions, part: str | None, contents: set[int]) -> Chapter:
    blocks = []
    if heading is not None:
        blocks.append(_heading_block(heading, units, name))
    blocks.extend(_body_blocks(body, units, usual_gap, name, disabled, contents))
    match = heading.match if heading else None
    title = match.title if match else None
    if heading is not None and heading.title_unit is not None:
        title = units[heading.title_unit].text.strip().strip("*_").strip()
    first_line = blocks[0].lines[0] if blocks else units[body[0]].first
    last_line = blocks[-1].lines[1] if blocks else first_line
    return Chapter(title=title, number=match.number if match else None, lines=(first_line, last_line),
                   blocks=blocks, label=match.label if match else None, part=part, file=name,
                   rule=(match.rule if match else "whole_text"))
