"""Kobo's kepub: the EPUB with the markup Kobo's own store files carry, which its reader needs for
highlights, bookmarks, reading statistics and page turns, as Kobo's files and kepubify have it:

- every sentence of the text in `<span class="koboSpan" id="kobo.P.S">` (P counts the paragraphs,
  lists and tables that hold text, S the sentences within one), an image in a span of its own;
- each body's content wrapped in `<div id="book-columns"><div id="book-inner">`;
- Kobo's style adjustment (`styles/kobo.css`) in each document's head.

The navigation document and the cover page are left as they are (Kobo reads neither as text). Made
from the EPUB's bytes, so it is as valid and as reproducible as the EPUB.
"""

from __future__ import annotations

from collections.abc import Callable

import io
import re
import zipfile

from lxml import etree

from packager.render.assets import styles_dir

XHTML = "http://www.w3.org/1999/xhtml"
_SENTENCE = re.compile(r".*?[.!?:]['\"\u201d\u2019\u201c\u2026]?\s*", re.DOTALL)
_VERBATIM = {"script", "style", "pre", "audio", "video"}
_BLOCKS = {"p", "ol", "ul", "table"}  # what starts a new paragraph number once it holds text
_UNTOUCHED = ("nav.xhtml", "cover.xhtml")


def rewrite_documents(data: bytes, rewrite: Callable[[bytes], bytes], untouched: tuple[str, ...]) -> bytes:
    """The same EPUB archive, entry for entry, with each XHTML content document passed through
    `rewrite`, except those whose names end in one of `untouched`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.endswith(".xhtml") and not info.filename.endswith(untouched):
                content = rewrite(content)
            target.writestr(info, content)
    return out.getvalue()


def kepub_from_epub(data: bytes) -> bytes:
    """The kepub of an EPUB written by `build_epub`: the same archive, entry for entry, with Kobo's
    markup in its content documents."""
    style = re.sub(r"/\*.*?\*/\s*", "", (styles_dir() / "kobo.css").read_text(encoding="utf-8"), flags=re.DOTALL)
    return rewrite_documents(data, lambda content: kobo_document(content, style), _UNTOUCHED)


def kobo_document(document: bytes, style: str) -> bytes:
    """One XHTML content document with Kobo's style, wrappers and sentence spans."""
    root = etree.fromstring(document)
    head = root.find(f"{{{XHTML}}}head")
    body = root.find(f"{{{XHTML}}}body")
    sheet = etree.SubElement(head, f"{{{XHTML}}}style", {"type": "text/css", "class": "kobostylehacks"})
    sheet.text = style
    _add_spans(body)
    _wrap(body)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def _wrap(body: etree._Element) -> None:
    columns = etree.Element(f"{{{XHTML}}}div", {"id": "book-columns"})
    inner = etree.SubElement(columns, f"{{{XHTML}}}div", {"id": "book-inner"})
    inner.text, body.text = body.text, None
    for child in list(body):
        inner.append(child)  # moves the child with its tail
    body.append(columns)


class _Counter:
    """Kobo's numbering: a new paragraph number at the first sentence inside each p, list or table
    (and for each image), sentences counted from 1 within it."""

    def __init__(self) -> None:
        self.paragraph, self.sentence, self.pending = 0, 0, False

    def next_id(self) -> str:
        if self.pending:
            self.paragraph, self.sentence, self.pending = self.paragraph + 1, 0, False
        self.sentence += 1
        return f"kobo.{self.paragraph}.{self.sentence}"

    def image_id(self) -> str:
        self.paragraph, self.sentence, self.pending = self.paragraph + 1, 0, False
        return self.next_id()


def _add_spans(body: etree._Element) -> None:
    counter = _Counter()

    def spans(text: str, parent: etree._Element) -> tuple[str | None, list[etree._Element]]:
        """The text as leading whitespace kept as text (outside a paragraph) and sentence spans."""
        pieces = _SENTENCE.findall(text)
        rest = text[sum(map(len, pieces)):]
        if rest:
            pieces.append(rest)
        lead, made = None, []
        for piece in pieces:
            if not piece.strip() and etree.QName(parent).localname != "p":
                if made:
                    made[-1].tail = (made[-1].tail or "") + piece
                else:
                    lead = (lead or "") + piece
                continue
            span = etree.Element(f"{{{XHTML}}}span", {"class": "koboSpan", "id": counter.next_id()})
            span.text = piece
            made.append(span)
        return lead, made

    def visit(element: etree._Element) -> None:
        name = etree.QName(element).localname
        if name in _VERBATIM:
            return
        if name in _BLOCKS:
            counter.pending = True
        if element.text:
            lead, made = spans(element.text, element)
            element.text = lead
            for index, span in enumerate(made):
                element.insert(index, span)
        for child in [c for c in element if not (c.get("class") == "koboSpan" and c.tag == f"{{{XHTML}}}span")]:
            if not isinstance(child.tag, str):  # a comment or processing instruction
                continue
            if etree.QName(child).localname == "img":
                span = etree.Element(f"{{{XHTML}}}span", {"class": "koboSpan", "id": counter.image_id()})
                child.addprevious(span)
                span.tail, child.tail = child.tail, None
                span.append(child)
                child = span
            else:
                visit(child)
            if child.tail:
                lead, made = spans(child.tail, element)
                child.tail = lead
                for span in reversed(made):
                    child.addnext(span)

    visit(body)
