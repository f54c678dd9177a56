"""A long book rendered in parallel chunks reads exactly like one rendered in one process: page
numbers run on, the contents and bookmarks point at the right pages, and a rebuild re-renders only
what changed. The book: War and Peace, books one and two (two parts, 48 chapters, 300+ A5 pages)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import shared

pytestmark = pytest.mark.slow  # PDF builds


def excerpt(tmp: Path, books: int = 2) -> Path:
    lines = shared("corpus", "gutenberg", "war-and-peace.txt").read_text(encoding="utf-8-sig").splitlines()
    start = lines.index("BOOK ONE: 1805")
    stop = lines.index({2: "BOOK THREE: 1805", 1: "BOOK TWO: 1805"}[books])
    path = tmp / "war-and-peace-excerpt.txt"
    path.write_text("War and Peace, Books One and Two\nby Leo Tolstoy\n\n" + "\n".join(lines[start:stop]) + "\n",
                    encoding="utf-8")
    return path


def build(story: Path, out: Path, jobs: int, cache: Path) -> Path:
    env = dict(os.environ, PACKAGER_CACHE_DIR=str(cache))
    subprocess.run([sys.executable, "-m", "packager", "build", str(story), "--to", "pdf", "--jobs", str(jobs),
                    "--out-dir", str(out)], check=True, env=env, capture_output=True, timeout=900)
    return next(out.glob("*.pdf"))


def page_texts(pdf: Path) -> list[str]:
    count = len(PdfReader(pdf).pages)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = text.split("\f")
    return pages[:count]


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parallel")
    story = excerpt(tmp)
    one = build(story, tmp / "one", 1, tmp / "cache-one")
    two = build(story, tmp / "two", 2, tmp / "cache-two")
    return one, two


def test_the_book_is_long_enough_to_matter(books):
    assert len(PdfReader(books[1]).pages) >= 200


def test_jobs_1_and_jobs_2_give_identical_bytes(books):
    """The same chunks, rendered in one process or two, merged the same way: the number of processes
    never changes a byte of the book."""
    assert books[0].read_bytes() == books[1].read_bytes()


def test_jobs_1_and_jobs_2_give_the_same_pages_with_the_same_text(books):
    one, two = (page_texts(p) for p in books)
    assert len(one) == len(two)
    # Compared without case: a font without true small caps is given them from its capitals, so one
    # glyph stands for both "v" and "V" and the text layer keeps whichever the document met first.
    # The pages look the same (their pixels were compared when this was written); the words must match.
    different = [i + 1 for i, (a, b) in enumerate(zip(one, two)) if a.casefold().split() != b.casefold().split()]
    assert different == []


def test_the_number_printed_on_each_page_runs_on_from_the_first_page_of_the_body(books):
    texts = page_texts(books[1])
    labels = PdfReader(books[1]).page_labels  # the body counts from 1 after the front matter
    first = labels.index("1")
    numbered = 0
    for position, text in enumerate(texts, start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines and re.fullmatch(r"\d+", lines[-1]):
            assert int(lines[-1]) == position - first, f"page {position} says {lines[-1]}"
            assert lines[-1] == labels[position - 1]
            numbered += 1
    assert numbered > 0.8 * (len(texts) - first)


def test_every_contents_entry_gives_the_page_where_its_chapter_begins(books):
    reader = PdfReader(books[1])
    texts = page_texts(books[1])
    entries = []
    for text in texts[:12]:
        entries += re.findall(r"^\s*(Chapter [IVXLC]+|Book \w+: \d+)\s*(?:\. ?)+\s*(\d+)\s*$", text,
                              re.MULTILINE | re.IGNORECASE)
    assert len(entries) >= 48
    marks = {}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                marks.setdefault(item.title.casefold(), []).append(
                    reader.page_labels[reader.get_destination_page_number(item)])

    walk(reader.outline)
    for title, page in entries:
        assert page in marks[title.casefold()], f"{title}: contents says {page}, bookmarks say {marks[title.casefold()]}"
        opening = texts[reader.page_labels.index(page)]
        assert title.split(":")[0].casefold() in opening.casefold(), f"{title} does not open page {page}"


def test_the_outline_nests_chapters_inside_their_parts(books):
    outline = PdfReader(books[1]).outline
    titles = [item.title for item in outline if not isinstance(item, list)]
    assert titles[:3] == ["Contents", "Book One: 1805", "Book Two: 1805"]  # capitals in title case
    children = [item for item in outline if isinstance(item, list)]
    assert [len(c) for c in children] == [28, 21]
    assert children[0][0].title == "Chapter I"


def test_a_rebuild_after_appending_a_chapter_renders_only_the_last_chunk(tmp_path):
    from packager.read.sources import find_stories
    from packager.render.assets import load_theme
    from packager.render.pdf import build_pdf
    from packager.story import load_story
    from packager.transform.pipeline import prepare_book

    story = excerpt(tmp_path, books=1)
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def render():
        book = prepare_book(load_story(find_stories(story)[0]).book)[0]
        return build_pdf(book, load_theme(None), None, when, jobs=2, cache_dir=tmp_path / "cache")

    first = render()
    assert first.cached_chunks == 0 and first.rendered_chunks >= 4
    with story.open("a", encoding="utf-8") as stream:
        stream.write("\n\nCHAPTER XXIX\n\nAnd so the year ended, quietly, at Bald Hills.\n")
    second = render()
    # A build renders the contents twice (for its length, then with its numbers), each body chunk, and
    # one overlay of running heads and page numbers per chunk and for the front: 2 * chunks + 3.
    chunks = (first.rendered_chunks - 3) // 2
    assert chunks >= 3 and first.rendered_chunks == 2 * chunks + 3
    # Appending a chapter changes the contents (both renders), the last chunk and its overlay; the
    # other chunks, their overlays and the front's overlay come from the cache.
    assert second.rendered_chunks == 4
    assert second.cached_chunks == 2 * chunks - 1
    assert second.pages >= first.pages
