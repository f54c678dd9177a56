"""Print on demand: `--print kdp|ingram` makes the PDF an interior the service takes (its trim, the
gutter its table asks for this page count, bleed when asked, PDF/X) and writes the wrap cover beside
it, as wide as two trims, the spine for this page count and paper, and the bleed. Checked on the
produced PDFs with pikepdf, pdftotext -bbox and pixels."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from conftest import ROOT, run_packager, shared

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

CAROL = shared("corpus", "gutenberg", "a-christmas-carol.txt")
LIGHTHOUSE = ROOT / "stories" / "the-lighthouse-keeper.txt"
PT = 72.0  # points per inch


def build(tmp: Path, story: Path, *args: str) -> tuple[Path, Path]:
    out = tmp / "out"
    env = dict(os.environ, PACKAGER_CACHE_DIR=str(tmp / "cache"))
    done = subprocess.run([sys.executable, "-m", "packager", "build", str(story), "--to", "pdf", "--jobs", "2",
                           "--out-dir", str(out), *args], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    interior = next(p for p in out.glob("*.pdf") if not p.name.endswith(".cover.pdf"))
    return interior, interior.with_suffix(".cover.pdf")


@pytest.fixture(scope="module")
def kdp(tmp_path_factory) -> tuple[Path, Path]:
    """A Christmas Carol for KDP on 5x8 in cream paper: long enough for spine text."""
    return build(tmp_path_factory.mktemp("kdp"), CAROL, "--print", "kdp", "--page-size", "5x8in", "--paper", "cream")


@pytest.fixture(scope="module")
def ingram(tmp_path_factory) -> tuple[Path, Path]:
    """The same for IngramSpark on 5.5x8.5 in white paper with bleed (PDF/X-1a by default)."""
    return build(tmp_path_factory.mktemp("ingram"), CAROL, "--print", "ingram", "--page-size", "5.5x8.5in",
                 "--bleed")


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> tuple[Path, Path]:
    """A 20-page story: too thin for anything on its spine."""
    return build(tmp_path_factory.mktemp("short"), LIGHTHOUSE, "--print", "kdp")


def boxes(pdf: Path, key: str = "/TrimBox") -> list[list[float]]:
    with pikepdf.open(pdf) as document:
        return [[round(float(v), 2) for v in page.obj[key]] for page in document.pages]


def words(pdf: Path, page: int | None = None) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, word) in points from the top left, from pdftotext -bbox."""
    args = ["pdftotext", "-bbox"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    html = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def letters(found: list[tuple]) -> str:
    """The words' letters, without case or spaces: small capitals made from capitals (a font without
    true small caps) read back as either case, and a spaced capital as a word of its own."""
    return "".join(w[4] for w in found).casefold()


def kdp_spine(pages: int, paper: str) -> float:
    return pages * {"white": 0.002252, "cream": 0.0025}[paper]


def test_every_interior_page_is_trimmed_to_the_chosen_size(kdp):
    interior, _ = kdp
    assert set(map(tuple, boxes(interior))) == {(0, 0, 5 * PT, 8 * PT)}
    assert set(map(tuple, boxes(interior, "/MediaBox"))) == {(0, 0, 5 * PT, 8 * PT)}


def test_the_interior_has_an_even_number_of_pages_and_no_cover_page(kdp):
    interior, _ = kdp
    with pikepdf.open(interior) as document:
        assert len(document.pages) % 2 == 0
        assert not any("/XObject" in page.Resources and any(
            x.get("/Subtype") == "/Image" for x in page.Resources.XObject.values()) for page in document.pages)
    assert "achristmascarol" in letters(words(interior, 1))  # the title page comes first


def test_the_gutter_is_the_kdp_minimum_for_the_page_count_plus_an_eighth(kdp):
    """KDP asks 0.375 in up to 150 pages, 0.5 in up to 300: the text block's inside edge is there, on
    the left of a recto and the right of a verso (the widest lines of a justified page touch it)."""
    interior, _ = kdp
    with pikepdf.open(interior) as document:
        pages = len(document.pages)
    gutter = (0.375 if pages <= 150 else 0.5 if pages <= 300 else 0.625) + 0.125
    for page in (21, 22):  # a recto, then a verso, both in the middle of a chapter
        found = words(interior, page)
        body = [w for w in found if 60 < w[1] < 8 * PT - 60]
        if page % 2:  # a recto: page 21 is odd, a right-hand page
            assert min(w[0] for w in body) == pytest.approx(gutter * PT, abs=1.5)
        else:
            assert 5 * PT - max(w[2] for w in body) == pytest.approx(gutter * PT, abs=1.5)


def test_the_wrap_cover_is_two_trims_a_spine_and_the_bleed_wide(kdp):
    interior, cover = kdp
    with pikepdf.open(interior) as document:
        pages = len(document.pages)
    width = 2 * 5 + kdp_spine(pages, "cream") + 2 * 0.125
    assert boxes(cover, "/MediaBox") == [[0, 0, round(width * PT, 2), round(8.25 * PT, 2)]]
    assert boxes(cover) == [[9, 9, round((width - 0.125) * PT, 2), round(8.125 * PT, 2)]]
    assert boxes(cover, "/BleedBox") == boxes(cover, "/MediaBox")


def test_cream_paper_makes_a_wider_spine_than_white(kdp, ingram):
    """Per page: 0.0025 in cream, 0.002252 in white (KDP's and IngramSpark's figures)."""
    spines = []
    for (interior, cover), trim in ((kdp, 5), (ingram, 5.5)):
        with pikepdf.open(interior) as document:
            pages = len(document.pages)
        spines.append((float(boxes(cover, "/MediaBox")[0][2]) / PT - 2 * trim - 0.25) / pages)
    assert spines[0] == pytest.approx(0.0025, abs=1e-5)
    assert spines[1] == pytest.approx(0.002252, abs=1e-5)


def test_a_wide_spine_carries_the_title_and_author_inside_its_folds(kdp):
    interior, cover = kdp
    with pikepdf.open(interior) as document:
        pages = len(document.pages)
    left, right = (0.125 + 5) * PT, (0.125 + 5 + kdp_spine(pages, "cream")) * PT
    on_spine = [w for w in words(cover) if w[0] >= left and w[2] <= right]
    assert "achristmascarolcharlesdickens" == letters(on_spine)
    for x0, _, x1, _, _ in on_spine:
        assert x0 >= left + 0.0625 * PT - 0.5 and x1 <= right - 0.0625 * PT + 0.5


def test_a_thin_spine_carries_nothing(short):
    interior, cover = short
    with pikepdf.open(interior) as document:
        pages = len(document.pages)
    assert pages < 79
    left, right = (0.125 + 6) * PT, (0.125 + 6 + kdp_spine(pages, "white")) * PT
    assert [w for w in words(cover) if w[2] > left and w[0] < right] == []


def test_the_back_carries_the_blurb_and_keeps_the_barcode_zone_white(short, tmp_path):
    """KDP prints its barcode in 2 x 1.2 in at the bottom right of the back, 0.25 in from the spine and
    the bottom trim: no word there, and its pixels are white."""
    _, cover = short
    back = " ".join(w[4] for w in words(cover) if w[2] < (0.125 + 6) * PT)
    assert "Nell Asquith comes to Skerrow Head" in back
    zone = ((0.125 + 6 - 0.25 - 2) * PT, (0.125 + 9 - 0.25 - 1.2) * PT, (0.125 + 6 - 0.25) * PT, (0.125 + 9 - 0.25) * PT)
    assert [w for w in words(cover) if w[2] > zone[0] and w[0] < zone[2] and w[3] > zone[1] and w[1] < zone[3]] == []
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(cover), str(tmp_path / "cover")], check=True)
    image = Image.open(next(tmp_path.glob("cover*.png"))).convert("RGB")
    scale = 50 / PT
    inside = image.crop(tuple(round(v * scale) + d for v, d in zip(zone, (2, 2, -2, -2))))
    assert inside.getextrema() == ((255, 255), (255, 255), (255, 255))


def test_ingram_gets_pdf_x_1a_with_its_output_intent(ingram):
    for pdf in ingram:
        with pikepdf.open(pdf) as document:
            intent = document.Root.OutputIntents[0]
            assert intent.S == "/GTS_PDFX"
            assert str(intent.OutputConditionIdentifier) == "CGATS TR 001"
            assert str(document.docinfo["/GTS_PDFXVersion"]) == "PDF/X-1a:2003"
            assert str(document.docinfo["/Trapped"]) == "/False"
            assert document.pdf_version == "1.4"
            assert all("/TrimBox" in page.obj for page in document.pages)


def test_pdf_x_leaves_no_rgb_colour_and_no_rgb_image(ingram):
    for pdf in ingram:
        with pikepdf.open(pdf) as document:
            for page in document.pages:
                operators = {str(op) for _, op in pikepdf.parse_content_stream(page)}
                assert not operators & {"rg", "RG"}
            spaces = {str(obj.get("/ColorSpace")) for obj in document.objects
                      if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"}
            assert spaces <= {"/DeviceCMYK", "/DeviceGray"}


def test_bleed_grows_each_page_on_its_outside_top_and_bottom_edges(ingram):
    interior, _ = ingram
    width, height, bleed = 5.5 * PT, 8.5 * PT, 0.125 * PT
    media, trims = boxes(interior, "/MediaBox"), boxes(interior)
    assert media[0] == media[1] == [0, 0, width + bleed, height + 2 * bleed]
    assert trims[0] == [0, bleed, width, bleed + height]  # a recto: the bleed on the right
    assert trims[1] == [bleed, bleed, bleed + width, bleed + height]  # a verso: on the left


def test_a_sidecar_may_ask_for_print(tmp_path):
    story = tmp_path / "tale.txt"
    story.write_text(LIGHTHOUSE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tale.toml").write_text('print = "ingram"\npaper = "cream"\npage_size = "demy"\n', encoding="utf-8")
    interior, cover = build(tmp_path, story)
    assert boxes(interior)[0] == [0, 0, round(138 / 25.4 * PT, 2), round(216 / 25.4 * PT, 2)]
    assert cover.is_file()


def test_a_sidecar_naming_an_unknown_service_is_an_error_naming_it(tmp_path):
    story = tmp_path / "tale.txt"
    story.write_text(LIGHTHOUSE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tale.toml").write_text('print = "lulu"\n', encoding="utf-8")
    done = run_packager("build", story, "--to", "pdf", "--out-dir", tmp_path / "out", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'tale.toml'}: 'print' must be kdp or ingram, not 'lulu'"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_trim_the_service_does_not_print_is_a_usage_error(tmp_path):
    done = run_packager("build", LIGHTHOUSE, "--print", "kdp", "--page-size", "a5", "--out-dir", tmp_path, check=False)
    assert done.returncode == 2
    assert "Amazon KDP does not print 'a5'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_pdf_x_without_print_is_a_usage_error(tmp_path):
    done = run_packager("build", LIGHTHOUSE, "--pdf-variant", "pdf/x-1a", "--out-dir", tmp_path, check=False)
    assert done.returncode == 2
    assert "use it with --print" in done.stderr


def test_a_collection_naming_an_unknown_paper_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "tales"
    folder.mkdir()
    (folder / "tale.txt").write_text(LIGHTHOUSE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "collection.toml").write_text('print = "kdp"\npaper = "glossy"\n', encoding="utf-8")
    done = run_packager("build", folder, "--to", "pdf", "--out-dir", tmp_path / "out", check=False)
    assert done.returncode == 1
    assert f"{folder / 'collection.toml'}: 'paper' must be white or cream, not 'glossy'" in done.stderr


def test_the_interior_and_cover_are_the_same_bytes_from_one_process_or_two(short, tmp_path):
    """PDF/X markers, merged fonts and the wrap cover depend on nothing but the book."""
    interior, cover = short
    out = tmp_path / "again"
    env = dict(os.environ, PACKAGER_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-m", "packager", "build", str(LIGHTHOUSE), "--to", "pdf", "--jobs", "1",
                    "--print", "kdp", "--out-dir", str(out)], env=env, check=True, capture_output=True)
    assert (out / interior.name).read_bytes() == interior.read_bytes()
    assert (out / cover.name).read_bytes() == cover.read_bytes()


def test_a_batch_rerun_with_a_wrap_cover_finds_the_book_unchanged(tmp_path):
    stories = tmp_path / "stories"
    stories.mkdir()
    for name in ("the-night-ferry.txt", "a-small-kindness.md"):  # two stories: a batch, with its manifest
        (stories / name).write_text((ROOT / "stories" / name).read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    run_packager("build", stories, "--out-dir", out, "--print", "kdp", "--jobs", "1")
    assert len(list(out.glob("*.cover.pdf"))) == 2
    rerun = run_packager("build", stories, "--out-dir", out, "--print", "kdp", "--jobs", "1")
    assert "0 built, 2 unchanged" in rerun.stdout + rerun.stderr  # the manifest knows `<slug>.cover.pdf`
