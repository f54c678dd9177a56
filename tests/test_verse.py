"""Rule `verse_lines`: in hard-wrapped text, the line breaks a writer made on purpose (verse, a
letter's closing, an address) are kept, and the books print those lines as lines."""

from __future__ import annotations

import re
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from conftest import inspect_json, run_packager, shared
from packager.detect.paragraphs import build_units
from packager.model import Block
from packager.read.text import read_text_file
from packager.render.assets import lines_markup
from packager.transform.emphasis import parse_emphasis

PROSE = [
    "The boat came in at dawn, grey on grey, and nobody on the quay looked up from their nets, "
    "because boats came in every morning and most of them brought nothing worth looking at.",
    "Mara watched it from the lighthouse steps, her coat pulled tight against the wind, and "
    "counted the people on its deck: three men, a boy, and a woman in a red coat who stood apart.",
    "Her father came out behind her, and as he always did when a boat came in he began to sing "
    "the old song of the harbour under his breath, the one his own father had taught him:",
    "She had heard it every morning of her life, and she did not turn round. The woman in the red "
    "coat was looking straight at the lighthouse now, as if she had come for it and nothing else.",
]
STANZA = ["    Grey the morning, grey the sea,", "      Bring the boats home, bring them to me;",
          "    Grey the harbour, grey the stone,", "      Bring them home, and leave me alone."]


def wrapped(*paragraphs: str | list[str]) -> list[str]:
    """Prose hard-wrapped at 70 columns, Project Gutenberg style; a list is a group of lines as given."""
    lines: list[str] = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        lines.extend(paragraph if isinstance(paragraph, list) else textwrap.wrap(paragraph, 70))
    return lines


def unit_at(units, line: int):
    return next(u for u in units if u.first <= line <= u.last)


def test_an_indented_stanza_in_wrapped_prose_keeps_its_lines():
    lines = wrapped(PROSE[0], PROSE[1], PROSE[2], STANZA, PROSE[3])
    stanza = unit_at(build_units(lines), lines.index(STANZA[0]) + 1)
    assert stanza.kept_text == ("Grey the morning, grey the sea,\n  Bring the boats home, bring them to me;\n"
                                "Grey the harbour, grey the stone,\n  Bring them home, and leave me alone.")


def test_a_run_of_lines_all_well_short_of_the_measure_keeps_its_lines():
    song = ["Grey the morning, grey the sea,", "Bring the boats home to me;", "Grey the harbour,",
            "Bring them home."]
    lines = wrapped(PROSE[0], PROSE[1], PROSE[2], song, PROSE[3])
    assert unit_at(build_units(lines), lines.index(song[0]) + 1).kept_text == "\n".join(song)


def test_wrapped_prose_around_the_verse_is_joined_into_paragraphs():
    lines = wrapped(PROSE[0], PROSE[1], PROSE[2], STANZA, PROSE[3])
    units = build_units(lines)
    prose = [u for u in units if u.kept_text is None]
    assert [u.text for u in prose] == [PROSE[0], PROSE[1], PROSE[2], PROSE[3]]


def test_the_short_last_line_of_a_paragraph_does_not_make_it_verse():
    ending = ["The boat came in at dawn, grey on grey, and nobody on the quay looked",
              "up from their nets, because boats came in every morning and most of",
              "them did."]
    lines = wrapped(PROSE[0], PROSE[1], ending, PROSE[3])
    assert all(u.kept_text is None for u in build_units(lines))


def test_a_two_line_paragraph_with_a_short_second_line_is_prose():
    lines = wrapped(PROSE[0], PROSE[1], "She said nothing at all to him about it for the rest of that "
                    "long day.", PROSE[3])
    assert all(u.kept_text is None for u in build_units(lines))


def test_one_paragraph_per_line_text_is_left_alone():
    lines = ["Grey the morning, grey the sea,", "Bring the boats home to me;", "Grey the harbour,",
             "Bring them home."] + [p for p in PROSE]
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == [(n, n) for n in range(1, len(lines) + 1)]
    assert all(u.kept_text is None for u in units)


def test_lines_of_dialogue_one_to_a_line_are_not_verse():
    talk = ["\u201cAre you coming?\u201d Mara asked.", "\u201cI suppose I have to.\u201d",
            "\u201cEight o\u2019clock, then.\u201d"]
    lines = wrapped(PROSE[0], PROSE[1], talk, PROSE[3])
    assert unit_at(build_units(lines), lines.index(talk[0]) + 1).kept_text is None


def test_a_list_item_whose_full_lines_hang_from_a_full_line_is_joined():
    item = textwrap.wrap("- You pay a royalty fee of twenty per cent of the gross profits you derive from the "
                         "use of the works, calculated with the method you already use for your taxes.",
                         70, subsequent_indent="     ")
    lines = wrapped(PROSE[0], PROSE[1], item, PROSE[3])
    assert unit_at(build_units(lines), lines.index(item[0]) + 1).kept_text is None


def test_a_signature_set_far_right_under_a_full_line_keeps_its_line():
    letter = textwrap.wrap("\u201cDEAR MARA,--I am very anxious to see you again, and to ask you whether you "
                           "have thought of what I said on the quay, for I have thought of nothing else since "
                           "the boat came in. Yours faithfully,", 70)
    assert len(letter[-1]) > 63, "the letter's last line is full"
    lines = wrapped(PROSE[0], PROSE[1], letter + [" " * 46 + "\u201cADA LANE.\u201d"], PROSE[3])
    unit = unit_at(build_units(lines), lines.index(letter[0]) + 1)
    assert unit.kept_text == " ".join(letter) + "\n" + " " * 46 + "\u201cADA LANE.\u201d"


def test_turned_off_the_rule_joins_the_lines():
    lines = wrapped(PROSE[0], PROSE[1], PROSE[2], STANZA, PROSE[3])
    stanza = unit_at(build_units(lines, keep_lines=False), lines.index(STANZA[0]) + 1)
    assert stanza.kept_text is None
    assert stanza.text == " ".join(line.strip() for line in STANZA)


# --- real texts -------------------------------------------------------------------------------------

def gutenberg_units(name: str):
    source = read_text_file(shared("corpus", "gutenberg", name))
    return source.lines, build_units(source.lines)


def unit_starting(lines, units, words: str):
    number = next(i for i, line in enumerate(lines, 1) if words in line)
    return unit_at(units, number)


def test_the_carol_sung_at_scrooges_keyhole_keeps_its_two_lines():
    lines, units = gutenberg_units("a-christmas-carol.txt")
    unit = unit_starting(lines, units, "God bless you, merry gentleman!")
    assert unit.kept_text == '"God bless you, merry gentleman!\n May nothing you dismay!"'


def test_the_carol_preface_keeps_its_signature_set_to_the_right_and_its_date():
    lines, units = gutenberg_units("a-christmas-carol.txt")
    unit = unit_starting(lines, units, "Their faithful Friend and Servant,")
    kept = unit.kept_text.split("\n")
    assert [line.strip() for line in kept] == ["Their faithful Friend and Servant,", "C. D.", "December, 1843."]
    assert len(kept[1]) - len(kept[1].lstrip()) >= 10


def test_the_carols_prose_paragraphs_stay_joined():
    lines, units = gutenberg_units("a-christmas-carol.txt")
    unit = unit_starting(lines, units, "MARLEY was dead: to begin with.")
    assert unit.kept_text is None
    kept = [u for u in units if u.kept_text is not None]
    assert len(kept) <= 6, [u.first for u in kept]  # the title page, preface, the carol, the licence's address


def test_a_letter_keeps_the_break_before_its_signature_and_joins_its_prose():
    lines, units = gutenberg_units("adventures-of-sherlock-holmes.txt")
    unit = unit_starting(lines, units, "DEAR MR. HOLMES:--I am very anxious to consult you")
    body, signature = unit.kept_text.split("\n")
    assert body.startswith('"DEAR MR. HOLMES:--I am very anxious to consult you as to whether I should')
    assert body.endswith("if I do not inconvenience you. Yours faithfully,")
    assert signature.strip() == '"VIOLET HUNTER."'


def test_verse_in_war_and_peace_keeps_its_lines_and_its_footnotes_are_joined():
    lines, units = gutenberg_units("war-and-peace.txt")
    song = unit_starting(lines, units, "At nighttime in the moon")
    assert song.kept_text.split("\n")[1] == "  How sweet, as fancies wander free,"
    footnote = unit_starting(lines, units, "Forty thousand men massacred and the army of our allies")
    assert footnote.kept_text is None


def test_pride_and_prejudices_letters_read_as_before():
    """Its letters' closings stand in paragraphs of their own or end a wrapped line: nothing to keep."""
    lines, units = gutenberg_units("pride-and-prejudice.txt")
    body = [u for u in units if u.kept_text is not None and u.first < 13000]
    assert body == []


# --- Markdown ---------------------------------------------------------------------------------------

def test_markdown_hard_breaks_keep_their_lines():
    lines = ["The keeper wrote on the wall:", "", "Grey the morning,  ", "grey the sea,\\", "bring them home.",
             "", "And that was all."]
    units = build_units(lines, markdown=True)
    assert units[1].kept_text == "Grey the morning,\ngrey the sea,\nbring them home."
    assert units[0].kept_text is None and units[2].kept_text is None


def test_the_poem_in_darling_and_date_keeps_its_lines():
    source = read_text_file(shared("corpus", "cc0", "darling-and-date", "04-darling-and-date.md"))
    units = build_units(source.lines, markdown=True)
    unit = unit_starting(source.lines, units, "You're the best gift I ever got,")
    assert unit.kept_text.split("\n") == ['"You\'re the best gift I ever got,', '"Stop loving you, I will not,',
                                          '"Fur so white, eyes so bright,', '"Every day with you just feels right.']


# --- the model, inspect and the books -----------------------------------------------------------------

def story(tmp_path: Path) -> Path:
    path = tmp_path / "harbour-song.txt"
    path.write_text("The Harbour Song\nby Ada Lane\n\n" + "\n".join(
        wrapped(PROSE[0], PROSE[1], PROSE[2], STANZA, PROSE[3],
                ["Yours ever,", "                                        Mara"])) + "\n", encoding="utf-8")
    return path


def test_inspect_json_marks_the_paragraph_that_keeps_its_lines(tmp_path):
    blocks = [b for c in inspect_json(story(tmp_path))["chapters"] for b in c["blocks"]]
    kept = [b for b in blocks if b.get("lines_kept")]
    assert [(b["kind"], b["rule"]) for b in kept] == [("paragraph", "verse_lines")] * 2
    assert not any(b.get("lines_kept") for b in blocks if b not in kept)


def test_a_sidecar_turns_the_rule_off(tmp_path):
    path = story(tmp_path)
    path.with_suffix(".toml").write_text('[detect]\ndisable = ["verse_lines"]\n', encoding="utf-8")
    blocks = [b for c in inspect_json(path)["chapters"] for b in c["blocks"]]
    assert not any(b.get("lines_kept") for b in blocks)


def test_emphasis_is_set_line_by_line():
    block = Block("paragraph", (1, 2), "", lines_kept=True,
                  spans=parse_emphasis("Grey the *morning,\n  grey* the sea,\n            Mara"))
    assert str(lines_markup(block)) == (
        '<span class="line">Grey the <em>morning,</em></span><br/>'
        '<span class="line line-in"><em>grey</em> the sea,</span><br/>'
        '<span class="line line-right">Mara</span>')


def test_a_letters_body_is_set_as_prose_above_its_signature_set_right():
    lines, units = gutenberg_units("adventures-of-sherlock-holmes.txt")
    unit = unit_starting(lines, units, "DEAR MR. HOLMES:--I am very anxious to consult you")
    markup = str(lines_markup(Block("paragraph", (unit.first, unit.last), unit.kept_text, lines_kept=True)))
    assert re.findall(r'<span class="([^"]+)">', markup) == ["line line-prose", "line line-right"]


def test_the_epub_prints_the_stanza_as_lines_with_line_breaks(tmp_path):
    run_packager("build", story(tmp_path), "--to", "epub", "--out-dir", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / "the-harbour-song.epub") as book:
        xhtml = "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xhtml"))
    stanza = re.search(r'<p class="lines">(.*?)</p>', xhtml, re.DOTALL)[1]
    assert stanza.count("<br/>") == 3
    assert re.findall(r'<span class="line( line-in)?">([^<]*)</span>', stanza) == [
        ("", "Grey the morning, grey the sea,"), (" line-in", "Bring the boats home, bring them to me;"),
        ("", "Grey the harbour, grey the stone,"), (" line-in", "Bring them home, and leave me alone.")]
    assert '<span class="line line-right">Mara</span>' in xhtml


@pytest.mark.slow
def test_the_pdf_sets_each_line_of_the_stanza_on_its_own_line_indented_and_the_signature_right(tmp_path):
    run_packager("build", story(tmp_path), "--to", "pdf", "--jobs", "1", "--out-dir", tmp_path / "out")
    pdf = tmp_path / "out" / "the-harbour-song.pdf"
    text = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    page = next(p for p in text.split("<page ")[1:] if ">Grey<" in p)
    words = [(float(x0), float(y0), float(x1), w) for x0, y0, x1, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>', page)]
    by_line: dict[int, list[tuple[float, str]]] = {}
    for x0, y0, _, word in words:
        by_line.setdefault(round(y0), []).append((x0, word))
    lines = [" ".join(w for _, w in sorted(ws)) for _, ws in sorted(by_line.items())]
    first = lines.index("Grey the morning, grey the sea,")
    assert lines[first:first + 4] == ["Grey the morning, grey the sea,", "Bring the boats home, bring them to me;",
                                      "Grey the harbour, grey the stone,", "Bring them home, and leave me alone."]
    left = min(x0 for x0, _, _, _ in words)
    grey = min(x0 for x0, _, _, w in words if w == "Grey")
    bring = min(x0 for x0, _, _, w in words if w == "Bring")
    assert grey > left + 10, "the stanza is set in from the text's edge"
    assert bring > grey + 5, "its second and fourth lines further in, as the source sets them"
    right = max(x1 for _, _, x1, _ in words)
    signature = max(x1 for _, _, x1, w in words if w == "Mara")
    stanza_end = max(x1 for _, y0, x1, _ in words if round(y0) in sorted(by_line)[first:first + 4])
    assert right - 25 < signature < right + 1, "the signature stands at the right, within the verse's margin"
    assert signature > stanza_end + 40


@pytest.mark.slow
def test_a_letters_closing_is_not_split_across_pages(tmp_path):
    """Each kept line is a block of its own: orphans and widows do not hold them, the page rules do.
    In garamond the story's closing falls at a page's foot."""
    run_packager("build", story(tmp_path), "--to", "pdf", "--jobs", "1", "--style", "garamond",
                 "--out-dir", tmp_path / "out")
    pages = subprocess.run(["pdftotext", "-layout", str(tmp_path / "out" / "the-harbour-song.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout.split("\f")
    (page,) = [p for p in pages if "Yours ever," in p]
    assert re.search(r"Yours ever,\n\s+Mara\n", page)
