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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HYPHEN = "\u2010"  # the hyphenation character WeasyPrint sets at an automatic break
ANY_HYPHEN = ("-", HYPHEN)  # a word's own hyphen (`well-known`), or the hyphenator's
MAX_ROUNDS = 3
UNBROKEN = "unbroken"  # the class styles/print.css keeps whole
LONGEST_LADDER = 2


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


def second_pass(html, document, render):
    """Lay `html` out again (with `render`, which takes the HTML object) until no break breaks the
    rules, at most MAX_ROUNDS more times; the final document, and how many rounds it took."""
    import cssselect2

    rounds = 0
    while rounds < MAX_ROUNDS:
        changed = [brk for brk in breaks_to_take_back(document) if keep_whole(brk)]
        if not changed:
            break
        html.wrapper_element = cssselect2.ElementWrapper.from_html_root(html.etree_element, content_language=None)
        document = render(html)
        rounds += 1
    return document, rounds
