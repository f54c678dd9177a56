"""`packager inspect --json` reads the real stories in ../shared as their labels say."""

from __future__ import annotations

import re
import unicodedata

import pytest

from conftest import corpus_labels, inspect_json, seed_labels, shared

SEEDS = seed_labels()
BOOKS = corpus_labels()
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def number(value) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    total = 0
    for a, b in zip(value, value[1:] + " "):
        total += -ROMAN[a] if b in ROMAN and ROMAN[b] > ROMAN[a] else ROMAN[a]
    return total


def norm(title: str | None) -> str | None:
    if title is None:
        return None
    text = unicodedata.normalize("NFKD", title).lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip() or None


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_chapters_match_the_labels(name):
    label = SEEDS[name]
    data = inspect_json(shared("seeds", name))
    got = [(c["number"], norm(c["title"])) for c in data["chapters"]]
    want = [(c["number"], norm(c["title"])) for c in label["chapters"]]
    assert got == want
    for chapter, gold in zip(data["chapters"], label["chapters"]):
        assert abs(chapter["lines"][0] - gold["line"]) <= 3, (chapter["lines"], gold["line"])


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_title_matches_the_label(name):
    label = SEEDS[name]
    data = inspect_json(shared("seeds", name))
    if label["title"]:
        assert norm(data["title"]) == norm(label["title"])
    else:  # no title in the text: it must not take a story line for one
        assert not any(b["kind"] == "metadata" for b in data["front_matter"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BOOKS))
def test_gutenberg_chapters_and_parts_match_the_labels(name):
    label = BOOKS[name]
    data = inspect_json(shared("corpus", "gutenberg", name))
    assert [(c["number"], norm(c["title"])) for c in data["chapters"]] == \
        [(number(c["number"]), norm(c["title"])) for c in label["chapters"]]
    assert [c["lines"][0] for c in data["chapters"]] == [c["line"] for c in label["chapters"]]
    parts = [p["title"] for p in label.get("parts", [])]
    got_parts = list(dict.fromkeys(c["part"] for c in data["chapters"] if c["part"]))
    assert got_parts == parts
    assert (data["title"], data["author"], data["language"]) == (label["title"], label["author"], label["language"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BOOKS))
def test_no_chapter_holds_gutenberg_licence_text(name):
    label = BOOKS[name]
    data = inspect_json(shared("corpus", "gutenberg", name))
    for chapter in data["chapters"]:
        first, last = chapter["lines"]
        assert label["licence_header_ends"] < first and last < label["licence_footer_starts"]


def test_inspect_json_follows_the_contract():
    data = inspect_json(shared("seeds", "000_a25887fde3ef402d.txt"))
    assert {"title", "author", "language", "front_matter", "chapters"} <= set(data)
    assert data["front_matter"][0] == {**data["front_matter"][0], "kind": "note", "lines": [1, 1],
                                       "note_kind": "author_note"}
    chapter = data["chapters"][0]
    assert {"title", "number", "lines", "blocks"} <= set(chapter)
    assert (chapter["title"], chapter["number"]) == ("The First Kiss", 1)
    assert chapter["blocks"][0] == {**chapter["blocks"][0], "kind": "heading", "lines": [4, 4]}
    assert {"kind": "scene_break", "lines": [31, 32]}.items() <= next(
        b for b in chapter["blocks"] if b["kind"] == "scene_break").items()
    kinds = {b["kind"] for c in data["chapters"] for b in c["blocks"]} | {b["kind"] for b in data["front_matter"]}
    assert kinds <= {"heading", "paragraph", "note", "scene_break", "metadata"}


def test_folder_story_blocks_name_their_file():
    data = inspect_json(shared("corpus", "cc0", "darling-and-date"))
    assert [c["file"] for c in data["chapters"]] == [
        "01-announce-and-ask.md", "02-practice-and-plan.md", "03-dressmaking-and-determination.md",
        "04-darling-and-date.md", "05-breakfast-and-bonding.md"]
    assert [c["title"] for c in data["chapters"]][:2] == ["Announce & Ask", "Practice and Plan"]
    assert all(b["file"] == c["file"] for c in data["chapters"] for b in c["blocks"])


@pytest.mark.slow
def test_every_story_line_is_in_a_block():
    """Nothing of the story falls between blocks: each non-blank line of a seed is covered."""
    for name in SEEDS:
        path = shared("seeds", name)
        data = inspect_json(path)
        lines = path.read_text(encoding="utf-8-sig").split("\n")
        covered = set()
        for block in data["front_matter"] + [b for c in data["chapters"] for b in c["blocks"]]:
            covered |= set(range(block["lines"][0], block["lines"][1] + 1))
        missing = [i + 1 for i, text in enumerate(lines) if text.strip() and i + 1 not in covered]
        assert missing == [], name
