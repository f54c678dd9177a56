"""The measured second pass (issue 12, items 5 and 6): after a chunk is laid out, the third hyphen
of a ladder and a hyphen at a page's foot are taken back, a page held short inside a chapter gets its
lines back from paragraphs set a touch looser, and the pages these touch are laid out again; and the
merged book is no larger than the same book laid out as one document (item 14). Checked on rendered PDFs with
pdftotext's word boxes, on the opening chapters of Pride and Prejudice set on the smallest page,
where a narrow measure makes ladders."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import shared

pytestmark = pytest.mark.slow  # every test builds a PDF

PRIDE = ("corpus", "gutenberg", "pride-and-prejudice.txt")
SMALLEST_PAGE = "80x99mm"
HYPHENS = ("-", "\u2010")  # a word's own hyphen, and the one WeasyPrint sets at an automatic break
PAGE = re.compile(r'<page width="[\d.]+" height="[\d.]+">(.*?)</page>', re.S)
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</word>')


def _chapters(folder: Path, end: str, start: str = "Chapter 1") -> Path:
    """Pride and Prejudice from the heading `start` up to the heading `end`, as a story of its own."""
    lines = shared(*PRIDE).read_text(encoding="utf-8").splitlines()
    chapters = lines[lines.index(start):lines.index(end)]
    story = folder / "pride-opening.txt"
    story.write_text("Pride and Prejudice\n\nby Jane Austen\n\n" + "\n".join(chapters) + "\n", encoding="utf-8")
    return story


@pytest.fixture(scope="module")
def opening(tmp_path_factory) -> Path:
    """Pride and Prejudice's first three chapters."""
    return _chapters(tmp_path_factory.mktemp("opening"), "Chapter 4")


def _in_process(story: Path, out: Path, rounds: int | None = None, whole: bool = False,
                pages_only: bool = True, page: str = SMALLEST_PAGE, lines_kept: bool = True) -> Path:
    """The story's PDF built as `packager build` builds it (in chunks, merged), in this process: with
    the second pass's rounds set (0: laid out once), or laid out as one WeasyPrint document (`whole`).
    `pages_only=False` lays a chunk out whole in every round of the second pass instead of only the
    pages a change touches; `lines_kept=False` breaks every line again in every round."""
    import contextlib

    from packager.render import linebreaks, linecache, relayout
    from packager.render.assets import load_theme
    from packager.read.sources import find_stories
    from packager.render.pdf import _build_whole, build_pdf
    from packager.story import load_story
    from packager.transform.pipeline import prepare_book

    book = prepare_book(load_story(find_stories(story)[0]).book)[0]
    theme = load_theme(None, page)
    modified = datetime(2026, 1, 1, tzinfo=timezone.utc)
    before, quick, kept = linebreaks.MAX_ROUNDS, relayout.relayout, linecache.remembered
    linebreaks.MAX_ROUNDS = before if rounds is None else rounds
    if not pages_only:
        relayout.relayout = lambda *_: None  # as when WeasyPrint's layout cannot be reached
    if not lines_kept:
        linecache.remembered = contextlib.nullcontext
    try:
        result = _build_whole(book, theme, None, modified, 1, None, "") if whole \
            else build_pdf(book, theme, None, modified, 1, None)
    finally:
        linebreaks.MAX_ROUNDS, relayout.relayout, linecache.remembered = before, quick, kept
    out.write_bytes(result.data)
    return out


@pytest.fixture(scope="module")
def ten_chapters(tmp_path_factory) -> Path:
    """Pride and Prejudice's first ten chapters."""
    return _chapters(tmp_path_factory.mktemp("ten"), "Chapter 11")


@pytest.fixture(scope="module")
def ten_built(ten_chapters, tmp_path_factory) -> Path:
    return _in_process(ten_chapters, tmp_path_factory.mktemp("ten-built") / "built.pdf", page="6x9in")


@pytest.fixture(scope="module")
def built(opening, tmp_path_factory) -> Path:
    return _in_process(opening, tmp_path_factory.mktemp("built") / "built.pdf")


@pytest.fixture(scope="module")
def laid_out_once(opening, tmp_path_factory) -> Path:
    return _in_process(opening, tmp_path_factory.mktemp("once") / "once.pdf", rounds=0)


def body_baselines(pdf: Path) -> list[list[float]]:
    """Each page's text lines' baselines (their words' lowest bottom), as body_lines finds them."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [[(float(top), float(bottom)) for _, top, bottom, _ in WORD.findall(body)] for body in PAGE.findall(out)]
    sizes = sorted(bottom - top for page in pages for top, bottom in page)
    text_size = sizes[len(sizes) // 2]
    return [sorted({round(bottom) for top, bottom in page if bottom - top > 0.85 * text_size}) for page in pages]


def body_lines(pdf: Path) -> list[list[str]]:
    """Each page's text lines (their words), top to bottom, without running head and page number
    (set smaller than the text)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [[(float(x), float(top), float(bottom), html.unescape(word)) for x, top, bottom, word in WORD.findall(body)]
             for body in PAGE.findall(out)]
    sizes = sorted(bottom - top for page in pages for _, top, bottom, _ in page)
    text_size = sizes[len(sizes) // 2]
    found = []
    for page in pages:
        lines: dict[int, list[tuple[float, str]]] = {}
        for x, top, bottom, word in page:
            if bottom - top > 0.85 * text_size:
                lines.setdefault(round(bottom), []).append((x, word))
        found.append([[w for _, w in sorted(line)] for _, line in sorted(lines.items())])
    return found


def ladders(pdf: Path) -> list[tuple[int, list[str]]]:
    """(page, last words) of every run of three or more lines in a row ending in a hyphen."""
    found = []
    for number, page in enumerate(body_lines(pdf), 1):
        run: list[str] = []
        for line in [*page, [""]]:
            if line[-1].endswith(HYPHENS):
                run.append(line[-1])
                continue
            if len(run) > 2:
                found.append((number, run))
            run = []
    return found


def broken_feet(pdf: Path) -> list[tuple[int, str]]:
    """(page, last word) of every page whose last line ends in a word the hyphenator broke."""
    return [(number, page[-1][-1]) for number, page in enumerate(body_lines(pdf), 1)
            if page and page[-1][-1].endswith("\u2010")]


def letters(pdf: Path) -> str:
    """The text's letters in reading order, the hyphenator's hyphens left out (where lines break
    changes which spaces pdftotext reads), without the contents' page numbers."""
    text = " ".join(" ".join(" ".join(line) for line in page) for page in body_lines(pdf))
    return "".join(word for word in re.sub("\u2010 ", "", text).split() if not word.isdigit())


def test_laid_out_once_the_opening_chapters_hyphenate_in_ladders_and_at_page_feet(laid_out_once):
    assert ladders(laid_out_once)
    assert broken_feet(laid_out_once)


def test_no_more_than_two_lines_in_a_row_end_in_a_hyphen(built):
    assert ladders(built) == []


def test_no_page_ends_in_a_word_broken_by_the_hyphenator(built):
    assert broken_feet(built) == []


def test_a_word_kept_whole_loses_no_letter_and_moves_no_other_word(built, laid_out_once):
    assert letters(built) == letters(laid_out_once)


def test_the_merged_book_is_no_larger_than_the_book_laid_out_as_one_document(opening, built, tmp_path):
    whole = _in_process(opening, tmp_path / "whole.pdf", whole=True)
    assert built.stat().st_size <= whole.stat().st_size


def pages_held_short(pdf: Path) -> list[int]:
    """The pages (1-based) that end above the foot of the text though the page after them goes on
    with the same chapter (starts at the head of the text, where an opening starts lower down)."""
    pages = body_baselines(pdf)
    top = min(page[0] for page in pages if page)
    flowing = [page for page in pages if len(page) > 3 and page[0] <= top + 1]  # neither opening nor end
    foot = max(page[-1] for page in flowing)
    return [number for number, (page, after) in enumerate(zip(pages, pages[1:]), 1)
            if page and page[0] <= top + 1 and after and after[0] <= top + 1 and page[-1] < foot - 1]


def test_laid_out_once_pages_inside_a_chapter_are_held_short(ten_chapters, tmp_path):
    once = _in_process(ten_chapters, tmp_path / "once.pdf", rounds=0, page="6x9in")
    assert len(pages_held_short(once)) >= 5


def test_every_page_inside_a_chapter_ends_at_the_foot_of_the_text(ten_built):
    """Also a page of dialogue that no paragraph on it can fill (its lines too short to run on with a
    touch more space, the next paragraph too short to split): rule feather spaces its paragraphs."""
    assert pages_held_short(ten_built) == []


def test_a_page_set_looser_keeps_the_rules_on_hyphens(ten_built):
    assert ladders(ten_built) == [] and broken_feet(ten_built) == []


def test_laying_out_only_the_changed_pages_gives_what_laying_out_the_whole_chunk_gives(ten_chapters, ten_built, tmp_path):
    whole_rounds = _in_process(ten_chapters, tmp_path / "whole-rounds.pdf", pages_only=False, page="6x9in")
    assert body_lines(ten_built) == body_lines(whole_rounds)


def test_lines_kept_between_rounds_give_what_breaking_every_line_again_gives(ten_chapters, ten_built, tmp_path):
    """packager/render/linecache.py: the second pass breaks only the lines of paragraphs it changed;
    the book is the same, word for word and line for line, as when every line is broken again."""
    broken_again = _in_process(ten_chapters, tmp_path / "broken-again.pdf", lines_kept=False, page="6x9in")
    assert body_lines(ten_built) == body_lines(broken_again)
    assert body_baselines(ten_built) == body_baselines(broken_again)


def openings_off_the_grid(pdf: Path, pitch: float = 15.2) -> list[int]:
    """The chapter openings (1-based; pages whose text starts below the head of the text) filled to
    the foot whose last line is not on the full pages' grid: a fraction of a line above or below
    the line a full page ends on."""
    pages = body_baselines(pdf)
    top = min(page[0] for page in pages if page)
    foot = max(page[-1] for page in pages if len(page) > 3 and page[0] <= top + 1)
    return [number for number, (page, after) in enumerate(zip(pages, pages[1:]), 1)
            if len(page) > 3 and page[0] > top + 1 and after and after[0] <= top + 1
            and abs((foot - page[-1]) / pitch - round((foot - page[-1]) / pitch)) > 0.05]


def test_a_chapter_opening_ends_on_the_grid_of_the_full_pages(ten_built):
    assert openings_off_the_grid(ten_built) == []


@pytest.fixture(scope="module")
def long_titles(tmp_path_factory) -> Path:
    """Chapters 1 to 6 with titles that run over two lines of the heading: a heading of a label and
    two title lines is four and a half lines of the grid."""
    story = _chapters(tmp_path_factory.mktemp("long"), "Chapter 7")
    text = re.sub(r"^Chapter (\d+)$", r"Chapter \1: In Which a Long Title Runs On Over Two Lines of the Heading",
                  story.read_text(encoding="utf-8"), flags=re.M)
    story.write_text(text, encoding="utf-8")
    return story


def test_a_heading_of_more_lines_is_set_on_the_grid_by_the_second_pass(long_titles, tmp_path):
    """Rule opening_grid: laid out once, the text after a heading of several lines starts between two
    lines of the grid; the second pass moves the space below the heading by that fraction."""
    once = _in_process(long_titles, tmp_path / "once.pdf", rounds=0, page="6x9in")
    built = _in_process(long_titles, tmp_path / "built.pdf", page="6x9in")
    assert len(openings_off_the_grid(once)) >= 3
    assert openings_off_the_grid(built) == []


@pytest.fixture(scope="module")
def short_chapter(tmp_path_factory) -> Path:
    """Chapters 11 to 13: chapter 12 is two pages of 6x9in, too short to fill its last page with
    looser paragraphs."""
    return _chapters(tmp_path_factory.mktemp("short"), "Chapter 14", start="Chapter 11")


def last_pages(pdf: Path) -> list[int]:
    """The number of lines on each chapter's last page (a page followed by an opening, or the last)
    of the body (from page 1 on)."""
    from pypdf import PdfReader

    pages = [page for page in body_baselines(pdf)[PdfReader(pdf).page_labels.index("1"):] if page]
    top = min(page[0] for page in pages)
    return [len(page) for page, after in zip(pages, pages[1:] + [[top + 100]]) if after[0] > top + 1]


def test_a_short_chapter_fills_its_last_page_with_a_deeper_opening(short_chapter, tmp_path):
    """Rule last_page_lines: laid out once, chapter 12 ends on a page of fewer than five lines; the
    second pass sets its text whole lines lower below the heading, and the lines pass on to it."""
    once = _in_process(short_chapter, tmp_path / "once.pdf", rounds=0, page="6x9in")
    built = _in_process(short_chapter, tmp_path / "built.pdf", page="6x9in")
    assert min(last_pages(once)) < 5
    assert min(last_pages(built)) >= 5
    assert openings_off_the_grid(built) == []


def test_no_gap_is_feathered_wider_than_half_a_line():
    """Rule feather: a page three lines short with two gaps between paragraphs would need a gap and
    a half of a line each; it stays short (wide holes between paragraphs are worse), while a page a
    line short with four gaps gets a quarter of a line in each."""
    from packager.render.linebreaks import FEATHER, _feathered

    paragraphs = [_paragraph() for _ in range(5)]
    lines = [(p, 100.0 * n, 15.0) for n, p in enumerate(paragraphs)]
    last_page = {id(p): 0 for p in paragraphs}
    assert _feathered(0, 45.0, lines[:3], last_page, 15.0) == []
    gaps = _feathered(0, 15.0, lines, last_page, 15.0)
    assert [(g.px, g.variable) for g in gaps] == [(3.75, FEATHER)] * 4


def _paragraph():
    from xml.etree import ElementTree

    return ElementTree.Element("p")


def test_a_relaid_page_that_moves_a_chapter_updates_the_contents_page_number():
    """The whole book as one document (a PDF/UA or PDF/A variant) prints its contents' page numbers
    with target-counter(); when the second pass lays out again only the pages a change touches and a
    chapter moves to the next page, its number on the contents page moves with it."""
    import weasyprint

    from packager.render import relayout

    page = "<p class=long>" + "A line of text. " * 30 + "</p>"
    html = weasyprint.HTML(string=f"""
        <p>Contents <span class=n data-href="#two"></span></p>
        <section style="break-before: page"><p id=grow>One.</p>{page}</section>
        <section id=two style="break-before: page"><p>Two.</p></section>""")
    css = [weasyprint.CSS(string=".n::after { content: target-counter(attr(data-href), page) }"
                                 " @page { size: 100mm 100mm }")]
    layout = relayout.render(html, css)

    def contents(layout) -> str:
        return "".join(box.text for box in layout.document.pages[0]._page_box.descendants() if hasattr(box, "text"))

    def page_of_two(layout) -> int:
        return next(i for i, p in enumerate(layout.document.pages) if "two" in p.anchors) + 1

    assert contents(layout).endswith(str(page_of_two(layout)))
    grow = next(element for element in html.etree_element.iter() if element.get("id") == "grow")
    grow.set("style", "margin-bottom: 250px")  # the change, in the element tree and in the box tree
    assert relayout.add_to_own(layout, {grow: {"margin_bottom": 250.0}})
    again = relayout.relayout(layout, html, {1}) or relayout.render(html, css)
    assert page_of_two(again) == page_of_two(layout) + 1
    assert contents(again).endswith(str(page_of_two(again)))
