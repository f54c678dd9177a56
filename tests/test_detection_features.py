"""Structure detection on stories of our own: notes with and without markers, legends, overrides,
headings given twice, contents lists, parts, downloader headers; and the build options around them."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import run_packager, shared
from packager.read.sources import find_stories
from packager.report import book_to_json
from packager.story import load_story
from test_epub import epubcheck_messages

STORY = """Chapter 1: Arrival

A/N: Thanks so much for all the reviews on the last chapter! Hope you enjoy this one.

The ferry came in under a low sky, and Mira counted the gulls on the rail.

"This story is not over," said the captain, and he laughed at his own joke.

She carried her bag up the hill to the inn, past the shuttered chapel.

The innkeeper read her a story from the old chapter book of the parish.


And that's it for now! Sorry for the slow updates, life has been crazy. Please review and let me know what you think. See you next time!

Chapter 2: The Inn

She woke to rain on the shutters and the smell of bread.

By noon the rain had stopped, and the harbour shone like a plate.
"""


def write(tmp_path: Path, text: str, name: str = "story.txt", sidecar: str | None = None) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    if sidecar is not None:
        path.with_suffix(".toml").write_text(sidecar, encoding="utf-8")
    return path


def inspect(path: Path) -> dict:
    return book_to_json(load_story(find_stories(path)[0]).book)


def blocks_at(data: dict, line: int) -> list[dict]:
    return [b for c in data["chapters"] for b in c["blocks"] if b["lines"][0] <= line <= b["lines"][1]] + \
        [b for b in data["front_matter"] if b["lines"][0] <= line <= b["lines"][1]]


def kind_at(data: dict, line: int) -> str:
    return blocks_at(data, line)[0]["kind"]


def test_a_closing_note_without_a_marker_is_found_by_what_it_says_and_where_it_stands(tmp_path):
    data = inspect(write(tmp_path, STORY))
    closing = blocks_at(data, 14)[0]
    assert closing["kind"] == "note" and closing["rule"] == "edge_content"
    assert closing["confidence"] >= 0.8
    assert kind_at(data, 3) == "note"  # the marked opening note


def test_story_paragraphs_that_mention_stories_and_chapters_stay_story(tmp_path):
    data = inspect(write(tmp_path, STORY))
    for line in (5, 7, 9, 11):
        assert kind_at(data, line) == "paragraph", line


def test_a_formatting_legend_belongs_to_the_note_beside_it(tmp_path):
    text = ('Chapter 1\n\n"Speech"\n\n\'Thoughts\'\n\nHope you enjoy the new chapter, thanks for the reviews!\n\n\n'
            "The wind rose over the dunes.\n\nShe ran.\n\nHe followed.\n")
    data = inspect(write(tmp_path, text))
    note = blocks_at(data, 3)[0]
    assert note["kind"] == "note" and note["rule"] == "formatting_legend"
    assert note["lines"] == [3, 7]  # legend and note: one note block
    assert kind_at(data, 10) == "paragraph"


def test_an_uncertain_note_is_kept_and_listed_with_its_reason(tmp_path):
    text = "Chapter 1\n\nThe fog came down.\n\nShe waited.\n\nHe came back.\n\nI hope the plot makes sense so far, I was writing this chapter late at night.\n"
    data = inspect(write(tmp_path, text))
    block = blocks_at(data, 9)[0]
    assert block["kind"] == "paragraph" and block["rule"] == "possible_note"
    assert block["confidence"] < 0.8 and "plot" in block["reason"]


def test_strip_keeps_uncertain_notes(tmp_path):
    text = "Chapter 1\n\nThe fog came down.\n\nShe waited.\n\nHe came back.\n\nI hope the plot makes sense so far, I was writing this chapter late at night.\n"
    story = write(tmp_path, text)
    run_packager("build", story, "--to", "epub", "--notes", "strip", "--out-dir", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / "story.epub") as archive:
        assert "plot makes sense" in archive.read("EPUB/chapter-001.xhtml").decode()


def test_time_skips_and_story_closers_are_never_notes(tmp_path):
    text = ("Chapter 1\n\nShe left.\n\nHe stayed.\n\nThey wrote.\n\n\nA few days later...\n\nThe letter came.\n\n\n"
            "To be continued . . .\n")
    data = inspect(write(tmp_path, text))
    assert kind_at(data, 10) == "paragraph" and kind_at(data, 15) == "paragraph"


def test_a_heading_given_twice_is_one_heading(tmp_path):
    text = ("Chapter 1: The Beginning\n\nIt began.\n\nIt went on.\n\n2. The Middle\n\nChapter 2: The Middle\n\n"
            "It went on more.\n")
    data = inspect(write(tmp_path, text))
    assert [(c["number"], c["title"]) for c in data["chapters"]] == [(1, "The Beginning"), (2, "The Middle")]
    assert data["chapters"][1]["blocks"][0]["lines"] == [7, 9]


def test_a_contents_list_is_front_matter_not_empty_chapters(tmp_path):
    text = ("Contents\n\nChapter 1: Salt\nChapter 2: Stone\nChapter 3: Sky\n\n\nChapter 1: Salt\n\nA.\n\nB.\n\n"
            "Chapter 2: Stone\n\nC.\n\nChapter 3: Sky\n\nD.\n")
    data = inspect(write(tmp_path, text))
    assert [c["lines"][0] for c in data["chapters"]] == [8, 14, 18]


def test_parts_group_chapters_whose_numbers_restart(tmp_path):
    text = ("Part One\n\nChapter 1\n\nA.\n\nChapter 2\n\nB.\n\nPart Two\n\nChapter 1\n\nC.\n\nChapter 2\n\nD.\n")
    data = inspect(write(tmp_path, text))
    assert [(c["part"], c["number"]) for c in data["chapters"]] == [
        ("Part One", 1), ("Part One", 2), ("Part Two", 1), ("Part Two", 2)]


def test_a_story_starting_at_chapter_seven_keeps_its_numbers(tmp_path):
    data = inspect(write(tmp_path, "Chapter 7\n\nA.\n\nChapter 8\n\nB.\n"))
    assert [c["number"] for c in data["chapters"]] == [7, 8]


def test_a_downloader_header_is_metadata(tmp_path):
    text = ("The Long Road\nby Wanderer42\n\nCategory: Books\nGenre: Adventure, Drama\nLanguage: English\n"
            "Status: Complete\nPublished: 2019-04-01\nUpdated: 2020-02-02\nRating: T\nChapters: 1\n"
            "Story URL: https://example.org/s/1\nSummary: Two travellers and a map.\n\nChapter 1\n\nThey walked.\n")
    data = inspect(write(tmp_path, text))
    assert (data["title"], data["author"]) == ("The Long Road", "Wanderer42")
    assert all(b["kind"] == "metadata" for b in data["front_matter"])
    story = load_story(find_stories(tmp_path / "story.txt")[0])
    assert story.book.metadata.description == "Two travellers and a map."
    assert story.book.metadata.subjects == ["Adventure", "Drama"]
    assert story.book.metadata.source == "https://example.org/s/1"


def test_sidecar_overrides_headings_notes_and_rules(tmp_path):
    text = ("Part the First\n\nShe sailed.\n\nHe waited.\n\nThanks to everyone who voted in the poll.\n\n"
            "Part the Second\n\nNote: the rope held, she wrote.\n\nThe rope held.\n")
    sidecar = ('[detect]\nheading_patterns = ["^Part the (?P<title>\\\\w+)$"]\nnote_patterns = ["^Thanks to"]\n'
               'never_note_patterns = ["^Note: the rope"]\nchapter_titles = { 2 = "The Second Voyage" }\n')
    data = inspect(write(tmp_path, text, sidecar=sidecar))
    assert [c["title"] for c in data["chapters"]] == ["First", "The Second Voyage"]
    assert blocks_at(data, 7)[0]["rule"] == "sidecar_note_pattern"
    assert kind_at(data, 11) == "paragraph"


def test_sidecar_can_turn_a_rule_off_and_warns_of_unknown_rules(tmp_path):
    text = "Chapter 1\n\nA.\n\n\nB.\n\nC.\n\nD.\n"
    assert any(b["kind"] == "scene_break" for b in inspect(write(tmp_path, text))["chapters"][0]["blocks"])
    story = write(tmp_path, text, sidecar='[detect]\ndisable = ["blank_gap", "no_such_rule"]\n')
    loaded = load_story(find_stories(story)[0])
    assert not any(b.kind == "scene_break" for b in loaded.book.chapters[0].blocks)
    assert any("no_such_rule" in w for w in loaded.warnings)


def test_inspect_names_the_rule_behind_every_heading_and_note():
    data = json.loads(run_packager("inspect", shared("seeds", "003_c873871c6bd971e6.txt"), "--json").stdout)
    heading = data["chapters"][0]["blocks"][0]
    assert heading["rule"] == "numbered_heading+title_on_next_line"
    notes = [b for b in data["chapters"][0]["blocks"] if b["kind"] == "note"]
    assert notes and all(b["rule"] and b["reason"] and b["confidence"] for b in notes)
    tree = run_packager("inspect", shared("seeds", "003_c873871c6bd971e6.txt")).stdout
    assert "edge_content" in tree and "explicit_marker" in tree


@pytest.mark.slow
def test_endnotes_link_both_ways_and_pass_epubcheck(tmp_path):
    run_packager("build", shared("seeds", "003_c873871c6bd971e6.txt"), "--to", "epub", "--notes", "endnotes",
                 "--out-dir", tmp_path)
    book = tmp_path / "naruto-the-return-of-darkness.epub"
    assert epubcheck_messages(book) == []
    with zipfile.ZipFile(book) as archive:
        chapter = etree.fromstring(archive.read("EPUB/chapter-001.xhtml"))
        notes = etree.fromstring(archive.read("EPUB/endnotes.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    refs = chapter.xpath("//x:a[@class='noteref']", namespaces=ns)
    # before the story: the disclaimer, the legend and the note (one note, one endnote); the closing note
    assert len(refs) == 3
    ids = set(notes.xpath("//@id"))
    chapter_ids = set(chapter.xpath("//@id"))
    for ref in refs:
        assert ref.get("href").split("#")[1] in ids
        assert ref.get("{http://www.idpf.org/2007/ops}type") == "noteref"
    backs = notes.xpath("//x:a[@class='backlink']", namespaces=ns)
    assert len(backs) == len(refs)
    assert all(b.get("href").split("#")[1] in chapter_ids for b in backs)
    text = " ".join(notes.itertext())
    assert "Hope you enjoy" in text and "See you next time" in text


@pytest.mark.slow
def test_gutenberg_licence_is_left_out_unless_kept(tmp_path):
    book = shared("corpus", "gutenberg", "a-christmas-carol.txt")
    run_packager("build", book, "--to", "epub", "--out-dir", tmp_path / "a")
    run_packager("build", book, "--to", "epub", "--keep-licence", "--out-dir", tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "a" / "a-christmas-carol.epub") as archive:
        assert not any("licence" in n for n in archive.namelist())
        assert "Project Gutenberg License" not in " ".join(archive.read(n).decode() for n in archive.namelist()
                                                           if n.endswith(".xhtml"))
    with zipfile.ZipFile(tmp_path / "b" / "a-christmas-carol.epub") as archive:
        assert "Project Gutenberg" in archive.read("EPUB/licence.xhtml").decode()


def test_scene_break_ornament_can_be_chosen(tmp_path):
    story = shared("seeds", "004_01959ef59ffa0e27.txt")
    run_packager("build", story, "--to", "epub", "--scene-break", "~ o ~", "--out-dir", tmp_path)
    with zipfile.ZipFile(next(tmp_path.glob("*.epub"))) as archive:
        chapters = "".join(archive.read(n).decode() for n in archive.namelist() if "chapter-" in n)
    assert '<p class="scene-break" role="separator" aria-label="Scene break">~ o ~</p>' in chapters


@pytest.mark.slow
def test_smart_typography_can_be_turned_off(tmp_path):
    story = write(tmp_path, 'Chapter 1\n\n"It\'s late -- isn\'t it..." she said.\n\nYes.\n')
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "on")
    run_packager("build", story, "--to", "epub", "--no-smart-typography", "--out-dir", tmp_path / "off")
    # the text without its markup: the chapter's first words sit in a lead-in <span>
    read = lambda d: re.sub(r"<[^>]+>", "", zipfile.ZipFile(d / "story.epub").read("EPUB/chapter-001.xhtml").decode())
    assert "\u201cIt\u2019s late \u2014 isn\u2019t it\u2026\u201d" in read(tmp_path / "on")
    assert "&#34;It's late -- isn't it...&#34;" in read(tmp_path / "off") or \
        "\"It's late -- isn't it...\"" in read(tmp_path / "off")
