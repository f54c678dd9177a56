"""`--notes keep|strip`: kept notes are set apart; stripping removes marked notes and never story text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import run_packager, seed_labels, shared

SEEDS = seed_labels()
# Notes that carry a marker (`Author's Note:`, `Disclaimer:`); unmarked notes are found by content rules.
MARKED_NOTES = {"000_a25887fde3ef402d.txt": [1], "003_c873871c6bd971e6.txt": [7]}


def words(text: str) -> str:
    """Text reduced to its words, so curly quotes, dashes and emphasis marks do not matter."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("'", "")))


def epub_words(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        pages = sorted(n for n in archive.namelist() if n.endswith(".xhtml") and "nav" not in n)
        texts = [" ".join(etree.fromstring(archive.read(n)).itertext()) for n in pages]
    return words(" ".join(texts))


def source_line(name: str, number: int) -> str:
    return shared("seeds", name).read_text(encoding="utf-8-sig").split("\n")[number - 1]


def build(name: str, mode: str, out: Path) -> Path:
    run_packager("build", shared("seeds", name), "--to", "epub", "--notes", mode, "--out-dir", out)
    return next(out.glob("*.epub"))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_strip_removes_marked_notes_and_keeps_every_story_line(name, tmp_path):
    text = epub_words(build(name, "strip", tmp_path))
    for line in MARKED_NOTES.get(name, []):
        assert words(source_line(name, line)) not in text, f"note at line {line} is still there"
    for line in SEEDS[name]["story_lines"]:
        assert words(source_line(name, line)) in text, f"story line {line} was lost"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_keep_keeps_every_note_and_story_line(name, tmp_path):
    text = epub_words(build(name, "keep", tmp_path))
    for note in SEEDS[name]["notes"]:
        for line in range(note["first"], note["last"] + 1):
            if source_line(name, line).strip():
                assert words(source_line(name, line)) in text, f"note line {line} was lost"
    for line in SEEDS[name]["story_lines"]:
        assert words(source_line(name, line)) in text


def test_a_kept_note_is_an_aside_with_its_role_not_a_toc_entry(tmp_path):
    book = build("003_c873871c6bd971e6.txt", "keep", tmp_path)
    with zipfile.ZipFile(book) as archive:
        chapter = etree.fromstring(archive.read("EPUB/chapter-001.xhtml"))
        nav = archive.read("EPUB/nav.xhtml").decode()
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    notes = chapter.findall(".//x:section[@class='authors-note']", ns)
    assert notes, "the disclaimer is rendered as a note"
    assert notes[0].get("role") == "doc-notice"
    assert notes[0].get("{http://www.idpf.org/2007/ops}type") == "notice"
    assert "Disclaimer" not in nav


def test_strip_writes_the_removed_notes_to_a_report(tmp_path):
    build("003_c873871c6bd971e6.txt", "strip", tmp_path)
    report = (tmp_path / "naruto-the-return-of-darkness.notes.txt").read_text()
    assert "Disclaimer: I do not own Naruto." in report
    assert "lines 7-7" in report


@pytest.mark.slow
def test_sample_story_notes_at_both_ends_of_a_chapter_are_stripped(tmp_path):
    story = Path(__file__).resolve().parents[1] / "stories" / "the-lighthouse-keeper.txt"
    run_packager("build", story, "--to", "epub", "--notes", "strip", "--out-dir", tmp_path)
    text = epub_words(tmp_path / "the-lighthouse-keeper.epub")
    lines = story.read_text().split("\n")
    note_lines = [i for i, line in enumerate(lines) if re.match(r"^\W*(A/N|Author's Note|Disclaimer)", line)]
    assert len(note_lines) >= 3
    for index in note_lines:
        assert words(lines[index]) not in text
    story_lines = [line for line in lines if line.strip() and len(line) > 40 and not
                   re.match(r"^\W*(A/N|Author's Note|Disclaimer)", line)]
    lost = [line for line in story_lines if words(line) not in text]
    assert lost == []
