"""A measured second pass over a laid-out document: the hyphenation rules CSS cannot say.

WeasyPrint has no `hyphenate-limit-lines` and no notion of a page's last line, so after a document
is laid out its lines are read back, and two kinds of automatic break are taken back:

- `ladder`: the third (and any later) line in a row ending in a hyphen;
- `page_foot`: a page's last line ending in an automatic hyphen (a reader turning a right-hand page
  would carry half a word over; a chunk does not know its pages' sides, so every page's foot is kept
  whole).

The word broken there is wrapped in `<span class="unbroken">` (styles/print.css: `hyphens: manual`)
in the document's own element tree, and the document is laid out again; a few rounds at most, since
a line set again can move the breaks after it.

The same pass evens the pages (rule `short_page`): a page inside a chapter that ends a line or more
above the foot of the text (held short so as not to leave a widow or an orphan, or to keep a scene
break with its text) gets those lines back from the paragraphs set on it. Each is set a little looser
(a `looser-N` class, styles/print.css: a touch more word space), the way a compositor gains a line, so
that it runs one line longer. The page then ends where it ended, a line lower: the next page starts
with the same words and nothing after it moves. With every page but a chapter's last one full, facing
pages end on the same baseline whatever side a chunk starts on. A page no paragraph can fill (short
lines of dialogue, the next paragraph too short to split) gets the space it lacks between its
paragraphs instead (rule `feather`), and still ends at the foot of the text.

And it sets each chapter's text on the grid of the full pages (rule `opening_grid`): a chapter
heading is as tall as its title makes it, so the text after it starts between two lines of the grid,
and the opening page ends a fraction of a line off the page facing it. The space below the heading
is changed by that fraction (`--grid-shift`, styles/print.css), up or down, whichever keeps the page's
lines as they were: nothing after the page moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HYPHEN = "\u2010"  # the hyphenation character WeasyPrint sets at an automatic break
ANY_HYPHEN = ("-", HYPHEN)  # a word's own hyphen (`well-known`), or the hyphenator's
MAX_ROUNDS = 8
UNBROKEN = "unbroken"  # the class styles/print.css keeps whole
LONGEST_LADDER = 2
# The classes styles/print.css sets looser, `looser-1` to `looser-N`: each adds LOOSER_WORD em between
# words and LOOSER_LETTER em between letters to the one before.
LOOSER = "looser-"
LOOSER_STEPS = 6
LOOSER_WORD = 0.02
LOOSER_LETTER = 0.0025
MIN_LINES = 5  # the fewest lines a chapter's last page should hold
HEADING = "chapter-heading"  # the class of a chapter's heading (templates/macros.j2)
GRID_SHIFT = "--grid-shift"  # added to the space below a chapter heading (styles/print.css)
SINK = "--sink"  # added to the space above a chapter heading's title (styles/print.css)
FEATHER = "--feather"  # added below a paragraph (styles/print.css)
# each variable, and the property of the element's box it adds to
SHIFTED = {GRID_SHIFT: "margin_bottom", SINK: "padding_top", FEATHER: "padding_bottom"}
ON_GRID = 0.5  # CSS px: a line this close to the grid is on it
SLACK = 0.25  # CSS px a feathered page keeps free, so that the same lines still fit
MOST_FEATHER = 0.5  # lines: the most space feathering adds to one gap between paragraphs


@dataclass
class Break:
    """An automatic break to take back: the paragraph, the broken word, and which occurrence of that
    word in the paragraph's text it is (0 for the first)."""

    element: object
    word: str
    occurrence: int
    rule: str


def _line_boxes(box):
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _line_boxes(child)


def _text(box) -> str:
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        return box.text
    return "".join(_text(child) for child in getattr(box, "children", ()))


@dataclass
class Loosen:
    """A paragraph to set looser by `steps` of word space, so that it runs one line longer."""

    element: object
    steps: int
    pages: range  # the pages its lines are on
    font: float  # its type's size, CSS px


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _section(element, parents: dict) -> object:
    """The chapter (or other page-opening section) an element belongs to."""
    while element is not None and _local(element.tag) not in ("section", "nav", "body"):
        element = parents.get(element)
    return element


def _feathered(index: int, lacking: float, lines, last_page, pitch: float) -> list[Shift]:
    """Rule `feather`: a page still `lacking` CSS px to its foot once no paragraph on it can run on
    (short lines of dialogue, the next paragraph too short to split) gets them as space between its
    paragraphs, shared equally, the way a compositor feathers a page: its last line then stands at
    the foot of the text like the page facing it, and it ends where it ended, so nothing after it
    moves. (An opening page whose one paragraph runs on gets up to a line below its heading.) No gap
    gets more than MOST_FEATHER of a line: a page that would need more stays short, since gaps that
    wide show as holes."""
    if lacking < ON_GRID:
        return []
    ends = [element for element in dict.fromkeys(e for e, *_ in lines)
            if element is not lines[-1][0] and last_page[id(element)] == index and _local(element.tag) == "p"]
    if not ends or lacking / len(ends) > MOST_FEATHER * pitch:
        return []
    px = lacking / len(ends)
    return [Shift(element, px, _shifted_now(element, FEATHER) + px, index, FEATHER) for element in ends]


def _looser_now(element) -> int:
    for name in (element.get("class") or "").split():
        if name.startswith(LOOSER):
            return int(name[len(LOOSER):])
    return 0


def short_pages(document, root) -> tuple[list[Loosen], list[Shift], int]:
    """Paragraphs to set looser (rules `short_page` and `last_page_lines`), spaces to widen (a chapter
    heading set deeper, a page feathered: rule `feather`), and how many lines the pages lack:

    - for a page inside a chapter held `k` lines short, the `k` paragraphs on it that need the least
      added word space to run a line longer (those that end on it best; the one that runs on to the
      next page runs on by as many lines, so the next page still starts with the same words);
    - for a chapter's last page of fewer than MIN_LINES lines, as many paragraphs of the chapter as
      that page lacks lines: each line gained carries a line over to it. A chapter too short to gain
      them so (a page or two of dialogue) gets the rest by setting its heading whole lines lower (a
      deeper sink), so the opening page stays on the grid and passes them on."""
    from weasyprint.formatting_structure import boxes

    parents = {child: parent for parent in root.iter() for child in parent}
    pages = []  # per page: [(element, top, height, width, text, type size)]
    for page in document.pages:
        pages.append([(line.element, line.position_y, line.height, line.width, _text(line), line.style["font_size"])
                      for line in _line_boxes(page._page_box)])
    if not any(pages):
        return [], [], 0
    heights = sorted(line[2] for lines in pages for line in lines)
    pitch = heights[len(heights) // 2]  # the body's line
    first_page: dict[int, int] = {}
    last_page: dict[int, int] = {}
    for index, lines in enumerate(pages):
        for element, *_ in lines:
            first_page.setdefault(id(element), index)
            last_page[id(element)] = index

    def section(index: int, end: int):
        return _section(pages[index][end][0], parents) if pages[index] else None

    def option(element, measure: float, before: int):
        """(steps added, a Loosen) for a paragraph ending by page `before`, or None."""
        if (element is None or _local(element.tag) != "p" or last_page[id(element)] > before
                or {"lines", "opening", "scene-break"} & set((element.get("class") or "").split())):
            return None
        own = [line for k in range(first_page[id(element)], last_page[id(element)] + 1)
               for line in pages[k] if line[0] is element]
        text = " ".join(line[4] for line in own)
        font = own[0][5]
        step = font * (LOOSER_WORD * text.count(" ") + LOOSER_LETTER * len(text))  # px a step adds
        wanted = measure - own[-1][3] + font / 2  # the last line filled, and a bit of a word over
        now = _looser_now(element)
        steps = now + max(1, -int(-wanted // step))
        if steps > LOOSER_STEPS:
            return None
        return steps - now, Loosen(element, steps, range(first_page[id(element)], last_page[id(element)] + 1), font)

    def heading(index: int):
        """The heading box of the chapter that opens on page `index`, or None."""
        return next((box for box in document.pages[index]._page_box.descendants()
                     if isinstance(box, boxes.BlockBox) and HEADING in _classes(box.element)
                     and _section(box.element, parents) is section(index, -1)), None)

    found: dict[int, Loosen] = {}
    sinks: list[Shift] = []  # deeper headings and feathered pages
    wanting = 0
    for index, (page, lines) in enumerate(zip(document.pages, pages)):
        if not lines:
            continue
        measure = max(line[3] for line in lines)
        chapter_goes_on = index + 1 < len(pages) and section(index, -1) is not None \
            and section(index, -1) is section(index + 1, 0)
        if chapter_goes_on:
            box = page._page_box
            _, top, height, *_ = lines[-1]
            short = int((box.content_box_y() + box.height - (top + height)) / pitch + 0.05)
            options = []
            for element in dict.fromkeys(e for e, *_ in lines):
                made = option(element, measure, index + 1)
                if made:
                    whole = first_page[id(element)] == last_page[id(element)] == index
                    options.append((made[0], not whole, made[1]))
            options.sort(key=lambda o: o[:2])
            chosen = [o[2] for o in options[:max(0, short)]]
            wanting += max(0, short)
            # the foot of the text: where a full page's last line ends; SLACK short of it, so that
            # the same lines still fit
            foot = box.content_box_y() + int(box.height / pitch + 0.001) * pitch
            lacking = foot - (top + height) - len(chosen) * pitch - SLACK if short > len(chosen) else 0
            feathers = _feathered(index, lacking, lines, last_page, pitch)
            opening = heading(index) if ON_GRID <= lacking <= pitch + ON_GRID and not feathers else None
            if opening is not None:  # an opening page of one paragraph: up to a line more below its heading
                feathers = [Shift(opening.element, lacking, _shifted_now(opening.element) + lacking, index)]
            sinks += feathers
        elif 0 < index and len(lines) < MIN_LINES and section(index, 0) is section(index - 1, -1):
            start = index - 1  # the chapter's first page
            while start > 0 and section(start, 0) is section(start - 1, -1):
                start -= 1
            options = []
            for element in dict.fromkeys(e for k in range(start, index + 1) for e, *_ in pages[k]):
                made = option(element, measure, index)
                if made:
                    options.append((made[0], -last_page[id(element)], made[1]))
            options.sort(key=lambda o: o[:2])
            chosen = [o[2] for o in options[:MIN_LINES - len(lines)]]
            wanting += MIN_LINES - len(lines)
            missing = MIN_LINES - len(lines) - len(chosen)
            opening = heading(start) if missing > 0 else None
            if opening is not None and _shifted_now(opening.element, SINK) + missing * pitch < MIN_LINES * pitch:
                sinks.append(Shift(opening.element, missing * pitch,
                                   _shifted_now(opening.element, SINK) + missing * pitch, start, SINK))
        else:
            continue
        for change in chosen:
            if id(change.element) not in found or found[id(change.element)].steps < change.steps:
                found[id(change.element)] = change
    return list(found.values()), sinks, wanting


@dataclass
class Shift:
    """A chapter heading on page `page` whose space below (GRID_SHIFT) or above its title (SINK)
    changes by `px` CSS px (to `total` in all)."""

    element: object
    px: float
    total: float
    page: int
    variable: str = GRID_SHIFT


def _classes(element) -> set[str]:
    return set((element.get("class") or "").split()) if element is not None else set()


def _shifts_now(element) -> dict[str, float]:
    """The heading's shifts so far (its style attribute, written by `shift`)."""
    found = {}
    for part in (element.get("style") or "").split(";"):
        name, _, value = part.partition(":")
        if name.strip() in SHIFTED and value.strip().endswith("px"):
            found[name.strip()] = float(value.strip()[:-2])
    return found


def _shifted_now(element, variable: str = GRID_SHIFT) -> float:
    return _shifts_now(element).get(variable, 0.0)


def openings_off_grid(document) -> list[Shift]:
    """Rule `opening_grid`: the chapter headings whose text below ends off the grid (the baselines
    of a full page: its first line's at the top of the text area, then one every line), and by how
    much to move it: up by the fraction over a line, or down by the rest of a line, whichever leaves
    the page holding as many lines (so that it ends where it ended, on the grid, and nothing after it
    moves), up when both do. Up only as far as the space below the heading goes."""
    from weasyprint.formatting_structure import boxes

    body = [line for page in document.pages for line in _line_boxes(page._page_box)]
    if not body:
        return []
    pitch = sorted(line.height for line in body)[len(body) // 2]
    baseline = sorted(line.baseline for line in body if abs(line.height - pitch) < ON_GRID)[0:1] or [0]
    found = []
    for index, page in enumerate(document.pages):
        box = page._page_box
        lines = list(_line_boxes(box))
        top, foot = box.content_box_y(), box.content_box_y() + box.height
        for heading in (b for b in box.descendants()
                        if isinstance(b, boxes.BlockBox) and HEADING in _classes(b.element)):
            inside = {id(line) for line in _line_boxes(heading)}
            after = [line for line in lines if id(line) not in inside and line.position_y >= heading.position_y]
            if not inside or not after:
                continue
            last = after[-1]
            over = (last.position_y + last.baseline - top - baseline[0]) % pitch
            if over < ON_GRID or pitch - over < ON_GRID:
                continue
            room = foot - (last.position_y + last.height)  # below the page's last line
            options = []
            if heading.margin_bottom >= over and room + over < pitch:
                options.append(-over)  # up, and no line of the next page comes up with it
            if room >= pitch - over:
                options.append(pitch - over)  # down, and the last line stays on the page
            if options:
                found.append(Shift(heading.element, options[0], _shifted_now(heading.element) + options[0], index))
    return found


def shift(change: Shift) -> None:
    shifts = _shifts_now(change.element) | {change.variable: change.total}
    change.element.set("style", "; ".join(f"{name}: {px:.3f}px" for name, px in sorted(shifts.items())))


def loosen(change: Loosen) -> None:
    names = [n for n in (change.element.get("class") or "").split() if not n.startswith(LOOSER)]
    change.element.set("class", " ".join([*names, f"{LOOSER}{change.steps}"]))


def _word_pattern(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")


def breaks_to_take_back(document) -> list[Break]:
    """The automatic breaks of a laid-out document that break the two rules above."""
    lines = []  # (page, paragraph element, text) in reading order
    for index, page in enumerate(document.pages):
        for line in _line_boxes(page._page_box):
            lines.append((index, line.element, _text(line).rstrip()))
    # Each paragraph's text as the lines give it, with the place of every line's end in it.
    texts: dict[int, str] = {}
    ends: list[int] = []
    for _, element, text in lines:
        before = texts.get(id(element))
        if before is None:
            texts[id(element)] = text
        elif before.endswith(HYPHEN):  # the word goes on: the hyphen is no letter of it
            texts[id(element)] = before[:-1] + text
        else:
            texts[id(element)] = f"{before} {text}"
        ends.append(len(texts[id(element)]))
    found: list[Break] = []
    run: list[int] = []  # the lines of the current run ending in a hyphen
    for number, (page, element, text) in enumerate(lines):
        if not text.endswith(ANY_HYPHEN):
            run = []
            continue
        run.append(number)
        last = number + 1 == len(lines) or lines[number + 1][0] != page
        if len(run) > LONGEST_LADDER:
            # the latest automatic break of the run (a word's own hyphen cannot be taken back)
            automatic = [n for n in run if lines[n][2].endswith(HYPHEN)]
            if automatic:
                found.append(_break(lines, texts, ends, automatic[-1], "ladder"))
                run = run[run.index(automatic[-1]) + 1:]  # that line now ends whole
                continue
        if last and text.endswith(HYPHEN):
            found.append(_break(lines, texts, ends, number, "page_foot"))
            run = []
    return [brk for brk in found if brk.word]


def _break(lines, texts: dict[int, str], ends: list[int], number: int, rule: str) -> Break:
    """The word broken at the end of line `number`."""
    element = lines[number][1]
    whole = texts[id(element)]
    end = ends[number] - 1  # the break, in the paragraph's joined text
    start = end
    while start > 0 and whole[start - 1].isalpha():
        start -= 1
    stop = end
    while stop < len(whole) and whole[stop].isalpha():
        stop += 1
    word = whole[start:stop]
    return Break(element, word, len(_word_pattern(word).findall(whole[:start])) if word else 0, rule)


def _segments(element):
    """The paragraph's text nodes in reading order: (node, "text" or "tail", parent)."""
    yield element, "text", None
    for child in element:
        yield from _child_segments(child, element)


def _child_segments(node, parent):
    if isinstance(node.tag, str):  # not a comment
        yield node, "text", parent
        for child in node:
            yield from _child_segments(child, node)
    yield node, "tail", parent


def keep_whole(brk: Break) -> bool:
    """Wrap the broken word in the element tree in a span that keeps it whole; False when the word
    cannot be found as the lines gave it (split by markup, say)."""
    from xml.etree import ElementTree

    pattern = _word_pattern(brk.word)
    seen = 0
    for node, slot, parent in list(_segments(brk.element)):
        value = getattr(node, slot) or ""
        for match in pattern.finditer(value):
            if seen < brk.occurrence:
                seen += 1
                continue
            namespace = brk.element.tag[:brk.element.tag.index("}") + 1] if brk.element.tag.startswith("{") else ""
            span = ElementTree.Element(f"{namespace}span", {"class": UNBROKEN})
            span.text = brk.word
            span.tail = value[match.end():]
            setattr(node, slot, value[:match.start()])
            if slot == "text":
                node.insert(0, span)
            else:
                parent.insert(list(parent).index(node) + 1, span)
            return True
    return False


def second_pass(html, layout, render):
    """Lay `html` out again until no break breaks the rules and no page inside a chapter is held
    short, at most MAX_ROUNDS more times. A round lays out again only the pages the changed
    paragraphs are on and the pages after them that move (packager/render/relayout.py), or, where
    that cannot be done, the whole document (with `render`, which takes the HTML object and returns
    a relayout.Layout). A word kept whole or a line gained can move the breaks after it, so the
    rounds need not settle: the layout returned is the best seen, fewest broken words first, then
    fewest lines missing from pages held short. That layout, and how many rounds were laid out."""
    import cssselect2

    from packager.render import relayout

    rounds = 0
    best = None
    while True:
        document = layout.document
        breaks = breaks_to_take_back(document)
        looser, sinks, wanting = short_pages(document, html.etree_element)
        grid = openings_off_grid(document)
        moved = {change.page for change in grid}  # feathered once on the grid: the room is measured again
        shifts = _together(grid + [change for change in sinks if change.variable == SINK or change.page not in moved])
        if best is None or (len(breaks), wanting, len(shifts)) < best[0]:
            best = ((len(breaks), wanting, len(shifts)), layout)
        if not (breaks or looser or shifts) or rounds == MAX_ROUNDS:
            break
        breaks = [brk for brk in breaks if keep_whole(brk)]  # in the element tree, which a whole
        for change in looser:                                 # layout reads
            loosen(change)
        for change in shifts:
            shift(change)
        rounds += 1
        # the same changes in the laid-out box tree, and the pages they are on
        pages = _pages_of(document, {id(brk.element) for brk in breaks})
        quick = all([relayout.keep_whole(layout, brk.element, _word_pattern(brk.word), brk.occurrence)
                     for brk in breaks])
        owns: dict[object, dict[str, float]] = {}
        for change in shifts:
            owns.setdefault(change.element, {})[SHIFTED[change.variable]] = change.px
        quick = quick and relayout.add_to_own(layout, owns)
        relayout.set_styles(layout, {change.element: _looser_values(change) for change in looser})
        pages |= {page for change in looser for page in change.pages} | {change.page for change in shifts}
        again = relayout.relayout(layout, html, pages) if quick else None
        if again is None:
            html.wrapper_element = cssselect2.ElementWrapper.from_html_root(html.etree_element, content_language=None)
            again = render(html)
        layout = again
    return best[1], rounds


def _together(shifts: list[Shift]) -> list[Shift]:
    """One shift a heading: a move onto the grid and a deeper space below it, added."""
    joined: dict[tuple[int, str], Shift] = {}
    for change in shifts:
        key = (id(change.element), change.variable)
        if key in joined:
            before = joined[key]
            change = Shift(change.element, before.px + change.px, before.total + change.px, change.page, change.variable)
        joined[key] = change
    return list(joined.values())


def _pages_of(document, elements: set[int]) -> set[int]:
    """The indices of the pages with a line of one of these elements."""
    return {index for index, page in enumerate(document.pages)
            for line in _line_boxes(page._page_box) if id(line.element) in elements}


def _looser_values(change: Loosen) -> dict[str, float]:
    """The computed word and letter spacing (CSS px) class `looser-N` gives the paragraph."""
    font = change.font
    return {"word_spacing": round(change.steps * LOOSER_WORD, 4) * font,
            "letter_spacing": round(change.steps * LOOSER_LETTER, 4) * font}
