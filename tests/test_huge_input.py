"""Huge input at a bounded cost, as a specification: a run of combining marks keeps at most 30 on a
character (`combining_marks`) with one warning giving the count removed; a paragraph too long to lay
out whole is cut, for the PDF only, into consecutive paragraphs that print as one (no indent, its
last lines justified) with every word kept in order. The full-size inputs (2,000,000 marks, a 5 MB
paragraph, 500,000 one-word lines) are timed by benchmarks/bench_hostile.py, not here."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import shared
from test_bad_input import build, warnings_in, words

from packager.model import Block, Span
from packager.render.paragraphs import PARAGRAPH_CHARACTERS, cut_paragraph
from packager.transform.marks import MAX_MARKS, cap_marks

ACUTE = "\u0301"


def war_and_peace_text(characters: int) -> str:
    """Paragraphs of War and Peace joined by spaces into one paragraph of at least `characters`."""
    text = shared("corpus", "gutenberg", "war-and-peace.txt").read_text(encoding="utf-8-sig")
    body = text[text.index("BOOK ONE: 1805"):text.index("*** END OF THIS PROJECT GUTENBERG")]
    joined = ""
    for paragraph in (" ".join(block.split()) for block in body.split("\n\n")):
        if len(paragraph) > 200:
            joined += paragraph + " "
            if len(joined) > characters:
                break
    return joined.strip()


def epub_text(epub: Path) -> str:
    with zipfile.ZipFile(epub) as archive:
        names = sorted(n for n in archive.namelist() if re.search(r"chapter-\d+\.xhtml$", n))
        return " ".join(" ".join(etree.fromstring(archive.read(n)).itertext()) for n in names)


# --- combining marks ------------------------------------------------------------------------------

def test_a_letter_under_a_thousand_marks_keeps_thirty_and_the_build_warns_once_with_the_count(tmp_path):
    (tmp_path / "zalgo.txt").write_text(
        "Zalgo\n\nChapter 1\n\nHe comes: Z" + ACUTE * 1000 + "algo, and o" + ACUTE * 40 + "nce more.\n",
        encoding="utf-8")
    result = build(tmp_path, "zalgo.txt")
    assert result.returncode == 0, result.stderr
    marks = [w for w in warnings_in(result) if "combining marks" in w]
    assert marks == [f"warning: zalgo.txt: 980 combining marks removed, more than {MAX_MARKS} on one "
                     f"character (combining_marks)"]
    [epub] = (tmp_path / "out").glob("*.epub")
    text = epub_text(epub)
    assert "Z" + ACUTE * MAX_MARKS + "algo" in text and "o" + ACUTE * MAX_MARKS + "nce" in text


@pytest.mark.parametrize("text", [
    "Ti\u00ea\u0301ng Vi\u00ea\u0323t",  # Vietnamese, decomposed: two marks on a letter
    "\u05d1\u05bc\u05b0\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u0596\u05d9\u05ea",  # Hebrew with points and accents
    "\u0915\u094d\u0937\u093f\u0924\u093f\u0902",  # Devanagari vowel signs
    "\u0f66\u0f92\u0fb2\u0f74\u0f56",  # Tibetan stacks
])
def test_the_marks_of_real_scripts_are_left_alone(text):
    assert cap_marks(text) == (text, 0)


def test_a_run_of_exactly_thirty_marks_is_kept_and_one_more_is_removed():
    assert cap_marks("a" + ACUTE * 30) == ("a" + ACUTE * 30, 0)
    assert cap_marks("a" + ACUTE * 31 + "b" + ACUTE * 31) == ("a" + ACUTE * 30 + "b" + ACUTE * 30, 2)


# --- paragraphs cut for the PDF -------------------------------------------------------------------

def test_a_paragraph_too_long_to_lay_out_whole_is_cut_at_sentence_ends_and_nothing_is_lost():
    text = war_and_peace_text(3 * PARAGRAPH_CHARACTERS)
    pieces = cut_paragraph(Block("paragraph", (5, 5), text, spans=[Span(text)]))
    assert len(pieces) == 4
    assert all(len(p.text) <= PARAGRAPH_CHARACTERS for p in pieces)
    assert all(re.search(r"[.!?…][\"'”’»)\]]*$", p.text) for p in pieces[:-1])
    assert " ".join(p.text for p in pieces) == text
    assert [(p.runs_on, p.continues) for p in pieces] == [(True, False), (True, True), (True, True), (False, True)]
    assert {p.lines for p in pieces} == {(5, 5)}


def test_a_paragraph_no_longer_than_a_piece_is_left_whole():
    text = war_and_peace_text(PARAGRAPH_CHARACTERS)[:PARAGRAPH_CHARACTERS]
    block = Block("paragraph", (1, 1), text)
    assert cut_paragraph(block) == [block]


def test_emphasis_running_across_a_cut_stays_emphasis_on_both_sides():
    text = war_and_peace_text(PARAGRAPH_CHARACTERS + 10_000)[:PARAGRAPH_CHARACTERS + 9000].rsplit(" ", 1)[0]
    middle = PARAGRAPH_CHARACTERS - 3000  # the italic span runs over where the piece ends
    spans = [Span(text[:middle]), Span(text[middle:middle + 6000], italic=True), Span(text[middle + 6000:])]
    first, second = cut_paragraph(Block("paragraph", (1, 1), text, spans=spans))
    assert first.spans[-1].italic and second.spans[0].italic
    assert [s.italic for s in first.spans] == [False, True] and [s.italic for s in second.spans] == [True, False]
    assert first.text + " " + second.text == text


def test_a_word_longer_than_a_piece_is_cut_between_letters_never_before_a_mark():
    word = ("e" + ACUTE) * PARAGRAPH_CHARACTERS  # no space anywhere: 40,000 characters
    pieces = cut_paragraph(Block("paragraph", (1, 1), word))
    assert "".join(p.text for p in pieces) == word
    assert all(p.text.startswith("e") and len(p.text) <= PARAGRAPH_CHARACTERS for p in pieces)


@pytest.fixture(scope="module")
def long_paragraph_pdf(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("long-paragraph")
    text = war_and_peace_text(int(2.2 * PARAGRAPH_CHARACTERS))
    (folder / "long.txt").write_text(f"The Long Paragraph\n\nChapter 1\n\n{text}\n\nA short one after it.\n",
                                     encoding="utf-8")
    result = build(folder, "long.txt", "--jobs", "1", to="pdf")
    assert result.returncode == 0, result.stderr
    [pdf] = (folder / "out").glob("*.pdf")
    return pdf, text


def pdf_words(pdf: Path) -> list[str]:
    """The words the PDF prints, without its running heads and page numbers, a word hyphenated at
    the end of a line (or a page: WeasyPrint breaks with U+2010) joined again."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for page in text.split("\f") for line in page.splitlines()]
    kept = [line for line in lines
            if line and not re.fullmatch(r"\d+|[ivxlc]+|chapter 1|the long paragraph", line.lower())]
    return hyphens_joined(re.sub(r"(\w)\u2010\n(\w)", r"\1\2", "\n".join(kept)))


def hyphens_joined(text: str) -> list[str]:
    """The words of `text`, a hyphenated word as one (pdftotext joins one broken at its hyphen)."""
    return words(text.replace("-", ""))


@pytest.mark.slow
def test_every_word_of_a_cut_paragraph_is_printed_in_order(long_paragraph_pdf):
    pdf, text = long_paragraph_pdf
    expected, printed = hyphens_joined(text), pdf_words(pdf)
    start = printed.index(expected[0])
    assert printed[start:start + len(expected)] == expected


def page_lines(pdf: Path, page: int) -> list[list[tuple[float, float, str]]]:
    """The page's lines as pdftotext -bbox-layout gives them: each a list of (xMin, xMax, word)."""
    html = subprocess.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    root = etree.fromstring(html.encode("utf-8"), etree.HTMLParser())
    return [[(float(w.get("xmin")), float(w.get("xmax")), w.text or "") for w in line.iter("word")]
            for line in root.iter("line")]


@pytest.mark.slow
def test_a_cut_paragraph_prints_as_one_its_cut_line_justified_and_the_next_not_indented(long_paragraph_pdf):
    pdf, text = long_paragraph_pdf
    first = cut_paragraph(Block("paragraph", (1, 1), text))[0]
    last_word, next_word = first.text.split()[-1], text[len(first.text):].split()[0]
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    page = next(n for n, t in enumerate(pages.split("\f"), 1) if f"{last_word}\n{next_word}" in t)
    lines = [line for line in page_lines(pdf, page) if len(line) > 3]  # the text's lines, not the head
    left, right = min(line[0][0] for line in lines), max(line[-1][1] for line in lines)
    cut = next(i for i, line in enumerate(lines) if line[-1][2] == last_word and lines[i + 1][0][2] == next_word)
    assert lines[cut][-1][1] == pytest.approx(right, abs=0.5)  # justified to the right margin
    assert lines[cut + 1][0][0] == pytest.approx(left, abs=0.5)  # no indent


# --- Ctrl-C -----------------------------------------------------------------------------------------

def in_a_fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


def test_ctrl_c_stays_held_while_a_pool_starts_though_starting_the_resource_tracker_unblocks_it():
    assert in_a_fresh_python(
        "import signal\n"
        "from multiprocessing import resource_tracker\n"
        "from packager.processes import fork_server_started\n"
        "with fork_server_started():\n"
        "    resource_tracker.ensure_running()  # what a pool's first process start does\n"
        "    print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))\n") == "True"


def test_a_ctrl_c_a_library_swallowed_still_stops_the_build():
    assert in_a_fresh_python(
        "import os, signal\n"
        "from packager.processes import raise_if_stopped, request_stop\n"
        "signal.signal(signal.SIGINT, request_stop)\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    for _ in range(10**6): pass\n"
        "except BaseException:  # as WeasyPrint does around an SVG drawing\n"
        "    pass\n"
        "try:\n"
        "    raise_if_stopped()\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n") == "stopped"
