"""Print craft: right-hand chapter openings with blank versos, chapter-opening styles per theme, a
theme with an embedded book font that falls back cleanly, and tagged or archival PDF variants."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from conftest import ROOT, run_packager

pytestmark = pytest.mark.slow  # PDF builds
from test_epub import epubcheck_messages
from test_pdf import contents_numbers, outline, page_label, page_texts, running_head

LIGHTHOUSE = ROOT / "stories" / "the-lighthouse-keeper.txt"
SALT = ROOT / "stories" / "salt-and-starlight"


@pytest.fixture(scope="module")
def recto_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("recto")
    run_packager("build", LIGHTHOUSE, "--to", "pdf", "--recto-openings", "--jobs", "2", "--out-dir", out)
    return out / "the-lighthouse-keeper.pdf"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_with_recto_openings_every_chapter_starts_on_an_odd_page(recto_book):
    reader = PdfReader(recto_book)
    marks = [(title, page) for _, title, page in outline(reader) if title != "Contents"]
    assert len(marks) == 7
    for title, index in marks:
        assert (index + 1) % 2 == 1, f"{title} starts on page {index + 1}, a verso"


def test_the_verso_left_before_a_recto_opening_is_blank_without_head_or_number(recto_book):
    reader = PdfReader(recto_book)
    texts = page_texts(reader)
    openings = [page for _, title, page in outline(reader) if title != "Contents"]
    blanks = [index - 1 for index in openings if not _lines(texts[index - 1])]
    assert len(blanks) >= 3, "the sample's chapters end on rectos often enough to need blank versos"
    for index in blanks:
        assert running_head(reader.pages[index]) == ""
        assert _lines(texts[index]) == []


def test_with_recto_openings_the_contents_and_numbers_still_agree(recto_book):
    reader = PdfReader(recto_book)
    texts = page_texts(reader)
    printed = contents_numbers(texts)
    for title, index in [(t, p) for _, t, p in outline(reader) if t != "Contents"]:
        number = next(v for k, v in printed.items() if k.lower()[:12] == title.lower()[:12])
        assert str(number) == page_label(reader, index), title
    for index, text in enumerate(texts):
        lines = _lines(text)
        if lines and lines[-1].isdigit():
            assert lines[-1] == page_label(reader, index)


def test_without_the_option_chapters_follow_on_the_next_page(tmp_path):
    run_packager("build", LIGHTHOUSE, "--to", "pdf", "--jobs", "1", "--out-dir", tmp_path)
    reader = PdfReader(tmp_path / "the-lighthouse-keeper.pdf")
    texts = page_texts(reader)
    body = reader.page_labels.index("1")
    assert all(_lines(t) for t in texts[body:]), "no blank pages in the body"
    assert any((page + 1) % 2 == 0 for _, _, page in outline(reader)), "some chapter starts on a verso"


def _first_paragraph(epub: Path) -> str:
    with zipfile.ZipFile(epub) as archive:
        name = sorted(n for n in archive.namelist() if n.startswith("EPUB/chapter-"))[0]
        return archive.read(name).decode("utf-8")


@pytest.mark.parametrize("theme", ["classic", "modern", "garamond"])
def test_each_theme_sets_a_lead_in_at_chapter_openings(tmp_path, theme):
    run_packager("build", LIGHTHOUSE, "--to", "epub", "--style", theme, "--out-dir", tmp_path)
    chapter = _first_paragraph(tmp_path / "the-lighthouse-keeper.epub")
    assert '<p class="opening"><span class="lead-in">The wind came</span> round' in chapter
    with zipfile.ZipFile(tmp_path / "the-lighthouse-keeper.epub") as archive:
        css = archive.read("EPUB/styles/book.css").decode("utf-8")
    assert ".lead-in" in css


def test_the_garamond_theme_embeds_its_font_and_passes_epubcheck(tmp_path):
    run_packager("build", LIGHTHOUSE, "--style", "garamond", "--out-dir", tmp_path)
    epub = tmp_path / "the-lighthouse-keeper.epub"
    with zipfile.ZipFile(epub) as archive:
        names = archive.namelist()
        css = archive.read("EPUB/styles/book.css").decode("utf-8")
    assert "EPUB/fonts/EBGaramond12-Regular.otf" in names
    assert '@font-face' in css and 'src: url("../fonts/EBGaramond12-Regular.otf")' in css
    assert epubcheck_messages(epub) == []
    fonts = subprocess.run(["pdffonts", tmp_path / "the-lighthouse-keeper.pdf"], capture_output=True,
                           text=True, check=True).stdout
    assert "EB-Garamond" in fonts


def test_without_the_font_installed_the_garamond_theme_falls_back_with_a_warning(tmp_path):
    env = dict(os.environ, PACKAGER_FONT_DIRS=str(tmp_path / "no-fonts-here"))
    result = subprocess.run([sys.executable, "-m", "packager", "build", LIGHTHOUSE, "--to", "epub", "--style",
                             "garamond", "--out-dir", tmp_path], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "EBGaramond12-Regular.otf" in result.stderr and "not installed" in result.stderr
    assert "fonts-ebgaramond" in result.stderr
    epub = tmp_path / "the-lighthouse-keeper.epub"
    with zipfile.ZipFile(epub) as archive:
        assert not [n for n in archive.namelist() if n.startswith("EPUB/fonts/")]
        css = archive.read("EPUB/styles/book.css").decode("utf-8")
    assert "@font-face" not in css
    assert '"EB Garamond", "DejaVu Serif"' in css, "the font stack falls back to installed faces"
    assert epubcheck_messages(epub) == []


def test_pdf_ua_1_is_tagged_with_language_title_and_nested_bookmarks(tmp_path):
    run_packager("build", SALT, "--to", "pdf", "--pdf-variant", "pdf/ua-1", "--out-dir", tmp_path)
    pdf = pikepdf.open(next(tmp_path.glob("*.pdf")))
    assert "/StructTreeRoot" in pdf.Root and bool(pdf.Root.MarkInfo.Marked)
    assert str(pdf.Root.Lang) == "en"
    assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
    with pdf.open_metadata() as xmp:
        assert xmp["{http://www.aiim.org/pdfua/ns/id/}part"] == "1"
        assert xmp["{http://purl.org/dc/elements/1.1/}title"] == "Salt and Starlight"
    reader = PdfReader(next(tmp_path.glob("*.pdf")))
    texts = page_texts(reader)
    printed = contents_numbers(texts)
    marks = [(t, p) for _, t, p in outline(reader) if t != "Contents"]
    assert marks
    for title, index in marks:
        key = next(k for k in printed if k.lower()[:10] == title.lower()[:10])
        assert str(printed[key]) == page_label(reader, index), title


def test_pdf_a_3b_carries_its_output_intent_and_identification(tmp_path):
    run_packager("build", LIGHTHOUSE, "--to", "pdf", "--pdf-variant", "pdf/a-3b", "--out-dir", tmp_path)
    pdf = pikepdf.open(tmp_path / "the-lighthouse-keeper.pdf")
    intent = pdf.Root.OutputIntents[0]
    assert intent.S == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    with pdf.open_metadata() as xmp:
        assert xmp["{http://www.aiim.org/pdfa/ns/id/}part"] == "3"
        assert xmp["{http://www.aiim.org/pdfa/ns/id/}conformance"] == "B"
    assert pdf.trailer.ID  # a file identifier, as PDF/A requires
    reader = PdfReader(tmp_path / "the-lighthouse-keeper.pdf")
    texts = page_texts(reader)
    opening = next(p for _, t, p in outline(reader) if t.startswith("Chapter 1"))
    assert running_head(reader.pages[opening]) == ""
    assert any("LIGHTHOUSE KEEPER" in running_head(reader.pages[i]) for i in range(opening + 1, opening + 3))
    assert _lines(texts[opening + 1])[-1] == page_label(reader, opening + 1)


def test_an_unknown_pdf_variant_is_a_usage_error(tmp_path):
    result = run_packager("build", LIGHTHOUSE, "--pdf-variant", "pdf/x-4", "--out-dir", tmp_path, check=False)
    assert result.returncode == 2
    assert "pdf/ua-1" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_a_margin_box_of_the_users_stylesheet_is_printed_once_a_page(tmp_path):
    """A user's own margin box (here a `DRAFT` mark at the foot, left) is set by the overlay with the
    running heads and page numbers, once on each page, never again by the chunk laid out under it."""
    css = tmp_path / "draft.css"
    css.write_text('@page { @bottom-left { content: "DRAFT"; font-size: 8pt; } }\n', encoding="utf-8")
    out = tmp_path / "out"
    run_packager("build", SALT, "--to", "pdf", "--style", css, "--jobs", "2", "--out-dir", out)
    texts = page_texts(PdfReader(next(out.glob("*.pdf"))))
    marks = [text.count("DRAFT") for text in texts]
    assert sum(1 for count in marks if count) > len(texts) // 2
    assert max(marks) == 1
