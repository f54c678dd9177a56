"""Reading the stories people actually have (issue 11): the realworld scores, and each shape the
reader now understands, on real files from ../shared and on stories of our own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, inspect_json, run_packager, shared
from packager.read.sources import find_stories
from packager.story import load_story

FANFICFARE = ROOT / "tests" / "data" / "fanficfare"

# The targets of issue 11 on ../shared/realworld, measured with the shared scorer.
TARGETS = {"exact_count": 29, "boundary_f1": 0.98, "chapter_titles": 328, "note_recall": 0.90,
           "note_precision": 0.95, "book_titles": 23}


def write(tmp_path: Path, text: str, name: str = "story.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def chapters(data: dict) -> list[tuple]:
    return [(c["number"], c["title"]) for c in data["chapters"]]


def notes(data: dict) -> list[dict]:
    return [b for b in data["front_matter"] + [b for c in data["chapters"] for b in c["blocks"]]
            if b["kind"] == "note"]


@pytest.mark.slow
def test_the_realworld_scores_meet_the_targets():
    packager = shutil.which("packager") or pytest.fail("the packager command is not installed")
    result = subprocess.run([sys.executable, str(shared("tools", "score_inspect.py")), packager,
                             str(shared("realworld", "labels.json")), str(shared("realworld"))],
                            capture_output=True, text=True, timeout=1200)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["errors"] == 0 and figures["story_lines_lost"] == 0
    assert figures["exact_count"] >= TARGETS["exact_count"]
    assert figures["boundary_f1"] >= TARGETS["boundary_f1"]
    assert int(figures["chapter_titles"].split("/")[0]) >= TARGETS["chapter_titles"]
    assert figures["note_recall"] >= TARGETS["note_recall"]
    assert figures["note_precision"] >= TARGETS["note_precision"]
    assert int(figures["book_titles"].split("/")[0]) >= TARGETS["book_titles"]


# --- AO3 downloads flattened to text ------------------------------------------------------------

def test_an_ao3_export_has_the_chapters_its_stats_state_with_their_bare_titles():
    data = inspect_json(shared("realworld", "ao3gpt2-make-you-need-me.txt"))
    assert len(data["chapters"]) == 10  # `Chapters: 10/10`
    assert [c["title"] for c in data["chapters"]][:3] == \
        ["Little Lost Senator", "The Proposal", "Unstoppable Forces, Immovable Objects"]
    assert (data["title"], data["author"]) == ("Make You Need Me", "the_many_splendored")


def test_ao3s_section_labels_open_notes_and_the_afterword_is_not_story():
    data = inspect_json(shared("realworld", "ao3gpt2-little-fall-of-rain.txt"))
    first = data["chapters"][0]
    assert [b["kind"] for b in first["blocks"][:2]] == ["heading", "note"]  # Chapter Notes + pointer
    end_notes = [b for b in first["blocks"] if b["kind"] == "note" and b["lines"][0] == 70]
    assert end_notes and end_notes[0]["lines"] == [70, 71]  # `Chapter End Notes` and its text: one note
    assert all(c["lines"][1] < 187 for c in data["chapters"])  # `Afterword`: AO3's closing page


def test_the_authors_own_heading_under_ao3s_titles_the_chapter():
    data = inspect_json(shared("realworld", "ao3gpt2-stuck-with-you-24h.txt"))
    assert chapters(data)[16] == (17, "Epilogue")  # `Chapter 17`, notes, `Chapter 17 (Epilogue)`
    assert len(data["chapters"]) == 20


def test_a_chapter_that_is_all_note_is_one_note():
    data = inspect_json(shared("realworld", "ao3gpt2-stuck-with-you-24h.txt"))
    eggs = next(c for c in data["chapters"] if c["title"] == "Easter Eggs")
    assert [b["kind"] for b in eggs["blocks"]] == ["heading", "note"]


# --- headings as pasted pages write them --------------------------------------------------------

def test_markdown_headings_without_a_space_and_centred_are_chapters():
    data = inspect_json(shared("realworld", "rentry-pmd-reunion.md"))
    assert chapters(data) == [(1, "Dream"), (2, "Adventure"), (3, "Waves"), (4, "Reunion"), (5, "Returning Home")]
    assert data["title"] == "Reunion"


@pytest.mark.slow
def test_the_story_title_and_by_line_repeated_above_every_chapter_are_its_heading():
    data = inspect_json(shared("realworld", "beira-aci100-cop.md"))
    assert len(data["chapters"]) == 39
    assert chapters(data)[0] == (1, "Ruptured Realities")
    assert (data["title"], data["author"]) == ("Harry Potter and the Conjoining of Paragons", "ACI100")
    second = data["chapters"][1]
    assert second["blocks"][0]["kind"] == "heading" and second["blocks"][0]["lines"][0] == 457


def test_the_last_line_of_an_end_note_stays_with_the_note_not_the_next_heading(tmp_path):
    # AO3 text: an end note's lines sit together, then a gap, then the next chapter's bare title. The
    # line that closes every end note ("Not beta'd.") is repeated above headings, yet set tight to the
    # note above it: it is the note's, not a page header of the next chapter.
    story = ("Chapter 1\n\nShe walked to the harbour and waited for the boats.\n\n"
             "A/N: thanks for reading!\nNot beta'd.\n\n\nChapter 2\n\n"
             "The boats came in at dusk, low in the water.\n\n"
             "A/N: more soon.\nNot beta'd.\n\n\nChapter 3\n\nThe end of the season.\n")
    data = inspect_json(write(tmp_path, story))
    assert [c["lines"][0] for c in data["chapters"]] == [1, 9, 17]
    assert [n["lines"] for n in notes(data)] == [[5, 6], [13, 14]]


@pytest.mark.slow
def test_ao3_end_notes_keep_their_closing_line():
    data = inspect_json(shared("realworld", "ao3gpt2-afterwards.txt"))
    blur = next(c for c in data["chapters"] if c["title"] == "The Blur")
    assert blur["lines"][0] == 115  # the title, not "Not beta'd or Brit picked." at 112
    assert any(n["lines"][0] <= 112 <= n["lines"][1] for n in notes(data))


@pytest.mark.slow
def test_a_bold_endnote_runs_to_the_chapters_end_as_one_note():
    data = inspect_json(shared("realworld", "beira-aci100-cop.md"))
    last = data["chapters"][0]["blocks"][-1]
    assert last["kind"] == "note" and last["lines"][0] == 431 and last["lines"][1] >= 455


def test_the_shallowest_repeated_markdown_level_holds_the_chapters(tmp_path):
    text = ("# The Long Year\n\n# Prologue\n\n## A Crown\n\nShe waited.\n\n## A Road\n\nHe walked.\n\n"
            "# Spring\n\nRain came.\n\n# Summer\n\nThe sun.\n")
    data = inspect_json(write(tmp_path, text, "year.md"))
    assert [c["title"] for c in data["chapters"]] == ["Prologue", "Spring", "Summer"]


def test_a_note_heading_opens_a_note_and_a_dated_heading_is_no_chapter(tmp_path):
    text = ("---\ntitle: \"Prologue: The Beginning\"\nstory: Journeys\n---\n"
            "#### Notes (on how bold is used)\n\nThis story is set up like a journal.\n\n"
            "* **Bold words = anger**\n\n#### November 8, 2000 AD\n\nI found the book today.\n\n"
            "#### April 4, 2001 AD\n\nIt is raining again.\n")
    data = inspect_json(write(tmp_path, text, "journal.md"))
    assert data["title"] == "Prologue: The Beginning"  # YAML front matter, pandoc's convention
    assert len(data["chapters"]) == 1
    assert [n["lines"] for n in notes(data)] == [[5, 9]]


def test_a_contents_list_at_the_top_names_chapters_headed_by_bare_titles(tmp_path):
    text = ("The Salt Road\n\nby Ada Quill\n\nContents\n\nThe Crossing\nThe Far Side\nWhat the River Took\n\n\n"
            "The Crossing\n\nThe river was high that spring.\n\nShe waited on the bank.\n\n\n"
            "The Far Side\n\nThe far side was quiet.\n\nNobody came.\n\n\n"
            "What the River Took\n\nIn the morning the water had gone down.\n\nShe counted what was left.\n")
    data = inspect_json(write(tmp_path, text))
    assert [c["title"] for c in data["chapters"]] == ["The Crossing", "The Far Side", "What the River Took"]
    assert all(b["kind"] == "metadata" for b in data["front_matter"])


# --- FanFicFare exports (our own stories in its text and Markdown formats) ----------------------

def test_a_fanficfare_text_export_reads_as_its_three_chapters():
    data = inspect_json(FANFICFARE / "the-tidewater-letters.txt")
    assert chapters(data) == [(1, "The Bundle"), (2, "Low Water"), (3, "What the Sea Kept")]
    assert (data["title"], data["author"]) == ("The Tidewater Letters", "Wren Alder")
    assert all(b["kind"] == "metadata" for b in data["front_matter"])  # header and contents list


def test_fanficfares_index_line_a_note_and_the_authors_heading_are_one_chapter():
    data = inspect_json(FANFICFARE / "the-tidewater-letters.txt")
    first = data["chapters"][0]
    assert first["blocks"][0]["lines"] == [37, 43]  # `\t1. The Bundle` … `Chapter 1 – The Bundle`
    assert [b["kind"] for b in first["blocks"][1:3]] == ["note", "paragraph"]
    assert first["blocks"][1]["lines"] == [39, 41]  # the note and the `* * *` fencing it off


def test_a_note_of_several_paragraphs_is_one_note():
    data = inspect_json(FANFICFARE / "the-tidewater-letters.txt")
    last = data["chapters"][2]["blocks"][-1]
    assert last["kind"] == "note" and last["lines"] == [87, 91]  # fence, A/N and its second paragraph


def test_a_fanficfare_markdown_export_reads_as_its_two_chapters():
    data = inspect_json(FANFICFARE / "the-tidewater-letters.md")
    assert chapters(data) == [(1, "The Bundle"), (2, "Low Water")]
    assert [n["lines"] for n in notes(data)] == [[15, 17], [27, 29], [41, 45]]


@pytest.mark.slow
def test_one_note_is_one_aside_in_the_epub(tmp_path):
    run_packager("build", FANFICFARE / "the-tidewater-letters.txt", "--to", "epub", "--out-dir", tmp_path)
    with zipfile.ZipFile(tmp_path / "the-tidewater-letters.epub") as epub:
        pages = [epub.read(n).decode() for n in sorted(epub.namelist()) if n.endswith(".xhtml")]
    closing = next(p for p in pages if "the end!" in p)
    asides = re.findall(r'<section class="authors-note".*?</section>', closing, re.S)
    assert len(asides) == 1 and asides[0].count("<p>") == 2


@pytest.mark.slow
def test_one_note_is_one_endnote(tmp_path):
    run_packager("build", FANFICFARE / "the-tidewater-letters.txt", "--to", "epub", "--notes", "endnotes",
                 "--out-dir", tmp_path)
    with zipfile.ZipFile(tmp_path / "the-tidewater-letters.epub") as epub:
        text = "".join(epub.read(n).decode() for n in epub.namelist() if n.endswith(".xhtml"))
    items = re.findall(r'<li class="endnote".*?</li>', text, re.S)
    assert len(items) == 4  # four notes; the last of two paragraphs, with one link back
    assert items[-1].count("<p>") == 2 and items[-1].count('role="doc-backlink"') == 1


# --- metadata and the book around the text ------------------------------------------------------

@pytest.mark.slow
def test_the_gutenberg_closing_line_is_licence_not_story():
    data = inspect_json(shared("corpus", "gutenberg", "a-christmas-carol.txt"))
    assert data["chapters"][-1]["lines"][1] < 3878
    assert data["back_matter"][0]["lines"][0] == 3878  # `End of the Project Gutenberg EBook of …`


@pytest.mark.slow
def test_capitals_are_set_in_title_case_in_the_book_and_kept_in_inspect(tmp_path):
    text = "Chapter 1: What the Fog Keeps\n\nFog.\n\nCHAPTER II. THE ADVENTURE OF THE BLUE LAMP\n\nLight.\n"
    story = write(tmp_path, text)
    assert inspect_json(story)["chapters"][1]["title"] == "THE ADVENTURE OF THE BLUE LAMP"
    run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "out", "--title", "Fog")
    with zipfile.ZipFile(tmp_path / "out" / "fog.epub") as epub:
        nav = epub.read(next(n for n in epub.namelist() if n.endswith("nav.xhtml"))).decode()
    assert "The Adventure of the Blue Lamp" in nav and "Chapter II" in nav


@pytest.mark.slow
def test_sherlocks_numeral_adventures_keep_their_numerals():
    data = inspect_json(shared("corpus", "gutenberg", "adventures-of-sherlock-holmes.txt"))
    assert [c["label"] for c in data["chapters"]][5:8] == ["ADVENTURE VI", "VII", "VIII"]


@pytest.mark.slow
def test_a_folder_of_separate_stories_is_bound_with_a_warning(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for path in sorted(shared("seeds").glob("0*.txt")):
        shutil.copy(path, folder / path.name)
    result = run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert "read as stories of their own" in result.stderr


def test_a_title_taken_from_the_file_name_is_warned_about(tmp_path):
    result = run_packager("build", write(tmp_path, "She waited.\n\nHe came back.\n", "a25887fde3ef402d.txt"),
                          "--to", "epub", "--out-dir", tmp_path / "out")
    assert "no title found in the text; using the file name" in result.stderr


# --- what stands before the first heading and after the story's last line -----------------------

def test_story_text_fenced_off_before_the_first_heading_is_an_untitled_opening_chapter(tmp_path):
    story = ("# The Harbour\n\nSummary:\n\nA keeper waits for a ship.\n\n---\n\n"
             "The morning after the storm, the beach was full of wood.\n\n"
             "She walked it end to end and counted the planks.\n\n"
             "## Day One\n\nThe ship came at noon.\n\n## Day Two\n\nIt left at dusk.\n")
    data = inspect_json(write(tmp_path, story, "story.md"))
    assert chapters(data) == [(None, None), (None, "Day One"), (None, "Day Two")]
    assert data["chapters"][0]["lines"][0] == 9
    assert data["title"] == "The Harbour"


def test_a_long_untitled_prologue_before_chapter_one_is_a_chapter_not_front_matter(tmp_path):
    prologue = "\n\n".join(f"The lamp burned through night {n}, and the sea kept its own counsel." for n in range(6))
    story = f"The Lamp\n\nby Ada Marsh\n\n{prologue}\n\nChapter 1\n\nMorning came.\n\nChapter 2\n\nNight fell.\n"
    data = inspect_json(write(tmp_path, story))
    assert [c["number"] for c in data["chapters"]] == [None, 1, 2]
    assert data["chapters"][0]["lines"][0] == 5


def test_a_short_summary_before_chapter_one_stays_front_matter(tmp_path):
    story = ("The Lamp\n\nby Ada Marsh\n\nA keeper, a storm, a ship.\n\nChapter 1\n\nMorning came.\n\n"
             "Chapter 2\n\nNight fell.\n")
    data = inspect_json(write(tmp_path, story))
    assert [c["number"] for c in data["chapters"]] == [1, 2]


def test_a_labelled_summary_fenced_off_at_the_top_of_a_story_without_headings_is_its_description(tmp_path):
    story = ("Summary：\n\nA keeper waits for a ship.\n\n---\n\nThe morning after the storm, the beach was full.\n\n"
             "She counted the planks.\n\nThe ship came at noon.\n")
    path = write(tmp_path, story)
    data = inspect_json(path)
    assert data["chapters"][0]["lines"][0] == 7
    assert data["title"] != "Summary："
    assert load_story(find_stories(path)[0]).book.metadata.description == "A keeper waits for a ship."


def test_the_notes_a_story_without_headings_opens_with_are_front_matter(tmp_path):
    story = ("Author's note: thanks to my beta reader.\n\n* * *\n\nThe morning after the storm, the beach was full.\n\n"
             "She counted the planks.\n\nThe ship came at noon.\n")
    data = inspect_json(write(tmp_path, story))
    assert [b["kind"] for b in data["front_matter"]][:1] == ["note"]
    assert data["chapters"][0]["lines"][0] == 5


def test_what_follows_the_end_is_the_authors_afterword(tmp_path):
    story = ("Chapter 1\n\nThe ship came at noon.\n\nShe waved from the lamp room.\n\nIt left at dusk.\n\n"
             "The End.\n\nI wrote this on a train, over three summers.\n\nThe lighthouse is a real one.\n")
    data = inspect_json(write(tmp_path, story))
    last = data["chapters"][-1]["blocks"][-1]
    assert last["kind"] == "note" and last["lines"] == [11, 13] and last["rule"] == "after_the_end"


def test_dialogue_after_to_be_continued_stays_story(tmp_path):
    story = ("Chapter 1\n\nThe ship came at noon.\n\nShe waved from the lamp room.\n\nIt left at dusk.\n\n"
             "To be continued...\n\n\u201cWait,\u201d she said. \u201cCome back.\u201d\n")
    data = inspect_json(write(tmp_path, story))
    assert data["chapters"][-1]["blocks"][-1]["kind"] == "paragraph"


def test_unlabelled_asides_after_tbc_and_after_the_end_are_notes():
    data = inspect_json(shared("realworld", "fgo-zh-time-travel-wip.md"))
    lines = {n for b in notes(data) for n in range(b["lines"][0], b["lines"][1] + 1)}
    assert {1116, 1120, 1432, 2590, 2764} <= lines  # `> …` asides after `TBC`, `（番外一完）`, `The End.`
    assert 1114 not in lines  # `TBC` itself is the story's


def test_a_summary_fenced_off_above_an_untitled_story_is_front_matter():
    data = inspect_json(shared("realworld", "fgo-zh-zenme-shi-indra.md"))
    assert data["chapters"][0]["lines"][0] == 9
    assert data["title"] != "Summary："


def test_to_be_continued_in_names_the_sequel_and_heads_no_chapter(tmp_path):
    story = ("Chapter 1\n\nThe ship came at noon.\n\nShe waved from the lamp room.\n\nIt left at dusk.\n\n"
             "Chapter 2\n\nThe storm broke.\n\nThe lamp held.\n\nMorning came.\n\n"
             "**TO BE CONTINUED IN**\n\n**BOOK 2:**\n\n**THE KEEPER'S DAUGHTER**\n")
    data = inspect_json(write(tmp_path, story))
    assert [c["number"] for c in data["chapters"]] == [1, 2]
    assert notes(data)[-1]["lines"] == [19, 21]  # the sequel's name, after the pointer


# --- a web serial's chapter page -------------------------------------------------------------------

def test_a_blog_posts_title_over_its_byline_heads_the_chapter_and_names_the_author(tmp_path):
    story = ("\nThe Depthless Doctor\n\nPosted on July 9, 2018  by  pirateaba \nOn land, it is said the sea "
             "keeps no secrets.\n\nThe doctor disagreed.\n\n\n\nPrevious Chapter Next Chapter\n")
    data = inspect_json(write(tmp_path, story))
    assert chapters(data) == [(None, "The Depthless Doctor")]
    assert data["chapters"][0]["blocks"][0]["lines"] == [2, 4]  # the title and its byline: one heading
    assert data["author"] == "pirateaba"
    assert not notes(data)  # the page's chapter links are navigation, not a note


def test_a_sentence_about_posting_is_no_byline():
    from packager.detect.frontmatter import navigation_line, posted_line
    assert posted_line("Posted on the wall by the door was a sign.") is None
    assert posted_line("Posted by Ann on 2019-01-01") == ("2019-01-01", "Ann")
    assert navigation_line("« Prev | Index | Next »")
    assert not navigation_line("The next chapter of her life began.")


def test_a_quoted_line_with_story_right_under_it_ends_at_the_quote(tmp_path):
    story = ("# The Ferry\n\n## I. The Crossing\n>Recommended listening: https://example.org/song\n"
             "The ferry left at dawn, heavy with carts.\n\nShe stood at the rail.\n\n"
             "## II. The Landing\n\nThey came in at noon.\n")
    data = inspect_json(write(tmp_path, story, "story.md"))
    first = data["chapters"][0]["blocks"]
    assert [b["kind"] for b in first[:3]] == ["heading", "note", "paragraph"]
    assert first[1]["lines"] == [4, 4] and first[2]["lines"] == [5, 5]


def test_a_title_over_a_name_over_the_first_heading_is_the_title(tmp_path):
    story = "The Lamp\n\nAda Marsh\n\n# Chapter 1\n\nMorning came.\n\n# Chapter 2\n\nNight fell.\n"
    data = inspect_json(write(tmp_path, story, "story.md"))
    assert data["title"] == "The Lamp"
    assert data["author"] is None  # a name alone may be a fandom's: never taken as the author


def test_a_text_file_written_in_markdown_is_read_as_markdown(tmp_path):
    story = ("# The Ferry\n\n## Chapter 1: The Crossing\n\n> A/N: thanks for reading!\n\n"
             "The ferry left at dawn, heavy with carts.\n\n## Chapter 2: The Landing\n\nThey came in at noon.\n")
    as_text, as_markdown = (inspect_json(write(tmp_path, story, name)) for name in ("story.txt", "story.md"))
    assert as_text == as_markdown
    assert chapters(as_text) == [(1, "The Crossing"), (2, "The Landing")]


def test_a_static_sites_page_saved_as_text_joins_its_soft_wrapped_lines(tmp_path):
    story = ("---\ntitle: The Lamp\nauthor: Ada Marsh\n---\nShe lit the lamp at dusk and\n"
             "carried it down to the quay.\n\nThe boats came in.\n")
    data = inspect_json(write(tmp_path, story))
    blocks = data["chapters"][0]["blocks"]
    assert [b["lines"] for b in blocks if b["kind"] == "paragraph"] == [[5, 6], [8, 8]]


def test_a_text_file_with_a_hash_line_or_a_paragraph_a_line_stays_text():
    from packager.detect.paragraphs import markdown_syntax
    assert not markdown_syntax(["The Lamp", "", "# # #", "", "She lit it.", "", "###", "", "Dark."])
    one_a_line = ["# The Lamp", "## Chapter 1", *[f"Line {k} of the story, each its own paragraph." for k in range(10)],
                  "## Chapter 2", "More."]
    assert not markdown_syntax(one_a_line)  # Markdown would join these ten paragraphs into one
    assert markdown_syntax(["# The Lamp", "", "## Chapter 1", "", "She lit it.", "", "## Chapter 2", "", "Dark."])


def test_a_markdown_heading_without_a_space_is_told_from_a_hashtag_by_its_first_letter():
    from packager.detect.headings import match_heading
    assert match_heading("##Chapter 1").number == 1
    assert match_heading("#...But Mostly for Revenge").title == "...But Mostly for Revenge"
    assert match_heading("#\u201cRun!\u201d").title == "\u201cRun!\u201d"
    assert match_heading("#hashtag") is None
    assert match_heading("#...") is None


def test_the_works_end_notes_are_a_note_of_their_own_after_the_last_chapters():
    # AO3's `Afterword` page holds the work's `End Notes`: they close the last chapter, after its own
    # `Chapter End Notes`, as a second note, and the `Afterword` label between is the page, not a note
    data = inspect_json(shared("realworld", "ao3gpt2-afterwards.txt"))
    last = [b for b in data["chapters"][-1]["blocks"] if b["kind"] == "note"]
    assert [b["lines"][0] for b in last][-2:] == [913, 926]
    assert all(not (b["lines"][0] <= 923 <= b["lines"][1]) for b in last)  # `Afterword`, line 923
    # AO3's pointer to the end notes points elsewhere: the story under it is no note
    preparations = next(c for c in data["chapters"] if c["title"] == "Preparations")
    assert [b for b in preparations["blocks"] if b["lines"][0] == 280][0]["kind"] == "paragraph"
