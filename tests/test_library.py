"""The library page and the OPDS catalogue a batch build leaves in the output folder: every book with
its cover, title, author, word count and downloads; relative links that work from disk; an Atom feed
e-reader apps can browse."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlparse

import pytest
from lxml import html

from conftest import build_json, copy_stories, run_packager

pytestmark = pytest.mark.slow  # builds a folder of stories, and a PDF

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/terms/}"
ACQUISITION = "http://opds-spec.org/acquisition"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    folder = copy_stories(root / "stories")
    (folder / "collection.toml").write_text('title = "Our Archive"\n', encoding="utf-8")
    out = root / "out"
    run_packager("build", folder, "--to", "epub", "--out-dir", out, "--report", root / "report.json")
    return out, build_json(root / "report.json")


def feed(out: Path) -> ElementTree.Element:
    return ElementTree.parse(out / "catalog.xml").getroot()


def test_the_catalogue_is_an_atom_feed_listing_every_book(library):
    out, report = library
    root = feed(out)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Our Archive"
    assert root.findtext(f"{ATOM}id").startswith("urn:uuid:")
    assert root.findtext(f"{ATOM}updated")
    self_link = next(link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self")
    assert "profile=opds-catalog" in self_link.get("type") and "kind=acquisition" in self_link.get("type")
    titles = sorted(entry.findtext(f"{ATOM}title") for entry in root.findall(f"{ATOM}entry"))
    assert titles == sorted(row["title"] for row in report["books"])
    assert len(titles) == 8


def test_every_entry_links_its_epub_and_cover_with_id_language_and_author(library):
    from test_epub import NS, opf

    out, _ = library
    for entry in feed(out).findall(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:")
        assert entry.findtext(f"{DC}language") == "en"
        links = {link.get("rel"): link for link in entry.findall(f"{ATOM}link")}
        book = links[ACQUISITION]
        # the book's own authors, none made up when its text names none
        assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == \
            [c.text for c in opf(out / book.get("href")).findall(".//dc:creator", NS)]
        assert book.get("type") == "application/epub+zip"
        assert (out / book.get("href")).is_file()
        image = links["http://opds-spec.org/image"]
        assert image.get("type") in ("image/jpeg", "image/png")
        assert (out / image.get("href")).is_file()


def test_the_page_shows_every_book_with_title_author_words_and_relative_links(library):
    out, report = library
    page = html.parse(str(out / "index.html")).getroot()
    cards = page.find_class("book")
    assert len(cards) == 8
    shown = {card.find_class("book-title")[0].text_content(): card for card in cards}
    for row in report["books"]:
        card = shown[row["title"]]
        assert card.find_class("book-author") == []  # these stories name no author: none is made up
        assert f"{row['words']:,} words" in card.find_class("book-size")[0].text_content()
    links = [a.get("href") for a in page.iter("a")] + [img.get("src") for img in page.iter("img")]
    assert links
    for link in links:
        assert not urlparse(link).scheme and not link.startswith("/"), link  # works opened from disk
        assert (out / link).is_file(), link


def test_the_page_shows_a_storys_own_cover(library):
    out, _ = library
    page = html.parse(str(out / "index.html")).getroot()
    card = next(c for c in page.find_class("book")
                if c.find_class("book-title")[0].text_content() == "Creative Freedom")
    cover = card.find(".//img")
    assert cover.get("src") == "covers/creative-freedom.png"
    assert cover.get("alt") == "Cover of Creative Freedom"


def test_books_a_rerun_skips_are_still_listed_and_the_pdf_is_linked_when_built(tmp_path):
    folder = copy_stories(tmp_path / "stories")
    out = tmp_path / "out"
    run_packager("build", folder, "--to", "epub", "--out-dir", out)
    run_packager("build", folder / "creative-freedom", "--to", "pdf", "--out-dir", out)  # a single book
    run_packager("build", folder, "--to", "epub", "--out-dir", out)  # every book unchanged
    entries = feed(out).findall(f"{ATOM}entry")
    assert len(entries) == 8
    creative = next(e for e in entries if e.findtext(f"{ATOM}title") == "Creative Freedom")
    types = sorted(link.get("type") for link in creative.findall(f"{ATOM}link") if link.get("rel") == ACQUISITION)
    assert types == ["application/epub+zip", "application/pdf"]


def test_story_text_in_titles_is_escaped_in_page_and_feed(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    (folder / "a.txt").write_text('Tom & <b>Jerry</b>\n\nChapter 1\n\nText.\n\nMore.\n', encoding="utf-8")
    (folder / "b.txt").write_text("Other\n\nChapter 1\n\nText.\n\nMore.\n", encoding="utf-8")
    run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    titles = [e.findtext(f"{ATOM}title") for e in feed(tmp_path / "out").findall(f"{ATOM}entry")]
    assert "Tom & <b>Jerry</b>" in titles
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "<b>Jerry</b>" not in page and "&lt;b&gt;Jerry&lt;/b&gt;" in page


# --- Kobo's kepub ---------------------------------------------------------------------------------

STORIES = Path(__file__).resolve().parents[1] / "stories"


@pytest.fixture(scope="module")
def kobo_library(tmp_path_factory):
    out = tmp_path_factory.mktemp("kobo") / "out"
    run_packager("build", STORIES, "--to", "epub,kepub", "--out-dir", out, "--report", out.parent / "report.json")
    return out, build_json(out.parent / "report.json")


def test_the_catalogue_offers_the_kepub_of_every_book_as_kobos_own_type(kobo_library):
    out, report = kobo_library
    entries = feed(out).findall(f"{ATOM}entry")
    assert len(entries) == len(report["books"]) == 5
    for entry in entries:
        books = {link.get("type"): link.get("href") for link in entry.findall(f"{ATOM}link")
                 if link.get("rel") == ACQUISITION}
        assert sorted(books) == ["application/epub+zip", "application/kepub+zip"]
        assert books["application/kepub+zip"] == books["application/epub+zip"].removesuffix(".epub") + ".kepub.epub"
        assert (out / books["application/kepub+zip"]).is_file()


def test_the_page_shows_a_kobo_link_beside_the_epub(kobo_library):
    out, _ = kobo_library
    page = html.parse(str(out / "index.html")).getroot()
    for card in page.find_class("book"):
        links = {a.text_content(): a for a in card.find_class("download")}
        assert sorted(links) == ["EPUB", "Kobo"]
        kobo = links["Kobo"]
        assert kobo.get("href").endswith(".kepub.epub") and kobo.get("type") == "application/kepub+zip"
        assert (out / kobo.get("href")).is_file()


def test_a_rerun_of_a_kepub_build_skips_every_book_and_still_lists_the_kepubs(kobo_library):
    out, _ = kobo_library
    rerun = out.parent / "rerun.json"
    run_packager("build", STORIES, "--to", "epub,kepub", "--out-dir", out, "--report", rerun)
    assert {row["status"] for row in build_json(rerun)["books"]} == {"skipped"}
    assert len([link for link in feed(out).iter(f"{ATOM}link") if link.get("type") == "application/kepub+zip"]) == 5
