"""Each detection and typography rule on real lines (from ../shared) and lines of our own."""

from __future__ import annotations

import pytest

from packager.detect.breaks import symbol_line
from packager.detect.frontmatter import by_line, dateline, story_closer, title_line
from packager.detect.headings import bare_numeral, markdown_heading, match_heading, named_section, numbered_heading
from packager.detect.notes import explicit_marker
from packager.detect.numbers import parse_number
from packager.model import Span
from packager.transform.emphasis import parse_emphasis
from packager.transform.typography import smarten


@pytest.mark.parametrize("text, number", [
    ("7", 7), ("VII", 7), ("xiv", 14), ("Seven", 7), ("Twenty-Three", 23), ("twenty three", 23),
    ("One", 1), ("hundred", 100), ("MMXXIV", 2024),
])
def test_numbers_in_digits_roman_numerals_and_words(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["Civil", "Mix!", "fish", "IIII", ""])
def test_words_that_are_not_numbers(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("line, label, number, title", [
    ("Chapter 1: The First Kiss", "Chapter 1", 1, "The First Kiss"),       # seed 000
    ("Chapter One", "Chapter One", 1, None),                                 # seed 001
    ("Chapter 7", "Chapter 7", 7, None),                                     # seed 003
    ("STAVE I:  MARLEY'S GHOST", "STAVE I", 1, "MARLEY'S GHOST"),            # A Christmas Carol
    ("ADVENTURE I. A SCANDAL IN BOHEMIA", "ADVENTURE I", 1, "A SCANDAL IN BOHEMIA"),
    ("CHAPTER XIII", "CHAPTER XIII", 13, None),                              # War and Peace
    ("Chapter 12 - The Return", "Chapter 12", 12, "The Return"),
    ("Ch. 4 - Old Friends", "Ch. 4", 4, "Old Friends"),
    ("CHAPTER IV.", "CHAPTER IV", 4, None),
    ("Chapter Twenty-Three: Ashes", "Chapter Twenty-Three", 23, "Ashes"),
])
def test_numbered_headings(line, label, number, title):
    match = numbered_heading(line)
    assert (match.label, match.number, match.title, match.level) == (label, number, title, "chapter")


def test_book_and_part_headings_are_parts():
    match = numbered_heading("BOOK ONE: 1805")
    assert (match.level, match.number, match.title) == ("part", 1, "1805")
    assert numbered_heading("Part Two").level == "part"


@pytest.mark.parametrize("line", [
    "Chapter 1 was the best part of the book.", "Part of me wanted to stay.", "Book one of the set was lost.",
    "Chaptered and versed", "Chapter", "Chapter Civil",
])
def test_sentences_that_start_like_headings_are_not_headings(line):
    assert numbered_heading(line) is None


@pytest.mark.parametrize("line, label, title, level", [
    ("Prologue", "Prologue", "Prologue", "chapter"),  # a section's name is its title (realworld labels)
    ("Epilogue: Breakfast and Bonding", "Epilogue", "Breakfast and Bonding", "chapter"),  # CC0 story
    ("SECOND EPILOGUE", "SECOND EPILOGUE", "SECOND EPILOGUE", "chapter"),                 # War and Peace
    ("PREFACE", "PREFACE", "PREFACE", "front"),                                           # A Christmas Carol
    ("Omake - The Beach Episode", "Omake", "The Beach Episode", "chapter"),
    ("Interlude II:", "Interlude II", "Interlude II", "chapter"),  # its own series' index, not a title
    ("**Interlude III**", None, None, None),  # wrapped: read by match_heading, below
])
def test_named_sections(line, label, title, level):
    match = named_section(line)
    if label is None:
        assert match is None
        return
    assert (match.label, match.title, match.level) == (label, title, level)


def test_epilogue_in_a_sentence_is_not_a_heading():
    assert named_section("Epilogue is what he called the last chapter.") is None


def test_markdown_headings_keep_their_number_and_title():
    assert markdown_heading("# Announce & Ask").title == "Announce & Ask"
    match = markdown_heading("## Chapter 3: The Storm")
    assert (match.number, match.title, match.family) == (3, "The Storm", "markdown:2")


@pytest.mark.parametrize("line, number, title", [("IV.", 4, None), ("12", 12, None),
                                                 ("VII. THE ADVENTURE OF THE BLUE CARBUNCLE", 7,
                                                  "THE ADVENTURE OF THE BLUE CARBUNCLE"), ("3. Homecoming", 3, "Homecoming")])
def test_bare_numerals(line, number, title):
    match = bare_numeral(line)
    assert (match.number, match.title) == (number, title)


@pytest.mark.parametrize("line", ["I am here.", "1999", "3. He went to the shop, bought milk, and left.", "0."])
def test_lines_that_are_not_bare_numerals(line):
    assert bare_numeral(line) is None


def test_long_lines_are_never_headings():
    assert match_heading("Chapter 1: " + "very " * 30 + "long") is None


@pytest.mark.parametrize("line", ["* * *", "***", "~~~~", "xXx", "XxXxX", "oOo", "o-o-o", "-----", "###", "+++",
                                  "8*8*8*8", "*-*-*", "\u2014" * 10, "\u00a0\u00a0", "   ***   "])
def test_scene_break_symbol_lines(line):
    assert symbol_line(line)


@pytest.mark.parametrize("line", ["...", ". . .", "xxx", "ooo", "1999", "3-2", "Hello", "", "**bold**", "\"...\""])
def test_lines_that_are_not_scene_breaks(line):
    assert not symbol_line(line)


@pytest.mark.parametrize("line, kind", [
    ("Author's Note: I do not own Naruto nor do I profit from my writing.", "author_note"),  # seed 000
    ("Disclaimer: I do not own Naruto.", "disclaimer"),                                      # seed 003
    ("A/N: Thanks for reading!", "author_note"), ("AN: Sorry for the wait.", "author_note"),
    ("**A/N:** Thanks to my beta!", "author_note"), ("[A/N: Short chapter, sorry.]", "author_note"),
    ("Note: this chapter was edited.", "author_note"),
])
def test_explicit_note_markers(line, kind):
    assert explicit_marker(line).note_kind == kind


@pytest.mark.parametrize("line", ["An apple fell.", "Anna said no.", "Notes were passed in class.",
                                  "Noted, she thought.", "To be continued . . ."])
def test_story_lines_that_are_not_notes(line):
    assert explicit_marker(line) is None


@pytest.mark.parametrize("line", ["7 Years Ago: Konohagakure", "Present Day: Konohagakure", "A few days later...",
                                  "Some time later...", "The next morning", "Later that night..."])
def test_datelines(line):
    assert dateline(line)


@pytest.mark.parametrize("line", ["The next morning, he woke up.", "Walk With Me", "Three years later, he was closer"])
def test_sentences_are_not_datelines(line):
    assert not dateline(line)


@pytest.mark.parametrize("line", ["The End", "To be continued . . .", "Fin", "TBC", "End of Chapter Seven"])
def test_story_closers(line):
    assert story_closer(line)


@pytest.mark.parametrize("line, expected", [
    ("Walk With Me", True), ("Naruto: The Return of Darkness", True), ("7 Years Ago: Konohagakure", False),
    ("Sasuke sighed", False), ("He ran.", False), ('"Run!"', False),
])
def test_title_lines(line, expected):
    assert title_line(line) is expected


def test_by_line_gives_the_author():
    assert by_line("by Maren Holloway") == "Maren Holloway"
    assert by_line("by the sea, she waited.") is None


@pytest.mark.parametrize("text, expected", [
    ('"Hello," she said.', "\u201cHello,\u201d she said."),
    ("'Tis the season", "\u2019Tis the season"),
    ("back in the '90s", "back in the \u201990s"),
    ("rock 'n' roll", "rock \u2019n\u2019 roll"),
    ("don't", "don\u2019t"),
    ("'Quoted' words", "\u2018Quoted\u2019 words"),
    ("the boys' toys", "the boys\u2019 toys"),
    ("wait -- what", "wait \u2014 what"),
    ("pages 10--12", "pages 10\u201312"),
    ("and then...", "and then\u2026"),
    ("To be continued . . .", "To be continued \u2026"),
    ('"I don\'t know what to say to such munifi--"', "\u201cI don\u2019t know what to say to such munifi\u2014\u201d"),
    ('"I know..Kakashi-" Naruto wanted', "\u201cI know..Kakashi-\u201d Naruto wanted"),
    ("He said--\"Run!\"", "He said\u2014\u201cRun!\u201d"),
    ("upon 'Change, for anything", "upon \u2019Change, for anything"),
    ("for instance-- literally to astonish", "for instance\u2014literally to astonish"),
    ("for instance\u2014 literally", "for instance\u2014literally"),
])
def test_smart_typography(text, expected):
    assert smarten(text) == expected


@pytest.mark.parametrize("text, spans", [
    ("She was _very_ sure", [Span("She was "), Span("very", italic=True), Span(" sure")]),
    ("*Whole line thought.*", [Span("Whole line thought.", italic=True)]),
    ("**Bold** move", [Span("Bold", bold=True), Span(" move")]),
    ("a /slashed/ word", [Span("a "), Span("slashed", italic=True), Span(" word")]),
    ("**bold *and italic***", [Span("bold ", bold=True), Span("and italic", italic=True, bold=True)]),
])
def test_emphasis(text, spans):
    assert parse_emphasis(text) == spans


@pytest.mark.parametrize("text", ["f*ck", "5 * 3 = 15", "d*mn it", "snake_case_name", "and/or", "http://a.b/c/d",
                                  "1/2 cup", "* not closed"])
def test_stray_marks_are_not_emphasis(text):
    assert parse_emphasis(text) == [Span(text)]


@pytest.mark.parametrize("mark", ["*", "_", "/", "**", "__", "*_", "_*/"])
def test_a_long_run_of_emphasis_marks_keeps_its_text_without_overflowing_the_stack(mark):
    """Thousands of marks around a word nested emphasis once per pair of marks, until Python's stack
    ran out (RecursionError, a crash on a line a downloader can write)."""
    text = mark * 3000 + "x" + mark * 3000
    spans = parse_emphasis(text)
    assert "x" in "".join(span.text for span in spans)


def test_emphasis_takes_linear_time_on_a_chapter_long_paragraph():
    """A paragraph of 20,000 emphasised words took 145 s (each search scanned the rest of the
    paragraph again), and 20,000 unclosed `**` 25 s; both are a single pass now."""
    import time

    start = time.perf_counter()
    spans = parse_emphasis("*word* " * 20_000)
    unclosed = parse_emphasis("**open " * 20_000 + "__also " * 20_000)
    assert time.perf_counter() - start < 10
    assert len([s for s in spans if s.italic]) == 20_000
    assert unclosed == [Span("**open " * 20_000 + "__also " * 20_000)]
