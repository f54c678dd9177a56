"""The reader: bytes to lines (encodings, BOMs, line ends), lines to paragraphs, paths to stories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from packager.detect.paragraphs import build_units
from packager.errors import PackagerError
from packager.read.sources import find_stories
from packager.read.text import decode, read_text_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

STORY = """\
The Quiet Harbour
by Ada Lane

Chapter 1: Arrival

The boat came in at dawn, grey on grey, and nobody on the quay looked up from their nets.

Mara watched it from the lighthouse steps.
"""


def shared_file(*parts: str) -> Path:
    """A file in ../shared; when it is missing the test FAILS (it never skips)."""
    path = SHARED.joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"{path} is missing: these tests need the ../shared folder beside the repository "
                    f"(looked in {SHARED})")
    return path


def lines_of(data: bytes) -> list[str]:
    return decode(data, Path("story.txt")).lines


def inspect_json(path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    result = subprocess.run([sys.executable, "-m", "packager", "inspect", path.name, "--json"],
                            cwd=path.parent, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def touch(path: Path, text: str = "Some story text.\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- byte-order marks and line ends -------------------------------------------------------------

def test_utf8_bom_is_dropped_and_line_1_is_the_first_line():
    plain = decode(STORY.encode("utf-8"), Path("story.txt"))
    with_bom = decode(b"\xef\xbb\xbf" + STORY.encode("utf-8"), Path("story.txt"))
    assert with_bom.lines[0] == "The Quiet Harbour"  # no U+FEFF left in front
    assert with_bom.lines == plain.lines
    assert with_bom.warnings == []


@pytest.mark.slow
def test_utf8_bom_does_not_shift_inspect_line_numbers(tmp_path):
    (tmp_path / "plain.txt").write_bytes(STORY.encode("utf-8"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + STORY.encode("utf-8"))
    with_bom = inspect_json(tmp_path / "bom.txt")
    assert with_bom == inspect_json(tmp_path / "plain.txt")
    assert with_bom["title"] == "The Quiet Harbour"
    assert with_bom["front_matter"][0]["lines"] == [1, 1]
    assert with_bom["chapters"][0]["lines"][0] == 4


@pytest.mark.parametrize("ending", ["\r\n", "\r", "mixed"])
def test_crlf_lone_cr_and_mixed_line_ends_give_the_same_lines(ending):
    expected = STORY.rstrip("\n").split("\n")
    if ending == "mixed":
        ends = ["\r\n", "\n", "\r"]
        text = "".join(line + ends[i % 3] for i, line in enumerate(expected))
    else:
        text = "".join(line + ending for line in expected)
    assert lines_of(text.encode("utf-8")) == expected


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_final_newline_does_not_add_an_empty_line(ending):
    assert lines_of(f"one{ending}two{ending}".encode()) == ["one", "two"]
    assert lines_of(f"one{ending}two".encode()) == ["one", "two"]


def test_only_cr_and_lf_break_lines():
    # U+2028, form feed, U+0085 and file separators are not line ends, so line numbers agree with an
    # editor's; the control characters among them are removed (no EPUB can hold them), U+2028 stays.
    assert lines_of("a\u2028b\x0cc\u0085d\x1ce\nnext\n".encode("utf-8")) == ["a\u2028bcde", "next"]


# --- 8-bit and 16-bit encodings -------------------------------------------------------------------

def test_windows_1252_curly_quotes_and_em_dash_decode():
    text = ("The Café on the Quay\n\n"
            "\u201cAnother coffee?\u201d asked the waiter \u2014 politely, as he always did.\n\n"
            "She nodded. \u201cYes, please.\u201d The rain kept falling outside \u2014 softly, steadily.\n\n"
            "He came back with the cup and a saucer of biscuits she had not asked for.\n")
    data = text.encode("cp1252")
    assert b"\x93" in data and b"\x94" in data and b"\x97" in data
    source = decode(data, Path("cafe.txt"))
    assert source.lines == text.rstrip("\n").split("\n")
    assert "\u201cAnother coffee?\u201d" in source.lines[2]
    assert "\u2014" in source.lines[4]


def test_latin_1_accented_letters_decode():
    text = ("Café Stories\n\n"
            "The café on the corner was run by a man called Jürgen. He made the best crème brûlée "
            "in town.\n\n"
            "Every morning the naïve tourists came in and ordered a café au lait, and Jürgen smiled.\n\n"
            "Élodie, his daughter, served them. The Müller family came every Sunday after church.\n")
    source = decode(text.encode("latin-1"), Path("cafe.txt"))
    assert source.lines == text.rstrip("\n").split("\n")
    assert source.warnings == []


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_bom_decodes(encoding, bom):
    text = "Café Stories\r\n\r\nJürgen made crème brûlée \u2014 \u201cthe best\u201d, he said.\r\n"
    source = decode(bom + text.encode(encoding), Path("story.txt"))
    assert source.lines == ["Café Stories", "", "Jürgen made crème brûlée \u2014 \u201cthe best\u201d, he said."]


def test_utf16_file_read_from_disk_decodes(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(b"\xff\xfe" + STORY.encode("utf-16-le"))
    assert read_text_file(path).lines == STORY.rstrip("\n").split("\n")


def test_utf8_with_one_invalid_byte_is_replaced_and_warns_with_line_number():
    data = ("Café one\nJürgen two\n".encode("utf-8") + b"Line three \xff here\n"
            + "Line four, naïve\n".encode("utf-8"))
    source = decode(data, Path("story.txt"))
    assert source.lines == ["Café one", "Jürgen two", "Line three \ufffd here", "Line four, naïve"]
    assert len(source.warnings) == 1
    assert "story.txt:3" in source.warnings[0]


def test_invalid_utf8_warning_counts_lines_in_a_cr_only_file():
    data = ("Café one\rJürgen two\r".encode("utf-8") + b"Line three \xff here\r"
            + "Line four, naïve\r".encode("utf-8"))
    source = decode(data, Path("story.txt"))
    assert source.lines[2] == "Line three \ufffd here"
    assert len(source.warnings) == 1
    assert "story.txt:3" in source.warnings[0], source.warnings[0]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_told_by_its_nul_bytes(encoding):
    source = decode(STORY.encode(encoding), Path("story.txt"))
    assert source.encoding == encoding
    assert source.lines == STORY.rstrip("\n").split("\n")
    assert source.warnings == []


def test_damaged_utf16_is_replaced_and_warns_with_line_number():
    data = b"\xff\xfe" + "Line one\nLine two\n".encode("utf-16-le") + b"\x00\xd8" + "x\nLine four\n".encode("utf-16-le")
    source = decode(data, Path("story.txt"))
    assert source.lines == ["Line one", "Line two", "\ufffdx", "Line four"]
    assert len(source.warnings) == 1 and "story.txt:3" in source.warnings[0]


def test_stray_nul_bytes_and_control_characters_are_removed_with_a_warning_naming_the_first_line():
    data = "Café one\nLine two\n".encode("utf-8") + b"Li\x00ne \x1b[1mthree\x07\nLine four\x00\x00\n"
    source = decode(data, Path("story.txt"))
    assert source.lines == ["Café one", "Line two", "Line [1mthree", "Line four"]
    assert source.warnings == ["story.txt:3: control characters (such as NUL bytes) removed"]


def test_a_file_of_mostly_nul_bytes_is_binary():
    with pytest.raises(PackagerError, match="binary file"):
        decode(b"Chapter 1\n\nSome text.\n" + b"\x00" * 4096, Path("story.txt"))


def test_a_file_of_only_control_characters_is_empty_or_binary():
    with pytest.raises(PackagerError):
        decode(b"\x01\x02\x03\n\x04\x05\n", Path("story.txt"))


# --- paragraphs -----------------------------------------------------------------------------------

def test_blank_line_separated_paragraphs_are_one_unit_each():
    lines = ["The boat came in at dawn.", "",
             "Mara watched it from the lighthouse steps, her coat pulled tight against the wind that "
             "came off the water.", "", "",
             "\u201cAnother one,\u201d her father said."]
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == [(1, 1), (3, 3), (6, 6)]
    assert [u.gap_before for u in units] == [0, 1, 2]
    assert units[1].text == lines[2]


def test_one_paragraph_per_line_without_blank_lines_keeps_each_line():
    lines = [
        "The boat came in at dawn, grey on grey, and nobody on the quay looked up from their nets, "
        "because boats came in every morning and most of them brought nothing worth looking at.",
        "Mara watched it from the lighthouse steps.",
        "\u201cAnother one,\u201d her father said, and spat into the water. \u201cThey keep coming, and "
        "the sea keeps taking them back, and one day it will take this whole town with them.\u201d",
        "She did not answer him.",
        "The boat tied up at the far end of the quay, where the water was deepest, and a woman in a "
        "red coat climbed out of it with a suitcase that looked far too heavy for her.",
    ]
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == [(n, n) for n in range(1, 6)]
    assert [u.text for u in units] == lines


def test_short_dialogue_lines_without_blank_lines_stay_separate_paragraphs():
    # Every line ends a sentence; hard-wrapped prose almost never does (under 6% of the wrapped lines
    # in the Gutenberg corpus), so these are seven paragraphs, not one.
    lines = [
        "\u201cAre you coming to the harbour tonight?\u201d Mara asked.",
        "Tom shrugged and looked out at the grey water.",
        "\u201cI suppose I have to. Father wants the nets mended.\u201d",
        "\u201cYou always say that, and then you never come.\u201d",
        "He laughed, a little ashamed, and picked up his coat.",
        "\u201cFine. Eight o\u2019clock, by the lighthouse steps.\u201d",
        "She smiled at him for the first time that week.",
    ]
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == [(n, n) for n in range(1, 8)]


def test_hard_wrapped_lines_are_joined_into_paragraphs():
    paragraphs = [
        "The boat came in at dawn, grey on grey, and nobody on the quay looked up from their nets, "
        "because boats came in every morning and most of them brought nothing worth looking at. The "
        "gulls knew better; they rose from the roofs of the fish market all at once.",
        "Mara watched it from the lighthouse steps, her coat pulled tight against the wind, and "
        "counted the people on its deck: three men, a boy, and a woman in a red coat who stood a "
        "little apart from the others and did not once look at the town.",
        "\u201cAnother one,\u201d her father said behind her, and spat into the water. \u201cThey keep "
        "coming, and the sea keeps taking them back, and one day it will take the whole town.\u201d",
    ]
    lines: list[str] = []
    spans = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        wrapped = textwrap.wrap(paragraph, 70)
        assert len(wrapped) >= 2
        spans.append((len(lines) + 1, len(lines) + len(wrapped)))
        lines.extend(wrapped)
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == spans
    assert [u.text for u in units] == paragraphs


@pytest.mark.slow
def test_a_wrapped_run_of_100000_lines_without_a_blank_line_is_read_in_one_pass():
    """Each line is looked at once, whatever the length of the run it stands in (an export that
    drops blank lines gives a run as long as the book)."""
    import time

    words = "the sea light keeper walked cold morning she said nothing to the boat in harbour".split()
    lines = [" ".join(words[(k + n) % len(words)] for n in range(11)) for k in range(100_000)]
    lines[0] = "A/N: this opens the run and never ends a sentence"
    start = time.perf_counter()
    units = build_units(lines, wrapped=True)
    assert time.perf_counter() - start < 10
    assert [(u.first, u.last) for u in units] == [(1, 100_000)]


def test_pride_and_prejudice_first_paragraph_is_one_unit_over_two_lines():
    source = read_text_file(shared_file("corpus", "gutenberg", "pride-and-prejudice.txt"))
    start = next(i for i, line in enumerate(source.lines, 1)
                 if line.startswith("It is a truth universally acknowledged"))
    unit = next(u for u in build_units(source.lines) if u.first <= start <= u.last)
    assert (unit.first, unit.last) == (start, start + 1)
    assert unit.text == ("It is a truth universally acknowledged, that a single man in possession "
                         "of a good fortune, must be in want of a wife.")


# --- finding stories ------------------------------------------------------------------------------

def test_folder_of_numbered_chapter_files_is_one_story_in_name_order(tmp_path):
    folder = tmp_path / "salt-and-starlight"
    for name in ("03-after.md", "01-the-harbour.md", "02-the-storm.md"):
        touch(folder / name)
    stories = find_stories(folder)
    assert len(stories) == 1
    assert stories[0].path == folder
    assert [p.name for p in stories[0].files] == ["01-the-harbour.md", "02-the-storm.md", "03-after.md"]


def test_unpadded_chapter_numbers_are_read_in_numeric_order(tmp_path):
    folder = tmp_path / "long-story"
    for n in (1, 2, 3, 9, 10, 11):
        touch(folder / f"{n}-part.txt")
    stories = find_stories(folder)
    assert len(stories) == 1
    assert [p.name for p in stories[0].files] == [f"{n}-part.txt" for n in (1, 2, 3, 9, 10, 11)]


def test_folder_of_chapter_nn_files_is_one_story(tmp_path):
    folder = tmp_path / "the-long-night"
    for n in (1, 2, 3):
        touch(folder / f"chapter{n:02d}.md")
    stories = find_stories(folder)
    assert len(stories) == 1, [s.path.name for s in stories]
    assert [p.name for p in stories[0].files] == ["chapter01.md", "chapter02.md", "chapter03.md"]


def test_folder_with_story_toml_is_one_story(tmp_path):
    folder = tmp_path / "harbour"
    touch(folder / "arrival.txt")
    touch(folder / "departure.txt")
    touch(folder / "story.toml", 'title = "The Harbour"\n')
    stories = find_stories(folder)
    assert len(stories) == 1
    assert stories[0].sidecar == folder / "story.toml"
    assert [p.name for p in stories[0].files] == ["arrival.txt", "departure.txt"]


def test_folder_of_two_unrelated_story_files_is_two_stories(tmp_path):
    touch(tmp_path / "lib" / "the-lighthouse-keeper.txt")
    touch(tmp_path / "lib" / "a-small-kindness.md")
    stories = find_stories(tmp_path / "lib")
    assert [s.path.name for s in stories] == ["a-small-kindness.md", "the-lighthouse-keeper.txt"]
    assert all(len(s.files) == 1 for s in stories)


def test_story_file_finds_its_sidecar_and_cover(tmp_path):
    story = touch(tmp_path / "my-story.txt")
    touch(tmp_path / "my-story.toml", 'title = "My Story"\n')
    (tmp_path / "my-story-cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    touch(tmp_path / "other.txt")
    [source] = find_stories(story)
    assert source.sidecar == tmp_path / "my-story.toml"
    assert source.cover == tmp_path / "my-story-cover.png"


def test_cover_png_in_story_folder_is_found(tmp_path):
    folder = tmp_path / "harbour"
    touch(folder / "arrival.txt")
    touch(folder / "departure.txt")
    (folder / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    [source] = find_stories(folder)
    assert source.path == folder
    assert source.cover == folder / "cover.png"


def test_folder_with_one_story_file_finds_its_named_sidecar_and_cover(tmp_path):
    # `packager build my-folder/` where the folder holds my-story.txt with its my-story.toml and
    # my-story-cover.png: the same sidecar and cover as `packager build my-folder/my-story.txt`.
    folder = tmp_path / "my-folder"
    touch(folder / "my-story.txt")
    touch(folder / "my-story.toml", 'title = "My Story"\n')
    (folder / "my-story-cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    [source] = find_stories(folder)
    assert source.sidecar == folder / "my-story.toml"
    assert source.cover == folder / "my-story-cover.png"
