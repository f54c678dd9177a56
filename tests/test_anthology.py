"""An anthology, as a specification: a folder with `anthology = true` and a title in its
collection.toml builds ONE book of its stories, each with its own title page and author, a contents
nested story -> chapters (EPUB nav and NCX, PDF bookmarks), one cover, and EPUBCheck has nothing to say."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import run_packager, shared

pytestmark = pytest.mark.slow  # PDF builds
from test_epub import NS, epubcheck_messages, opf


@pytest.fixture(scope="module")
def anthology(tmp_path_factory):
    """Three stories: a folder of five chapter files, a story file of eight chapters with an author
    given in its sidecar, and a one-chapter story with its cover beside it, in an order of our own."""
    root = tmp_path_factory.mktemp("anthology")
    folder = root / "tales-of-friendship"
    folder.mkdir()
    shutil.copytree(shared("corpus", "cc0", "darling-and-date"), folder / "darling-and-date")
    shutil.copytree(shared("corpus", "cc0", "applejacks-admirer"), folder / "applejacks-admirer")
    shutil.copy2(shared("seeds", "001_ccefe1a2f821cfff.txt"), folder / "eight-chapters.txt")
    (folder / "eight-chapters.toml").write_text('title = "Eight Chapters"\nauthor = "Sidecar Writer"\n',
                                                encoding="utf-8")
    (folder / "collection.toml").write_text(
        'anthology = true\ntitle = "Tales of Friendship"\nlanguage = "en"\n'
        'order = ["eight-chapters.txt", "darling-and-date", "applejacks-admirer"]\n', encoding="utf-8")
    out = root / "out"
    run_packager("build", folder, "--out-dir", out, "--notes", "endnotes")
    return out


def read(book, name: str) -> etree._Element:
    with zipfile.ZipFile(book) as archive:
        return etree.fromstring(archive.read(name))


def test_the_folder_builds_one_book_in_both_formats(anthology):
    assert [p.name for p in anthology.glob("*.epub")] == ["tales-of-friendship.epub"]
    assert [p.name for p in anthology.glob("*.pdf")] == ["tales-of-friendship.pdf"]
    meta = opf(anthology / "tales-of-friendship.epub")
    assert meta.findtext(".//dc:title", namespaces=NS) == "Tales of Friendship"
    assert meta.findtext(".//dc:identifier", namespaces=NS).startswith("urn:uuid:")


def test_the_anthology_passes_epubcheck_with_no_errors_and_no_warnings(anthology):
    assert epubcheck_messages(anthology / "tales-of-friendship.epub") == []


def test_the_contents_nest_each_storys_chapters_under_it_in_the_given_order(anthology):
    nav = read(anthology / "tales-of-friendship.epub", "EPUB/nav.xhtml")
    toc = nav.find(".//x:nav[@epub:type='toc']/x:ol", NS)
    stories = toc.findall("x:li", NS)
    titles = [li.findtext("x:a", namespaces=NS) for li in stories]
    assert titles[:3] == ["Eight Chapters", "Darling and Date", "Applejack’s Admirer"]
    assert [len(li.findall("x:ol/x:li", NS)) for li in stories[:3]] == [8, 5, 0]
    assert stories[1].findtext("x:ol/x:li/x:a", namespaces=NS) == "Announce & Ask"
    assert not nav.xpath("//x:ol[not(x:li)]", namespaces=NS), "no empty <ol>"


def test_the_ncx_nests_the_same_way(anthology):
    ncx = read(anthology / "tales-of-friendship.epub", "EPUB/toc.ncx")
    top = ncx.findall("ncx:navMap/ncx:navPoint", NS)
    assert [len(p.findall("ncx:navPoint", NS)) for p in top[:3]] == [8, 5, 0]
    points = ncx.findall(".//ncx:navPoint", NS)
    assert [int(p.get("playOrder")) for p in points] == list(range(1, len(points) + 1))


def test_each_story_opens_with_its_own_title_page_and_author(anthology):
    page = read(anthology / "tales-of-friendship.epub", "EPUB/story-01.xhtml")
    section = page.find(".//x:section", NS)
    assert section.get("{http://www.idpf.org/2007/ops}type") == "part" and section.get("role") == "doc-part"
    assert page.findtext(".//x:h1", namespaces=NS) == "Eight Chapters"
    assert page.findtext(".//x:p[@class='story-author']", namespaces=NS) == "Sidecar Writer"
    second = read(anthology / "tales-of-friendship.epub", "EPUB/story-02.xhtml")
    assert second.findtext(".//x:h1", namespaces=NS) == "Darling and Date"


def test_the_book_lists_every_distinct_author_and_has_one_cover(anthology):
    root = opf(anthology / "tales-of-friendship.epub")
    creators = [c.text for c in root.findall(".//dc:creator", NS)]
    assert creators == ["Sidecar Writer"]  # the other stories name no author: none is made up
    images = [i for i in root.find("opf:manifest", NS) if i.get("media-type", "").startswith("image/")]
    assert len(images) == 1 and images[0].get("properties") == "cover-image"


def test_the_pdf_bookmarks_nest_story_then_chapters(anthology):
    outline = PdfReader(anthology / "tales-of-friendship.pdf").outline
    titles = [item.title for item in outline if not isinstance(item, list)]
    assert titles[:4] == ["Contents", "Eight Chapters", "Darling and Date", "Applejack’s Admirer"]
    nested = [item for item in outline if isinstance(item, list)]
    assert [len(children) for children in nested[:2]] == [8, 5]


def test_an_anthology_without_a_title_is_an_error_naming_its_collection_file(tmp_path):
    folder = tmp_path / "untitled"
    folder.mkdir()
    (folder / "one.txt").write_text("One\n\nChapter 1\n\nText.\n", encoding="utf-8")
    (folder / "collection.toml").write_text("anthology = true\n", encoding="utf-8")
    result = run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out", check=False)
    assert result.returncode == 1 and "needs a 'title'" in result.stderr and "collection.toml" in result.stderr
