"""The PDF as a trade paperback is made (issue 12): the whole cover at the trim size, front matter
in a book's order and numbering, a drop cap that fits its paragraph, numbered endnote markers, true
small caps, an even contents column, hyphenation a reader does not trip over. Each behaviour is
checked on rendered pages: pixels, pdftotext's word boxes, the PDF's own objects."""

from __future__ import annotations

import html
import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from conftest import ROOT, run_packager, shared
from test_pdf import outline, page_label, page_texts

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

CAROL = ("corpus", "gutenberg", "a-christmas-carol.txt")
LIGHTHOUSE = ROOT / "stories" / "the-lighthouse-keeper.txt"


def _build(out: Path, source: Path, *options: str) -> Path:
    run_packager("build", source, "--to", "pdf", "--jobs", "2", "--out-dir", out, *options)
    return next(out.glob("*.pdf"))


@pytest.fixture(scope="module")
def carol_garamond(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("carol-garamond"), shared(*CAROL), "--style", "garamond")


@pytest.fixture(scope="module")
def carol_classic_6x9(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("carol-classic"), shared(*CAROL), "--page-size", "6x9in")


def page_image(pdf: Path, number: int, dpi: int = 60) -> Image.Image:
    """One page (1-based) rendered as a person sees it."""
    png = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(number), "-l", str(number), str(pdf)],
                         capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


# 1. The cover

def _frame_rules_near_the_foot(image: Image.Image) -> int:
    """How many light rules cross the middle column in the page's lowest 6%: the frame's two edges
    when the whole cover shows, none when its foot is cut off."""
    x = image.width // 2
    ground = image.getpixel((x, image.height - 1))  # the band beneath the author's name
    rows = range(image.height - 1 - int(image.height * 0.06), image.height)
    ruled = [sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), ground)) > 90 for y in rows]
    return sum(1 for before, now in zip(ruled, ruled[1:]) if now and not before)


@pytest.mark.parametrize("book", ["carol_garamond", "carol_classic_6x9"])
def test_the_cover_page_shows_the_whole_cover_with_its_frame_at_the_foot(book, request):
    pdf = request.getfixturevalue(book)
    assert _frame_rules_near_the_foot(page_image(pdf, 1, dpi=150)) == 2


@pytest.mark.parametrize("book", ["carol_garamond", "carol_classic_6x9"])
def test_a_generated_cover_has_the_proportions_of_the_page(book, request):
    document = pikepdf.open(request.getfixturevalue(book))
    page = document.pages[0]
    (image,) = page.get_images().values()
    box = page.mediabox
    assert abs(int(image.Height) / int(image.Width) - float(box[3]) / float(box[2])) < 0.01


def test_a_generated_cover_is_drawn_in_the_theme_typeface(tmp_path, carol_garamond):
    classic = _build(tmp_path, shared(*CAROL), "--to", "pdf")
    garamond_cover = page_image(carol_garamond, 1)
    classic_cover = page_image(classic, 1)
    assert garamond_cover.size == classic_cover.size
    changed = ImageChops.difference(garamond_cover, classic_cover).convert("L").point(lambda v: 255 if v else 0)
    different = changed.histogram()[255]
    assert different > 0.01 * garamond_cover.width * garamond_cover.height


# 11. Front matter and page numbers

def _first_index(texts: list[str], words: str) -> int:
    return next(i for i, text in enumerate(texts) if words in " ".join(text.split()))


def test_the_half_title_and_the_title_page_fall_on_rectos(carol_garamond):
    texts = page_texts(PdfReader(carol_garamond))
    assert " ".join(texts[2].split()) == "A Christmas Carol", "the half-title follows the inside of the cover"
    title_page = _first_index(texts, "Charles Dickens")
    assert title_page % 2 == 0 and title_page > 2, "the title page is a recto"
    assert all(not text.strip() for text in (texts[1], texts[3])), "the backs of cover and half-title are blank"


def test_the_copyright_page_backs_the_title_page_with_what_a_reader_looks_for(carol_garamond):
    texts = page_texts(PdfReader(carol_garamond))
    copyright_page = " ".join(texts[_first_index(texts, "Typeset with packager")].split())
    assert copyright_page.startswith("A Christmas Carol by Charles Dickens")
    assert "This edition " in copyright_page and "Identifier: urn:uuid:" in copyright_page
    assert _first_index(texts, "Typeset with packager") == _first_index(texts, "Charles Dickens") + 1


def test_the_cover_is_not_counted_and_the_body_begins_on_a_recto_as_page_one(carol_garamond):
    reader = PdfReader(carol_garamond)
    labels = reader.page_labels
    assert labels[0] == "Cover"
    first = labels.index("1")
    assert first % 2 == 0, "page 1 is a recto"
    assert labels[2:first] == ["i", "ii", "iii", "iv", "v", "vi"][:first - 2]
    texts = page_texts(reader)
    assert "PREFACE" in texts[first], "the body starts with the story's own front matter"
    assert not any(text.strip().splitlines()[-1:] == [str(n)] for n, text in enumerate(texts[:first], 1))
    numbered = [i for i, text in enumerate(texts) if text.strip() and text.split()[-1] == labels[i]]
    assert len(numbered) > 0.8 * (len(texts) - first - 10)


def test_contents_numbers_are_the_printed_page_numbers(carol_garamond):
    reader = PdfReader(carol_garamond)
    texts = page_texts(reader)
    contents = " ".join(texts[_first_index(texts, "Contents")].split())
    for _, title, index in outline(reader):
        if title != "Contents":
            assert f"{title.upper()[:14]}" in contents.upper()
            assert f" {page_label(reader, index)} " in f"{contents} ", title


# 2. The drop cap

SEED_001 = ("seeds", "001_ccefe1a2f821cfff.txt")  # chapter one opens with one short line, three with a quote


@pytest.fixture(scope="module")
def seed_garamond(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("seed-garamond"), shared(*SEED_001), "--style", "garamond")


@dataclass
class Word:
    x0: float
    top: float
    x1: float
    bottom: float
    text: str


def page_words(pdf: Path, number: int) -> list[Word]:
    """pdftotext's words with their boxes (points from the top left) on one page (1-based)."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(number), "-l", str(number), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', out)
    return [Word(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in found]


def text_lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into lines by their baseline, top to bottom, each line left to right."""
    lines: dict[int, list[Word]] = {}
    for word in words:
        lines.setdefault(round(word.bottom), []).append(word)
    return [sorted(line, key=lambda w: w.x0) for _, line in sorted(lines.items())]


def _opening_page(pdf: Path, title: str) -> int:
    reader = PdfReader(pdf)
    return next(index for _, t, index in outline(reader) if title.lower() in t.lower()) + 1


def _initial(words: list[Word]) -> Word:
    """The drop cap: the one word set far larger than the text."""
    body = sorted(w.bottom - w.top for w in words)[len(words) // 2]
    (initial,) = [w for w in words if w.bottom - w.top > 2 * body]
    return initial


def test_the_drop_cap_indents_exactly_the_lines_it_stands_beside(carol_garamond):
    words = page_words(carol_garamond, _opening_page(carol_garamond, "Marley"))
    initial = _initial(words)
    assert initial.text == "M"
    lines = [line for line in text_lines([w for w in words if w is not initial]) if line[0].top > initial.top - 5]
    beside = [line for line in lines if line[0].top < initial.bottom - 8]
    below = [line for line in lines if line[0].top >= initial.bottom - 8]
    assert len(beside) == 2
    assert all(line[0].x0 > initial.x1 for line in beside)
    assert below[0][0].x0 < initial.x1, "the third line runs back to the margin"


def test_a_short_opening_paragraph_keeps_the_next_one_below_the_capital(seed_garamond):
    words = page_words(seed_garamond, _opening_page(seed_garamond, "Chapter One"))
    initial = _initial(words)
    following = next(line for line in text_lines(words) if line[0].text == "As")
    assert following[0].x0 < initial.x1, "the next paragraph starts at the margin, not beside the capital"


def test_an_opening_quotation_mark_stays_at_the_size_of_the_text(seed_garamond):
    words = page_words(seed_garamond, _opening_page(seed_garamond, "Chapter Three"))
    initial = _initial(words)
    quote = next(w for w in words if w.text == "“" and w.x1 <= initial.x0 + 1)
    text = next(w for w in words if w.text == "Gaara")
    assert abs((quote.bottom - quote.top) - (text.bottom - text.top)) < 2


def _ink_top(image: Image.Image, word: Word, scale: float) -> int:
    """The highest row of ink inside a word's box."""
    box = [round(v * scale) for v in (word.x0, word.top, word.x1, word.bottom)]
    crop = image.crop(box).convert("L").point(lambda v: 255 if v < 128 else 0)
    return crop.getbbox()[1] + box[1]


def test_a_first_word_in_capitals_is_set_in_small_caps_like_the_rest_of_the_lead_in(carol_garamond):
    number = _opening_page(carol_garamond, "Marley")
    words = page_words(carol_garamond, number)
    first_line = next(line for line in text_lines(words) if line[0].text.lower() == "arley")
    after_initial, following = first_line[0], first_line[1]
    assert following.text.lower() == "was"
    image = page_image(carol_garamond, number, dpi=300)
    scale = 300 / 72
    assert abs(_ink_top(image, after_initial, scale) - _ink_top(image, following, scale)) <= 1


# 3. Endnote markers

SEED_003 = ("seeds", "003_c873871c6bd971e6.txt")  # seven notes: four before the story, three at its end


@pytest.fixture(scope="module")
def seed_endnotes(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("seed-endnotes"), shared(*SEED_003), "--style", "garamond",
                  "--notes", "endnotes")


def _markers(pdf: Path, pages: range) -> list[tuple[str, int]]:
    """(number, page index) of every note marker: a run of figures set smaller than the words and
    raised above the baseline of the word it follows."""
    found = []
    for index in pages:
        words = page_words(pdf, index + 1)
        for word in words:
            if not re.fullmatch(r"\d+(,\d+)*", word.text):
                continue
            before = [w for w in words if w is not word and abs(w.x1 - word.x0) < 4
                      and w.top < word.bottom and word.top < w.bottom]
            if before and word.bottom < before[0].bottom - 1 \
                    and word.bottom - word.top < 0.85 * (before[0].bottom - before[0].top):
                found += [(number, index) for number in word.text.split(",")]
    return found


def test_endnote_markers_are_raised_numbers_that_match_the_notes(seed_endnotes):
    reader = PdfReader(seed_endnotes)
    notes_page = next(index for _, title, index in outline(reader) if title == "Author’s Notes")
    markers = _markers(seed_endnotes, range(notes_page))
    # seed 003's notes: the disclaimer, the legend with its note (one note of several paragraphs), and
    # the closing note
    assert [number for number, _ in markers] == [str(n) for n in range(1, 4)]
    listed = re.findall(r"^(\d+)\. ", "\n".join(page_texts(reader)[notes_page:]), re.MULTILINE)
    assert listed == [str(n) for n in range(1, 4)]
    assert not any("Author’s note" in text for text in page_texts(reader)[:notes_page])


def test_each_back_link_stays_whole_and_gives_its_marker_page(seed_endnotes):
    reader = PdfReader(seed_endnotes)
    notes_page = next(index for _, title, index in outline(reader) if title == "Author’s Notes")
    markers = _markers(seed_endnotes, range(notes_page))
    backs = re.findall(r"Back \(page (\d+)\)", "\n".join(page_texts(reader)[notes_page:]))
    assert backs == [page_label(reader, index) for _, index in markers]


# 8. Quotes and dashes

def test_quotes_after_dashes_close_and_a_wrapped_dash_gains_no_space(carol_garamond):
    text = re.sub(r"-\n", "", "\n".join(page_texts(PdfReader(carol_garamond))))  # words hyphenated at line ends
    words = " ".join(text.split())
    assert "munifi—”" in words and "munifi—“" not in words
    assert "upon ’Change" in words and "‘Change" not in words
    assert "instance—literally" in words and "instance— literally" not in words


# 10. Contents

def test_contents_leaders_stop_at_one_distance_from_a_column_of_lining_figures(carol_garamond):
    reader = PdfReader(carol_garamond)
    number = _first_index(page_texts(reader), "Contents") + 1
    words = page_words(carol_garamond, number)
    entries = [line for line in text_lines(words) if line[-1].text.isdigit() and line[-2].text == "."]
    assert len(entries) == 6
    assert max(line[-2].x1 for line in entries) - min(line[-2].x1 for line in entries) < 0.5, "leaders end together"
    assert max(line[-1].x1 for line in entries) - min(line[-1].x1 for line in entries) < 0.5, "numbers align right"
    image = page_image(carol_garamond, number, dpi=300)
    scale = 300 / 72
    heights = {round(line[-1].bottom * scale) - _ink_top(image, line[-1], scale) for line in entries}
    # lining figures all stand a capital's height (within their overshoot); old-style 1 and 2 stand
    # an x-height, some 12 pixels lower at this resolution
    assert max(heights) - min(heights) <= 4, "every figure stands as tall as the others: lining, not old-style"


# 7. True small caps

def _page_fonts(pdf: Path, number: int) -> list[str]:
    listing = subprocess.run(["pdffonts", "-f", str(number), "-l", str(number), str(pdf)],
                             capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines()[2:] if line.strip()]


@pytest.mark.parametrize("book, face, lead_in", [
    ("carol_classic_6x9", "Libertine", "Marley was dead: to begin with."),
    ("carol_garamond", "Garamond", "arley was dead: to begin with."),
])
def test_small_caps_come_from_the_book_face_and_copy_as_printed(book, face, lead_in, request):
    pdf = request.getfixturevalue(book)
    number = _opening_page(pdf, "Marley")
    fonts = _page_fonts(pdf, number)
    assert fonts and all(face in name for name in fonts), fonts
    text = " ".join(subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                                   capture_output=True, text=True, check=True).stdout.split())
    assert lead_in in text


# 13. Anthology

@pytest.fixture(scope="module")
def harbour_tales(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("harbour"), ROOT / "stories" / "harbour-tales", "--recto-openings")


def _body_texts(pdf: Path) -> list[str]:
    reader = PdfReader(pdf)
    return page_texts(reader)[reader.page_labels.index("1"):]


def test_a_one_chapter_story_prints_its_title_once(harbour_tales):
    titled = [text for text in _body_texts(harbour_tales) if "Low Tide" in text.splitlines()]
    assert len(titled) == 1
    assert "At low tide the harbour" in " ".join(titled[0].split()), "its text begins on its title page"


def test_a_story_begins_its_first_chapter_on_its_title_page(harbour_tales):
    opening = next(text for text in _body_texts(harbour_tales) if "The Fog Bell" in text.splitlines())
    assert "The Silence" in opening and "The fog came in" in " ".join(opening.split())


def test_right_hand_openings_leave_few_blank_pages_in_an_anthology(harbour_tales):
    body = _body_texts(harbour_tales)
    assert sum(1 for text in body if not text.strip()) <= 2 and len(body) <= 6


# 5. Spreads

def _body_baselines(pdf: Path) -> tuple[list[list[float]], int, set[int]]:
    """The baselines (pdftotext's word bottoms) of each page's text lines, without running head and
    folio; the index of page 1; the chapter openings."""
    reader = PdfReader(pdf)
    pages = []
    for number in range(1, len(reader.pages) + 1):
        height = float(reader.pages[number - 1].mediabox[3])
        lines = text_lines(page_words(pdf, number))
        pages.append([line[0].bottom for line in lines if height * 0.08 < line[0].bottom < height * 0.91])
    return pages, reader.page_labels.index("1"), {index for _, _, index in outline(reader)}


def test_facing_pages_end_on_the_same_baseline(carol_classic_6x9):
    """Every page inside a chapter is filled to the foot of the text (packager/render/linebreaks.py,
    rule short_page; a page of dialogue that no paragraph on it can fill gets the space between its
    paragraphs, rule feather), so facing pages end together (12 of 33 spreads did not before)."""
    pages, first, openings = _body_baselines(carol_classic_6x9)
    pitch = 15.2  # classic's --line, the body's line height
    spreads = uneven = 0
    for verso in range(first + 1, len(pages) - 2, 2):
        recto = verso + 1
        if {recto, recto + 1} & openings or not all((pages[verso], pages[recto], pages[recto + 1])):
            continue  # a chapter's last page (a chapter opens on the page after it)
        spreads += 1
        difference = abs(pages[verso][-1] - pages[recto][-1]) / pitch
        assert abs(difference - round(difference)) < 0.05, f"page {verso + 1}: off the grid"
        assert round(difference) <= 1, f"pages {verso + 1}-{recto + 1} end {difference:.1f} lines apart"
        uneven += round(difference) > 0
    assert spreads > 20
    assert uneven == 0


def test_a_chapter_opening_ends_on_the_grid_of_the_pages_around_it(carol_garamond):
    """garamond's heading block (a small-caps label, an italic title, a drop cap below) is no whole
    number of lines: laid out once, every opening page ended 0.11 of a line off the full pages (rule
    opening_grid, packager/render/linebreaks.py)."""
    pages, first, openings = _body_baselines(carol_garamond)
    pitch = 15.84  # garamond's --line
    foot = max(page[-1] for index, page in enumerate(pages) if index >= first and index not in openings and page)
    checked = 0
    for index in sorted(openings):
        if index < first or index + 1 in openings or not pages[index]:
            continue
        lines = (foot - pages[index][-1]) / pitch
        assert abs(lines - round(lines)) < 0.05, f"page {index + 1} ends {lines:.2f} lines above the foot"
        checked += 1
    assert checked >= 5


def test_no_page_of_the_body_holds_fewer_than_five_lines(carol_classic_6x9):
    pages, first, _ = _body_baselines(carol_classic_6x9)
    assert all(len(lines) >= 5 for lines in pages[first:] if lines)


# 15. Scripts without a font

def test_a_script_no_installed_font_has_is_named_in_a_warning(tmp_path):
    from packager.render.scripts import covering_fonts

    story = shared("realworld", "fgo-zh-zenme-shi-indra.md")  # a story in Chinese
    result = run_packager("build", story, "--to", "pdf", "--jobs", "1", "--out-dir", tmp_path)
    warned = "no installed font has CJK letters" in result.stderr
    assert warned == (not covering_fonts("本")), result.stderr
    assert next(tmp_path.glob("*.pdf")).stat().st_size > 0


def test_a_cover_title_in_a_script_its_face_lacks_is_drawn_in_a_face_that_has_it():
    from fontTools.ttLib import TTFont

    from packager.render.cover import _face_with_letters, _font_file

    title = "كتاب الرمل"  # Arabic, which DejaVu Serif lacks and DejaVu Sans has
    face = _font_file(_face_with_letters("DejaVuSerif-Bold.ttf", title))
    with TTFont(face, lazy=True) as font:
        cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in title if not c.isspace()), face
