"""A book rendered in chunks embeds each font face once, as a book laid out in one process does, and
the merged fonts draw exactly the pages the chunks' own subsets drew. The book: A Christmas Carol,
two body chunks, the front, the endnotes and an overlay per part, each with its own subsets."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pikepdf
import pytest

from conftest import ROOT, shared

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

CAROL = shared("corpus", "gutenberg", "a-christmas-carol.txt")


def render(tmp: Path, monkeypatch: pytest.MonkeyPatch | None = None, whole: bool = False, story_path: Path = CAROL,
           style: str | None = None) -> Path:
    from packager.build import resolve_cover, source_date
    from packager.read.sources import find_stories
    from packager.render import fontmerge
    from packager.render.assets import load_theme
    from packager.render.pdf import _build_whole, build_pdf
    from packager.story import load_story
    from packager.transform.pipeline import prepare_book

    story = load_story(find_stories(story_path)[0])
    book = prepare_book(story.book)[0]
    arguments = (book, load_theme(style), resolve_cover(story, None), source_date(story))
    if whole:
        data = _build_whole(*arguments, 1, None, "").data
    else:
        if monkeypatch is not None:  # the chunks' subsets as they come, each in its own font
            monkeypatch.setattr(fontmerge, "merge_fonts", lambda pdf: None)
        data = build_pdf(*arguments, jobs=1, cache_dir=tmp / "cache").data
    path = tmp / f"{story_path.stem}-{style}-{'whole' if whole else 'unmerged' if monkeypatch else 'merged'}.pdf"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def carol(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("fonts")
    with pytest.MonkeyPatch.context() as patch:
        unmerged = render(tmp, patch)
    return {"merged": render(tmp), "unmerged": unmerged, "whole": render(tmp, whole=True)}


def font_programs(pdf: Path) -> dict[str, dict[tuple[int, int], int]]:
    """Face name (without subset tag) -> {embedded font program: its size in the file}."""
    found: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    with pikepdf.open(pdf) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if key in obj:
                        found[str(obj.FontName).split("+")[-1]][obj[key].objgen] = len(obj[key].read_raw_bytes())
    return found


def test_the_chunks_alone_embed_a_face_many_times(carol):
    """What the merge is for: without it the book carries one subset per chunk and overlay."""
    programs = font_programs(carol["unmerged"])
    assert max(len(p) for p in programs.values()) >= 4


def test_every_face_is_embedded_once(carol):
    programs = font_programs(carol["merged"])
    assert set(programs) == set(font_programs(carol["unmerged"]))
    assert {face: len(p) for face, p in programs.items()} == {face: 1 for face in programs}


def test_the_fonts_weigh_no_more_than_in_a_book_laid_out_in_one_process(carol):
    merged = sum(sum(p.values()) for p in font_programs(carol["merged"]).values())
    whole = sum(sum(p.values()) for p in font_programs(carol["whole"]).values())
    unmerged = sum(sum(p.values()) for p in font_programs(carol["unmerged"]).values())
    assert merged <= whole * 1.02, (merged, whole)
    assert merged * 2 < unmerged


def test_the_merged_fonts_draw_the_same_pages(carol, tmp_path):
    """Glyph ids in the content streams still find their glyphs: every page's pixels are unchanged."""
    for name in ("merged", "unmerged"):
        subprocess.run(["pdftoppm", "-r", "30", "-gray", str(carol[name]), str(tmp_path / name)], check=True)
    merged, unmerged = sorted(tmp_path.glob("merged-*.pgm")), sorted(tmp_path.glob("unmerged-*.pgm"))
    assert len(merged) == len(unmerged) > 50
    different = [a.name for a, b in zip(merged, unmerged) if a.read_bytes() != b.read_bytes()]
    assert different == []


def test_the_merged_fonts_give_the_same_text(carol):
    texts = [subprocess.run(["pdftotext", "-layout", str(carol[name]), "-"], check=True, capture_output=True,
                            text=True).stdout for name in ("merged", "unmerged")]
    assert texts[0] == texts[1]


def test_opentype_faces_merge_too_and_draw_the_same_pages(tmp_path):
    """The garamond theme's EB Garamond is OpenType with CFF outlines (FontFile3): its subsets merge
    by glyph id as TrueType ones do, and poppler reads the merged programs without complaint."""
    story = ROOT / "stories" / "the-lighthouse-keeper.txt"
    with pytest.MonkeyPatch.context() as patch:
        unmerged = render(tmp_path, patch, story_path=story, style="garamond")
    merged = render(tmp_path, story_path=story, style="garamond")
    programs = font_programs(merged)
    assert "EB-Garamond" in programs
    assert max(len(p) for p in font_programs(unmerged).values()) > 1
    assert {len(p) for p in programs.values()} == {1}
    with pikepdf.open(merged) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and "/FontFile3" in obj:
                assert obj.FontFile3.Subtype == "/OpenType"
    pictures = []
    for pdf in (merged, unmerged):
        done = subprocess.run(["pdftoppm", "-r", "30", "-gray", str(pdf), str(tmp_path / pdf.stem)],
                              check=True, capture_output=True, text=True)
        assert done.stderr == ""
        pictures.append(sorted(tmp_path.glob(f"{pdf.stem}-*.pgm")))
    assert len(pictures[0]) == len(pictures[1]) > 10
    assert [a.read_bytes() == b.read_bytes() for a, b in zip(*pictures)] == [True] * len(pictures[0])
