"""The PDF is typeset: bookmarks for chapters, a contents page with true page numbers, running heads,
no number on chapter openings, document metadata, page sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import run_packager, shared

pytestmark = pytest.mark.slow  # the acceptance set built as PDFs


def outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, 0-based page index) of every bookmark, in order."""
    found: list[tuple[int, str, int]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def page_label(reader: PdfReader, index: int) -> str:
    """The page's number as printed in the book (the body counts from 1 after the front matter)."""
    return reader.page_labels[index]


def page_texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def contents_numbers(texts: list[str]) -> dict[str, int]:
    """Title -> page number as printed on the contents page(s)."""
    start = next(i for i, t in enumerate(texts) if "Contents" in t)
    entries: dict[str, int] = {}
    for text in texts[start:start + 3]:
        for line in text.splitlines():
            match = re.match(r"^(?P<title>.+?)[\s.]*\s(?P<page>\d+)\s*$", line.strip())
            if match and "." in line:
                entries[match["title"].strip(" .")] = int(match["page"])
    return entries


def test_every_pdf_lists_every_chapter_in_its_outline(built_books):
    for pdf in sorted(built_books.glob("*.pdf")):
        epub_chapters = _epub_chapter_count(pdf.with_suffix(".epub"))
        marks = [title for _, title, _ in outline(PdfReader(pdf)) if title != "Contents"]
        assert len(marks) >= epub_chapters, pdf.name


def _epub_chapter_count(epub: Path) -> int:
    import zipfile
    with zipfile.ZipFile(epub) as archive:
        return sum(1 for n in archive.namelist() if n.startswith("EPUB/chapter-"))


def test_contents_page_gives_the_page_where_each_chapter_starts(built_books):
    for name in ("a-christmas-carol.pdf", "darling-and-date.pdf", "ccefe1a2f821cfff.pdf"):
        reader = PdfReader(built_books / name)
        texts = page_texts(reader)
        printed = contents_numbers(texts)
        marks = [(title, page) for _, title, page in outline(reader) if title != "Contents"]
        assert marks, name
        for title, page_index in marks:
            key = next((k for k in printed if _squash(k)[:24] == _squash(title)[:24]), None)
            assert key is not None, f"{name}: {title!r} not on the contents page {printed}"
            assert str(printed[key]) == page_label(reader, page_index), f"{name}: {title!r}"
            heading_words = title.split()[-1].lower()
            assert heading_words in texts[page_index].lower(), f"{name}: {title!r} not on page {page_index + 1}"


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text).lower()


def test_pages_carry_their_own_number_except_chapter_openings(built_books):
    reader = PdfReader(built_books / "a-christmas-carol.pdf")
    texts = page_texts(reader)
    openings = {page for _, title, page in outline(reader)}
    numbered = 0
    for index, text in enumerate(texts):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if index in openings or not lines:
            assert not (lines and lines[-1] == page_label(reader, index) and index in openings), f"page {index + 1}"
            continue
        if lines[-1] == page_label(reader, index):
            numbered += 1
    assert numbered > 0.8 * (len(texts) - len(openings) - 6)


def running_head(page) -> str:
    """The text set in the top margin (the upper 15 mm) of a page."""
    top = float(page.mediabox.height) - 15 * 72 / 25.4
    parts: list[str] = []

    def visit(text, cm, tm, font, size):
        y = tm[5] * cm[3] + cm[5]
        if y > top and text.strip():
            parts.append(text)

    page.extract_text(visitor_text=visit)
    return "".join(parts).upper()


def test_running_heads_name_the_chapter_or_the_book(built_books):
    reader = PdfReader(built_books / "a-christmas-carol.pdf")
    marks = outline(reader)
    chapter_one = next(page for _, title, page in marks if "MARLEY" in title.upper())  # shown in title case
    heads = {running_head(reader.pages[chapter_one + 1]).upper(), running_head(reader.pages[chapter_one + 2]).upper()}
    assert any("MARLEY" in h for h in heads) and any("CHRISTMAS CAROL" in h for h in heads), heads


def test_document_metadata(built_books):
    meta = PdfReader(built_books / "a-christmas-carol.pdf").metadata
    assert meta.title == "A Christmas Carol"
    assert meta.author == "Charles Dickens"


def test_default_page_size_is_a5_and_letter_can_be_chosen(built_books, tmp_path):
    box = PdfReader(built_books / "walk-with-me.pdf").pages[3].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (420, 595)
    run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "pdf", "--page-size", "letter",
                 "--out-dir", tmp_path)
    box = PdfReader(tmp_path / "walk-with-me.pdf").pages[3].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_chapters_open_on_a_new_page(built_books):
    reader = PdfReader(built_books / "darling-and-date.pdf")
    pages = [page for _, title, page in outline(reader) if title != "Contents"]
    assert pages == sorted(set(pages)), "each chapter has a page of its own"


def test_fonts_are_embedded(built_books):
    reader = PdfReader(built_books / "walk-with-me.pdf")
    fonts = []
    for page in reader.pages[:5]:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            descriptor = font.get_object().get("/FontDescriptor") or \
                font.get_object()["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            fonts.append(any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")))
    assert fonts and all(fonts)
