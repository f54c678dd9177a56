"""Lay out again only the pages a change touches, with WeasyPrint's own repagination.

WeasyPrint keeps, for every page it makes, where the page starts in the box tree
(`context.page_maker`), and remakes a page only when it is marked changed or when the page before it
ended somewhere else (that is how it settles page-based counters). A second pass that sets a
paragraph a line longer on a page held short leaves that page ending where it ended
(packager/render/linebreaks.py, rule short_page), so laying out the marked pages again gives the
whole document: the pages after them are taken as they were.

This reaches into WeasyPrint's layout (`weasyprint.layout.make_all_pages`, `initialize_page_maker`,
`make_margin_boxes`, `layout_backgrounds`, the page maker's states), written against WeasyPrint 70.
`render` keeps what `relayout` needs; `relayout` returns None when the document was not rendered
that way or WeasyPrint's layout has changed shape, and the caller lays the whole document out again,
as it would without this module (tests/test_line_breaks.py checks that both give the same lines).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class Layout:
    """A laid-out document and what laying parts of it out again takes."""

    document: object
    context: object = None
    root: object = None
    raw: list = field(default_factory=list)  # the page boxes before their margin boxes were added
    children: list = field(default_factory=list)  # each raw page's children then
    margin_boxes: bool = True  # False: pages laid out without their margin boxes

    @property
    def ready(self) -> bool:
        return self.context is not None and bool(self.raw)


@contextmanager
def _replaced(module, name: str, value) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def _recording(layout: Layout, make_all_pages, previous: list | None = None):
    def make(context, root_box, html, pages):
        made = list(make_all_pages(context, root_box, html, pages or previous or []))
        layout.context, layout.root = context, root_box
        layout.raw, layout.children = made, [page.children for page in made]
        return made
    return make


def render(html, stylesheets, margin_boxes: bool = True) -> Layout:
    """`html.render(stylesheets=…)`, keeping the layout's state for `relayout`. `margin_boxes=False`
    lays the pages out without their margin boxes (a chunk of the body, whose running heads and
    numbers are set over the merged book), which saves WeasyPrint styling sixteen of them a page."""
    layout = Layout(None, margin_boxes=margin_boxes)
    try:
        from weasyprint import layout as weasy_layout
        make_all_pages, make_margin_boxes = weasy_layout.make_all_pages, weasy_layout.make_margin_boxes
    except (ImportError, AttributeError):  # a WeasyPrint laid out otherwise: render plainly
        layout.document = html.render(stylesheets=stylesheets)
        return layout
    with _replaced(weasy_layout, "make_all_pages", _recording(layout, make_all_pages)), \
            _replaced(weasy_layout, "make_margin_boxes", make_margin_boxes if margin_boxes else _none):
        layout.document = html.render(stylesheets=stylesheets)
    return layout


def _none(*_) -> list:
    return []


def relayout(layout: Layout, html, changed_pages: set[int]) -> Layout | None:
    """The document laid out again from the pages in `changed_pages` (indices), after the styles of
    boxes on them were changed in place; None when that cannot be done here."""
    if not layout.ready:
        return None
    try:
        from weasyprint import layout as weasy_layout
        from weasyprint.document import Page

        from weasyprint.formatting_structure.boxes import MarginBox

        context = layout.context
        # the pages as they were before their margin boxes were added; copies, so that the document
        # laid out before stays whole. A page taken as it was keeps its margin boxes and background.
        previous, kept = [], {}
        for page, children, final in zip(layout.raw, layout.children, layout.document.pages):
            previous.append(page.copy())
            previous[-1].children = children
            kept[id(previous[-1])] = [box for box in final._page_box.children if isinstance(box, MarginBox)]
        for index in changed_pages:
            context.page_maker[index][-1]["content_changed"] = True
        make_margin_boxes, layout_backgrounds = weasy_layout.make_margin_boxes, weasy_layout.layout_backgrounds

        def margin_boxes(context, page, state):
            made = kept.get(id(page))
            if made is not None:
                return made
            return make_margin_boxes(context, page, state) if layout.margin_boxes else []

        def backgrounds(page, get_image_from_uri):
            if id(page) not in kept:
                layout_backgrounds(page, get_image_from_uri)

        again = Layout(None, margin_boxes=layout.margin_boxes)
        with _replaced(weasy_layout, "initialize_page_maker", lambda *_: None), \
                _replaced(weasy_layout, "make_all_pages",
                          _recording(again, weasy_layout.make_all_pages, previous)), \
                _replaced(weasy_layout, "make_margin_boxes", margin_boxes), \
                _replaced(weasy_layout, "layout_backgrounds", backgrounds):
            boxes = list(weasy_layout.layout_document(html, layout.root, context))
        again.document = layout.document.copy([Page(box) for box in boxes])
        if _targets_moved(context, layout.document, again.document):
            return None
        return again
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        return None


def _anchor_pages(document) -> dict[str, int]:
    pages: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            pages.setdefault(name, index)
    return pages


def _targets_moved(context, before, after) -> bool:
    """Whether the document shows page numbers of its own anchors (`target-counter()`: the whole
    book's contents, print-whole.css) and an anchor has moved to another page. WeasyPrint lays the
    page that shows the number out again only when it can tell which anchor the number is of, and
    it cannot when the anchor comes from `attr()`, so such a document is laid out whole instead."""
    if not any(item.missing_target_counters for item in context.target_collector.counter_lookup_items.values()):
        return False
    return _anchor_pages(before) != _anchor_pages(after)


def set_styles(layout: Layout, values: dict[object, dict[str, float]]) -> None:
    """Give the boxes of each element (and what they pass on to their descendants) these computed
    values, in CSS px, in the box tree `relayout` lays out again. WeasyPrint shares one computed
    style among elements styled alike, so a changed box gets a changed copy of its style."""
    import copy

    for box, changes in _first_boxes(layout, values):
        before = {name: box.style[name] for name in changes}
        copies: dict[int, object] = {}
        for inner in box.descendants():
            wanted = {name: value for name, value in changes.items() if inner.style[name] == before[name]}
            if not wanted:  # set on the inner box itself, not passed on
                continue
            if id(inner.style) not in copies:
                style = copy.copy(inner.style)
                style.update(wanted)
                copies[id(inner.style)] = style
            inner.style = copies[id(inner.style)]


def add_to_own(layout: Layout, values: dict[object, dict[str, float]]) -> bool:
    """Add these CSS px to a length of each element's own box (a property its descendants do not
    inherit, such as a margin), in the box tree `relayout` lays out again; False when that cannot be
    done here."""
    import copy

    try:
        from weasyprint.css.properties import Dimension
    except ImportError:
        return False
    found = 0
    for box, changes in _first_boxes(layout, values):
        found += 1
        style = copy.copy(box.style)
        for name, px in changes.items():
            value = style[name]
            if getattr(value, "unit", None) != "px" and getattr(value, "value", None) != 0:
                return False
            style[name] = Dimension(value.value + px, "px")
        box.style = style
    return found == len(values)


def _first_boxes(layout: Layout, values: dict[object, dict]) -> Iterator[tuple[object, dict]]:
    """The first box of each element in `values` in the box tree (a paragraph split over pages is
    one box there), with its changes."""
    if layout.root is None:
        return
    done: set[int] = set()
    for box in layout.root.descendants():
        element = getattr(box, "element", None)
        changes = values.get(element)
        if changes is None or id(element) in done:
            continue
        done.add(id(element))
        yield box, changes


def _text_boxes(box) -> Iterator[tuple[object, int, object]]:
    """(parent, index, text box) for every text box under `box`, in reading order."""
    from weasyprint.formatting_structure import boxes

    for index, child in enumerate(getattr(box, "children", ())):
        if isinstance(child, boxes.TextBox):
            yield box, index, child
        else:
            yield from _text_boxes(child)


def keep_whole(layout: Layout, element, pattern, occurrence: int) -> bool:
    """In the box tree `relayout` lays out again: make the `occurrence`-th match of `pattern` in
    `element`'s text a text box of its own that is never hyphenated (what a
    `<span class="unbroken">` gives on a whole layout); False when that cannot be done here."""
    import copy

    if layout.root is None:
        return False
    block = next((box for box in layout.root.descendants() if getattr(box, "element", None) is element), None)
    if block is None:
        return False
    seen = 0
    for parent, index, text_box in list(_text_boxes(block)):
        for match in pattern.finditer(text_box.text):
            if seen < occurrence:
                seen += 1
                continue
            style = copy.copy(text_box.style)
            style["hyphens"] = "manual"
            word = text_box.copy_with_text(match.group())
            word.style = style
            pieces = [text_box.copy_with_text(text) for text in (text_box.text[:match.start()],) if text]
            pieces.append(word)
            pieces.extend(text_box.copy_with_text(text) for text in (text_box.text[match.end():],) if text)
            children = list(parent.children)
            children[index:index + 1] = pieces
            parent.children = type(parent.children)(children)
            return True
    return False
