"""Hardening, round two, as a specification: whatever the output folder, the cache or the files hold,
nothing outside the output folder is touched, state that does not verify is rebuilt, and every
resource has a limit that ends in one line, not a hang or a traceback.

Builds run the real CLI in a subprocess, as a user runs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_bad_input import GOOD_STORY, assert_one_line_error, png_bytes, stderr_lines

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

MANIFEST = ".packager-manifest.json"


def _env(cache: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    env["NO_COLOR"] = "1"
    if cache is not None:
        env["PACKAGER_CACHE_DIR"] = str(cache)
    return env


def packager(cwd: Path, *args: object, cache: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "packager", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_env(cache or cwd / "cache"))


def story_file(folder: Path, name: str, title: str, body: str = "It began.\n\nIt went on.\n\nIt ended.\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"{title}\n\nChapter 1\n\n{body}", encoding="utf-8")
    return path


def manifest_books(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))["books"]


def write_manifest_books(out: Path, books: dict) -> None:
    (out / MANIFEST).write_text(json.dumps({"format": 1, "books": books}), encoding="utf-8")


@pytest.fixture
def two_books(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of two stories built once as a batch (EPUB only)."""
    stories = tmp_path / "stories"
    story_file(stories, "alpha.txt", "Alpha")
    story_file(stories, "beta.txt", "Beta")
    out = tmp_path / "out"
    result = packager(tmp_path, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    return stories, out


# --- security: nothing read from the manifest names a path outside the output folder -------------

@pytest.mark.parametrize("tampered", [
    {"outputs": ["../victim.txt"]},
    {"outputs": ["VICTIM_ABSOLUTE"]},
    {"cover": "../victim.txt"},
    {"cover": "covers/../../victim.txt"},
    {"slug": "../victim", "outputs": ["../victim.txt"]},
    {"outputs": ["index.html"]},  # inside the folder, but no file of this book's
])
def test_a_tampered_manifest_never_removes_a_file_it_does_not_own(two_books, tampered):
    stories, out = two_books
    victim = out.parent / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    books = manifest_books(out)
    source = next(s for s in books if s.endswith("alpha.txt"))
    books[source].update({k: [str(victim) if v == "VICTIM_ABSOLUTE" else v for v in value]
                          if isinstance(value, list) else value for k, value in tampered.items()})
    books[source]["slug"] = tampered.get("slug", "old-alpha")  # a retitled book removes its old files
    write_manifest_books(out, books)
    story_file(stories, "alpha.txt", "Alpha Renamed")
    result = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == "precious"
    assert (out / "index.html").is_file()
    assert (out / "alpha-renamed.epub").is_file() and (out / "beta.epub").is_file()


@pytest.mark.parametrize("field, value", [
    ("outputs", 5), ("words", "many"), ("title", {}), ("slug", ["a", "list"]), ("authors", "one"),
    ("chapters", -3), ("series_index", True), ("cover", 7), ("key", None),
    ("title", json.loads("[" * 50 + "]" * 50)),
])
def test_a_manifest_entry_of_the_wrong_types_is_rebuilt_without_a_traceback(two_books, field, value):
    stories, out = two_books
    books = manifest_books(out)
    source = next(s for s in books if s.endswith("alpha.txt"))
    books[source][field] = value
    write_manifest_books(out, books)
    result = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "1 built, 1 unchanged" in result.stdout
    entry = manifest_books(out)[source]
    assert isinstance(entry["outputs"], list) and entry["slug"] == "alpha"


def test_a_manifest_nested_past_the_recursion_limit_only_costs_a_rebuild(two_books):
    stories, out = two_books
    (out / MANIFEST).write_text('{"books": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    result = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "2 built" in result.stdout


def test_two_books_that_swap_titles_swap_file_names(two_books):
    stories, out = two_books
    story_file(stories, "alpha.txt", "Beta")
    story_file(stories, "beta.txt", "Alpha")
    result = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.epub")) == ["alpha.epub", "beta.epub"]
    slugs = {Path(s).name: e["slug"] for s, e in manifest_books(out).items()}
    assert slugs == {"alpha.txt": "beta", "beta.txt": "alpha"}
    rerun = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert "0 built, 2 unchanged" in rerun.stdout


def test_a_part_file_left_by_a_killed_build_is_removed_by_the_next(two_books):
    stories, out = two_books
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = out / f".alpha.p{dead.pid}.x1y2z3.part"
    left.write_bytes(b"half a book")
    live = out / f".alpha.p{os.getpid()}.a1b2c3.part"  # a build running now keeps its own
    live.write_bytes(b"being written")
    story_file(stories, "alpha.txt", "Alpha", "Changed.\n")
    result = packager(out.parent, "build", stories, "--to", "epub", "--out-dir", out, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert not left.exists()
    assert live.exists()


# --- security: symbolic links out of the stylesheet's folder, in every build path ----------------

def outside_asset_stylesheet(tmp_path: Path) -> tuple[Path, Path]:
    """A stylesheet whose background image and imported sheet are links to files outside its folder."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "pic.png").write_bytes(png_bytes((40, 40), (255, 0, 0)))
    (secret / "x.css").write_text("body { background: url(pic.png); }", encoding="utf-8")
    styles = tmp_path / "style"
    styles.mkdir()
    (styles / "pic.png").symlink_to(secret / "pic.png")
    (styles / "x.css").symlink_to(secret / "x.css")
    css = styles / "mine.css"
    css.write_text('@import "x.css";\n@page { background: url(pic.png); }\n', encoding="utf-8")
    return css, secret


def pdf_images(pdf: Path) -> int:
    """Image objects anywhere in the PDF (a page background is drawn through a pattern)."""
    import pikepdf
    with pikepdf.open(pdf) as document:
        return sum(1 for o in document.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image")


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("shape", ["single", "batch", "dask"])
def test_an_asset_linked_from_outside_the_stylesheet_folder_is_never_read(tmp_path, shape, request):
    css, _ = outside_asset_stylesheet(tmp_path)
    stories = tmp_path / "stories"
    story_file(stories, "one.txt", "One")
    if shape != "single":
        story_file(stories, "two.txt", "Two")
    source = stories / "one.txt" if shape == "single" else stories
    where = ["--dask-scheduler", request.getfixturevalue("dask_cluster")] if shape == "dask" else ["--jobs", "2"]
    result = packager(tmp_path, "build", source, "--to", "pdf", "--out-dir", tmp_path / "out", "--style", css,
                      "--cover", "none", *where)
    assert result.returncode == 0, result.stderr
    pdfs = list((tmp_path / "out").glob("*.pdf"))
    assert len(pdfs) == (1 if shape == "single" else 2)
    for pdf in pdfs:
        assert pdf_images(pdf) == 0, f"{pdf.name} embeds the outside image"


def test_a_theme_name_is_a_name_never_a_path(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "theme.css").write_text("body { color: red }", encoding="utf-8")
    story = story_file(tmp_path, "story.txt", "Story")
    relative = os.path.relpath(elsewhere, Path(__file__).resolve().parents[1] / "styles")
    (tmp_path / "story.toml").write_text(f'style = "{relative}"\n', encoding="utf-8")
    result = packager(tmp_path, "build", story, "--to", "epub", "--out-dir", tmp_path / "out")
    assert_one_line_error(result, 2, "unknown theme", tmp_path / "out")


# --- state that heals: the chunk cache ----------------------------------------------------------

def chapters_story(folder: Path, chapters: int = 5, words: int = 200) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "story.txt"
    body = "".join(f"Chapter {n}\n\n" + ("Some words of the story. " * (words // 5)) + "\n\n"
                   for n in range(1, chapters + 1))
    path.write_text("A Story\n\n" + body, encoding="utf-8")
    return path


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


DAMAGE = {
    "empty": lambda path: path.write_bytes(b""),
    "cut short": lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
    "garbage": lambda path: path.write_bytes(os.urandom(300)),
    "wrong types": lambda path: path.write_text('{"pages": "7", "anchors": [], "refused": 5, "blanks": {}}')
    if path.suffix == ".json" else None,
    "a million pages": lambda path: path.write_text(json.dumps(
        {**json.loads(path.read_text()), "pages": 1_000_000})) if path.suffix == ".json" else None,
    "anchor past the end": lambda path: path.write_text(json.dumps(
        {**json.loads(path.read_text()), "anchors": {"chapter-001": [99, 0.0]}})) if path.suffix == ".json" else None,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_chunk_cache_entry_is_discarded_and_rendered_again(tmp_path, damage):
    story = chapters_story(tmp_path)
    cache = tmp_path / "cache"
    first = packager(tmp_path, "build", story, "--out-dir", tmp_path / "clean", "--jobs", "1", cache=cache)
    assert first.returncode == 0, first.stderr
    entries = sorted((cache / "pdf-chunks").glob("*.json")) + sorted((cache / "pdf-chunks").glob("*.pdf"))
    assert entries
    for path in entries:
        DAMAGE[damage](path)
    for _ in range(2):  # and the rebuilt cache serves the next build
        result = packager(tmp_path, "build", story, "--out-dir", tmp_path / "again", "--jobs", "1", cache=cache,
                          timeout=240)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert (tmp_path / "again" / "a-story.pdf").read_bytes() == (tmp_path / "clean" / "a-story.pdf").read_bytes()
        assert (tmp_path / "again" / "a-story.epub").is_file()


def test_the_epub_is_written_when_the_pdf_fails(tmp_path, monkeypatch):
    """A PDF that fails (here WeasyPrint failing on every document) costs the PDF, never the EPUB: the
    EPUB is written, the book reported failed in one line, status 1, and no manifest entry is kept."""
    import packager.render.pdf as pdf_module
    from packager.batch import run_batch
    from packager.build import BuildOptions
    from packager.read.sources import find_books

    def broken(job):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(pdf_module, "_lay_out", broken)
    story = chapters_story(tmp_path / "stories")
    out = tmp_path / "out"
    report = run_batch(find_books(story).books, BuildOptions(out_dir=out, jobs=1, cache_dir=tmp_path / "cache"),
                       incremental=False)
    row = report.rows[0]
    assert row.status == "failed" and report.exit_code == 1
    assert "the PDF failed (unexpected RuntimeError: layout failed); the EPUB was written" in row.error
    assert sorted(p.name for p in out.iterdir()) == ["a-story.epub"]


@pytest.mark.parametrize("css", ["h1, h2, .chapter, section { break-before: auto !important; "
                                 "page-break-before: auto !important; }",
                                 "body { columns: 2; }"])
def test_a_stylesheet_that_lets_chapters_share_a_page_gives_a_whole_pdf(tmp_path, css):
    story = chapters_story(tmp_path, chapters=5, words=60)
    sheet = tmp_path / "share.css"
    sheet.write_text(css, encoding="utf-8")
    result = packager(tmp_path, "build", story, "--out-dir", tmp_path / "out", "--style", sheet, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "out" / "a-story.pdf")
    assert all(f"Chapter {n}" in text for n in range(1, 6))
    assert (tmp_path / "out" / "a-story.epub").is_file()


# --- limits on every resource ---------------------------------------------------------------------

@pytest.mark.parametrize("size, problem", [
    ("0x0mm", "leaves too little room for the text"), ("1x1mm", "leaves too little room for the text"),
    ("30x30mm", "leaves too little room for the text"), ("60x200mm", "leaves too little room for the text"),
    ("6000x200mm", "larger than a PDF page can be"), ("100x300in", "larger than a PDF page can be"),
])
def test_a_page_size_too_small_for_text_or_too_large_for_a_pdf_is_a_usage_error(tmp_path, size, problem):
    story = story_file(tmp_path, "story.txt", "Story")
    result = packager(tmp_path, "build", story, "--page-size", size, "--out-dir", tmp_path / "out")
    line = assert_one_line_error(result, 2, size, tmp_path / "out")
    assert problem in line


def test_the_smallest_page_size_allowed_builds(tmp_path):
    story = story_file(tmp_path, "story.txt", "Story")
    result = packager(tmp_path, "build", story, "--to", "pdf", "--page-size", "80x99mm", "--out-dir", tmp_path / "out",
                      "--jobs", "1")
    assert result.returncode == 0, result.stderr


def test_a_sidecar_pattern_that_backtracks_without_end_is_one_line_naming_it(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Story\n\nChapter 1\n\n" + "a" * 60 + "!\n\nThe end.\n", encoding="utf-8")
    (tmp_path / "story.toml").write_text('[detect]\nnote_patterns = ["^(a|aa)+$"]\n', encoding="utf-8")
    result = packager(tmp_path, "build", story, "--to", "epub", "--out-dir", tmp_path / "out", timeout=60)
    line = assert_one_line_error(result, 1, "story.toml", tmp_path / "out")
    assert "detect.note_patterns: pattern '^(a|aa)+$' takes too long to match" in line


def peak_memory_mb(args: list[object], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run packager and return its result and the peak resident memory of it and every process it
    waited for, in MB."""
    process = subprocess.Popen([sys.executable, "-m", "packager", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env(cwd / "cache"))
    stdout, stderr = process.communicate(timeout=300)
    import resource
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), peak


@pytest.mark.parametrize("shape", ["one book", "batch"])
def test_a_multi_gb_cover_is_refused_before_it_is_read(tmp_path, shape):
    stories = tmp_path / "stories"
    story_file(stories / "tale", "01-tale.txt", "Tale")
    cover = stories / "tale" / "cover.jpg"
    with open(cover, "wb") as stream:  # 3 GB, sparse: nothing of it is on the disk until it is read
        stream.write(b"\xff\xd8\xff\xe0")
        stream.truncate(3 * 1024 ** 3)
    if shape == "batch":
        story_file(stories, "other.txt", "Other")
    source = stories / "tale" if shape == "one book" else stories
    result, peak = peak_memory_mb(["build", source, "--to", "epub", "--out-dir", tmp_path / "out", "--jobs", "2"],
                                  tmp_path)
    assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
    errors = [line for line in stderr_lines(result) if line.startswith("error:")]
    assert len(errors) == 1 and "too large" in errors[0] and "cover.jpg" in errors[0], result.stderr
    assert peak < 1024, f"peak memory {peak:.0f} MB"


def test_jobs_far_beyond_the_work_start_no_more_workers_than_there_is_work(tmp_path, monkeypatch):
    # counted in the pool itself: counting the build's child processes from outside also counts, under
    # load, WeasyPrint's look-ups of its libraries (gcc, ldconfig) caught between their fork and exec
    from datetime import datetime, timezone

    import packager.render.pdf as pdf_module
    from packager.read.sources import find_stories
    from packager.render.assets import load_theme
    from packager.story import load_story
    from packager.transform.pipeline import prepare_book

    pools: list[tuple[int, int]] = []  # (workers asked for, worker processes started)

    class CountedPool(pdf_module.ProcessPoolExecutor):
        def shutdown(self, *args, **kwargs):
            pools.append((self._max_workers, len(self._processes or {})))
            super().shutdown(*args, **kwargs)

    monkeypatch.setattr(pdf_module, "ProcessPoolExecutor", CountedPool)
    story = chapters_story(tmp_path, chapters=1, words=100)
    book, _ = prepare_book(load_story(find_stories(story)[0]).book)
    result = pdf_module.build_pdf(book, load_theme(None), None, datetime(2024, 1, 1, tzinfo=timezone.utc),
                                  jobs=999, cache_dir=None)
    assert result.pages > 0
    # one chunk and the front: two workers
    assert pools == [(2, 2)]


def test_a_16_bit_greyscale_png_cover_keeps_its_grey(tmp_path):
    import io
    import zipfile

    from PIL import Image

    story = story_file(tmp_path, "story.txt", "Story")
    cover = tmp_path / "grey.png"
    Image.new("I;16", (200, 300), 0x4000).save(cover)  # a quarter of full white
    result = packager(tmp_path, "build", story, "--to", "epub", "--cover", cover, "--out-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "story.epub") as archive:
        name = next(n for n in archive.namelist() if "cover" in n and n.endswith((".png", ".jpg")))
        image = Image.open(io.BytesIO(archive.read(name))).convert("L")
    assert abs(sum(image.getdata()) / (image.width * image.height) - 64) < 2


# --- data the PDF must not lose -------------------------------------------------------------------

def test_a_word_longer_than_the_line_is_broken_and_printed_whole(tmp_path):
    shout = "N" + "o" * 150 + "!"
    address = "https://example.org/" + "abcdefghij" * 15 + "/end.html"
    story = tmp_path / "story.txt"
    story.write_text(f"Long\n\nChapter 1\n\nHe shouted {shout} and then read {address} aloud.\n\nThe end.\n",
                     encoding="utf-8")
    result = packager(tmp_path, "build", story, "--to", "pdf", "--out-dir", tmp_path / "out", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "out" / "long.pdf"
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    from lxml import etree
    root = etree.fromstring(bbox.encode())
    words, inside = [], True
    for page in root.iter("{*}page"):
        width = float(page.get("width"))
        for word in page.iter("{*}word"):
            words.append(word.text or "")
            inside = inside and 0 <= float(word.get("xMin")) and float(word.get("xMax")) <= width
    joined = "".join(words).replace("\u2010", "").replace("-", "")
    assert shout in joined
    assert address.replace("-", "") in joined
    assert inside, "a word runs off the page"


# --- smaller: still one line, or safe output -------------------------------------------------------

def test_a_file_name_that_is_not_utf8_builds_in_a_batch_and_is_inspected(tmp_path):
    stories = tmp_path / "stories"
    stories.mkdir()
    latin1 = os.fsencode(stories) + b"/caf\xe9.txt"
    with open(latin1, "wb") as stream:
        stream.write(b"Cafe\n\nChapter 1\n\nIt began.\n")
    story_file(stories, "other.txt", "Other")
    result = packager(tmp_path, "build", stories, "--to", "epub", "--out-dir", tmp_path / "out",
                      "--report", tmp_path / "report.json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "out" / "cafe.epub").is_file()
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert any(book["source"].endswith("caf\udce9.txt") for book in report["books"])
    rerun = packager(tmp_path, "build", stories, "--to", "epub", "--out-dir", tmp_path / "out")
    assert "0 built, 2 unchanged" in rerun.stdout, rerun.stderr  # the manifest kept the name
    inspected = subprocess.run([sys.executable, "-m", "packager", "inspect", latin1, "--json"], capture_output=True,
                               cwd=tmp_path, env=_env())
    assert inspected.returncode == 0 and json.loads(inspected.stdout)["title"] == "Cafe", inspected.stderr


def test_terminal_escape_sequences_in_a_file_name_never_reach_the_terminal(tmp_path):
    name = "bad\x1b[2J\x1b]0;owned\x07.txt"
    story = tmp_path / name
    story.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a binary file: its name is in the error
    result = packager(tmp_path, "build", story, "--to", "epub", "--out-dir", tmp_path / "out")
    assert "\x1b" not in result.stderr + result.stdout and "\x07" not in result.stderr
    assert "bad\\x1b[2J\\x1b]0;owned\\x07.txt" in result.stderr
    assert_one_line_error(result, 1, "bad", tmp_path / "out")


def test_folders_nested_past_python_recursion_are_one_line(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    here = os.getcwd()
    try:
        os.chdir(folder)
        for _ in range(1100):
            os.mkdir("d")
            os.chdir("d")
        Path("story.txt").write_text("S\n\nChapter 1\n\nIt.\n", encoding="utf-8")
    finally:
        os.chdir(here)
    try:
        result = packager(tmp_path, "build", "deep", "--to", "epub", "--out-dir", tmp_path / "out")
    finally:  # too deep for shutil.rmtree (pytest's clean-up of old temporary folders) to remove
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    line = assert_one_line_error(result, 1, "deep/d/d", tmp_path / "out")
    assert "folders nested more than 100 deep" in line


def test_a_stylesheet_nested_past_python_recursion_is_one_line(tmp_path):
    story = story_file(tmp_path, "story.txt", "Story")
    sheet = tmp_path / "deep.css"
    sheet.write_text("p" + ":not(" * 10_000 + "a" + ")" * 10_000 + " { color: red }\n", encoding="utf-8")
    result = packager(tmp_path, "build", story, "--out-dir", tmp_path / "out", "--style", sheet)
    line = assert_one_line_error(result, 1, "deep.css", tmp_path / "out")
    assert "nested 10000 levels deep" in line


@pytest.mark.parametrize("command", [["inspect", "story.txt"], ["inspect", "story.txt", "--json"],
                                     ["build", "story.txt", "--to", "epub", "--out-dir", "out"]])
def test_a_full_stdout_is_one_line(tmp_path, command):
    story_file(tmp_path, "story.txt", "Story")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "packager", *command], cwd=tmp_path, stdout=full,
                                stderr=subprocess.PIPE, text=True, env=_env(), timeout=120)
    assert result.returncode == 1
    assert stderr_lines(result) == ["error: cannot write to standard output: No space left on device"]


def test_source_date_epoch_past_the_year_9999_is_one_line(tmp_path):
    story = story_file(tmp_path, "story.txt", "Story")
    env = _env() | {"SOURCE_DATE_EPOCH": "99999999999999999"}
    result = subprocess.run([sys.executable, "-m", "packager", "build", str(story), "--to", "epub", "--out-dir",
                             str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    line = assert_one_line_error(result, 2, "SOURCE_DATE_EPOCH", tmp_path / "out")
    assert "past the year 9999" in line


def test_a_scene_break_text_with_markup_characters_is_printed_as_written(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Story\n\nChapter 1\n\nFirst scene.\n\n* * *\n\nSecond scene.\n", encoding="utf-8")
    result = packager(tmp_path, "build", story, "--out-dir", tmp_path / "out", "--jobs", "1",
                      "--scene-break", "Tom & Jerry's <3")
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "out" / "story.pdf")
    assert "Tom&Jerry's<3" in "".join(text.split()).replace("\u2019", "'")  # letter-spaced
    assert "&amp;" not in text


def test_a_collection_toml_inside_an_anthology_is_named_in_a_warning(tmp_path):
    stories = tmp_path / "anthology"
    story_file(stories, "one.txt", "One")
    (stories / "collection.toml").write_text('anthology = true\ntitle = "Tales"\n', encoding="utf-8")
    inner = stories / "more"
    story_file(inner, "two.txt", "Two")
    (inner / "collection.toml").write_text('author = "Someone Else"\n', encoding="utf-8")
    result = packager(tmp_path, "build", stories, "--to", "epub", "--out-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert any("more/collection.toml: ignored" in line for line in stderr_lines(result)), result.stderr


@pytest.mark.parametrize("target", ["/dev/null", "folder", "link"])
def test_a_report_is_written_only_to_a_regular_file(tmp_path, target):
    story = story_file(tmp_path, "story.txt", "Story")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(story)
    result = packager(tmp_path, "build", story, "--to", "epub", "--out-dir", tmp_path / "out", "--report", target)
    assert_one_line_error(result, 2, "not a regular file", tmp_path / "out")
    assert story.read_text(encoding="utf-8").startswith("Story")


# --- cost near-linear in the input: no chunk unbounded ----------------------------------------------

def one_word_lines_book(lines: int):
    from packager.detect.structure import SourceFile, detect_book
    text = ["Lines", "", "Chapter 1: Endless", ""] + [f"word{n}" for n in range(lines)]
    return detect_book([SourceFile(text)])


def test_a_chapter_of_one_word_lines_is_cut_into_chunks_of_bounded_weight():
    from packager.render.layout import plan
    from packager.render.pdf import CHUNK_CHARACTERS, LINE_CHARACTERS, _chunks

    book = one_word_lines_book(50_000)
    chunks = _chunks(plan(book)[0])
    assert len(chunks) > 20
    weights = [sum(len(b.text) + LINE_CHARACTERS for e in chunk if e.chapter for b in e.chapter.blocks)
               for chunk in chunks]
    assert max(weights) <= CHUNK_CHARACTERS + 200, max(weights)
    printed = [b.text for chunk in chunks for e in chunk if e.chapter for b in e.chapter.blocks if b.kind == "paragraph"]
    assert printed == [f"word{n}" for n in range(50_000)]


def test_a_chapter_cut_into_chunks_prints_every_word_with_its_running_head(tmp_path, monkeypatch):
    from datetime import datetime, timezone

    from pypdf import PdfReader

    import packager.render.pdf as pdf_module
    from packager.render.assets import load_theme
    from packager.transform.pipeline import prepare_book
    from test_pdf import running_head

    monkeypatch.setattr(pdf_module, "CHUNK_CHARACTERS", 3000)  # a 600-line chapter in several chunks
    book, _ = prepare_book(one_word_lines_book(600), "keep", True, frozenset(), False)
    result = pdf_module.build_pdf(book, load_theme(None), None, datetime(2024, 1, 1, tzinfo=timezone.utc), jobs=1,
                                  cache_dir=None)
    (tmp_path / "book.pdf").write_bytes(result.data)
    from packager.render.layout import plan
    assert len(pdf_module._chunks(plan(book)[0])) > 3  # the chapter was cut
    words = pdf_text(tmp_path / "book.pdf").split()
    numbered = [w for w in words if re.fullmatch(r"word\d+", w)]  # word0 is set apart by the lead-in
    assert numbered[-599:] == [f"word{n}" for n in range(1, 600)]
    reader = PdfReader(tmp_path / "book.pdf")
    opening = next(i for i, page in enumerate(reader.pages) if "word0" in page.extract_text().split())
    heads = [running_head(page) for page in reader.pages[opening + 1:]]
    assert all(head in ("LINES", "CHAPTER 1: ENDLESS") for head in heads), heads  # none left bare
