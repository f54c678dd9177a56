"""Batch builds of a folder of stories, as a specification: every story becomes its own EPUB and PDF,
in parallel; one broken story fails alone in one line; a second run rebuilds nothing and a changed
story rebuilds alone; collection.toml gives defaults that sidecars and the command line override."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import build_json, copy_stories, run_packager, shared

NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
SEED_AND_CC0_SLUGS = {
    "a25887fde3ef402d", "ccefe1a2f821cfff", "walk-with-me", "naruto-the-return-of-darkness", "01959ef59ffa0e27",
    "applejack-s-admirer", "creative-freedom", "darling-and-date",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    env["NO_COLOR"] = "1"
    return env


def build(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "packager", "build", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=900, env=_env())


def opf(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read(next(n for n in archive.namelist() if n.endswith(".opf"))))


def story(folder: Path, name: str, title: str, body: str = "It began.\n\nIt went on.\n\nIt ended.\n") -> Path:
    path = folder / name
    path.write_text(f"{title}\n\nChapter 1\n\n{body}", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def archive_build(tmp_path_factory):
    """The seeds and the CC0 stories, plus one corrupt story, built once as a batch in both formats."""
    root = tmp_path_factory.mktemp("archive")
    folder = copy_stories(root / "stories")
    (folder / "zz-corrupt.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    out = root / "out"
    result = build(folder, "--out-dir", out, "--jobs", "2", "--report", root / "report.json")
    return result, out, build_json(root / "report.json")


@pytest.mark.slow
def test_a_folder_of_the_seeds_and_the_cc0_stories_builds_one_epub_and_one_pdf_per_story(archive_build):
    _, out, report = archive_build
    built = {row["slug"] for row in report["books"] if row["status"] == "built"}
    assert built == SEED_AND_CC0_SLUGS
    for slug in SEED_AND_CC0_SLUGS:
        assert (out / f"{slug}.epub").read_bytes()[:2] == b"PK"
        assert (out / f"{slug}.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
def test_one_corrupt_story_fails_alone_with_a_one_line_reason(archive_build):
    result, out, report = archive_build
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "zz-corrupt.txt" in errors[0], result.stderr
    failed = [row for row in report["books"] if row["status"] == "failed"]
    assert [Path(row["source"]).name for row in failed] == ["zz-corrupt.txt"]
    assert "\n" not in failed[0]["error"]
    assert report["built"] == 8 and report["failed"] == 1
    assert not [p.name for p in out.iterdir() if p.name.endswith(".part") or p.name.startswith("zz")]


@pytest.mark.slow
def test_the_summary_table_shows_every_book_with_its_counts(archive_build):
    result, _, report = archive_build
    assert "8 built, 0 unchanged, 1 failed" in result.stdout
    for heading in ("Book", "Status", "Ch.", "Words", "Notes", "Warn.", "Time"):
        assert heading in result.stdout
    naruto = next(row for row in report["books"] if row["slug"] == "naruto-the-return-of-darkness")
    assert naruto["chapters"] == 1 and naruto["words"] > 5000 and naruto["notes_found"] >= 1
    assert naruto["outputs"] == ["naruto-the-return-of-darkness.epub", "naruto-the-return-of-darkness.pdf"]
    darling = next(row for row in report["books"] if row["slug"] == "darling-and-date")
    assert darling["chapters"] == 5 and darling["seconds"] > 0


@pytest.mark.slow
def test_notes_stripped_are_counted_in_the_report(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    shutil.copy2(shared("seeds", "003_c873871c6bd971e6.txt"), folder / "naruto.txt")
    story(folder, "plain.txt", "Plain Tale")
    result = build(folder, "--to", "epub", "--notes", "strip", "--out-dir", tmp_path / "out",
                   "--report", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    rows = {row["slug"]: row for row in build_json(tmp_path / "r.json")["books"]}
    naruto = rows["naruto-the-return-of-darkness"]
    assert naruto["notes_removed"] >= 1 and naruto["notes_found"] >= naruto["notes_removed"]
    assert (tmp_path / "out" / "naruto-the-return-of-darkness.notes.txt").is_file()
    assert rows["plain-tale"]["notes_removed"] == 0


# --- incremental ------------------------------------------------------------------------------------

@pytest.fixture
def small_archive(tmp_path):
    folder = copy_stories(tmp_path / "stories")
    out = tmp_path / "out"
    first = build(folder, "--to", "epub", "--out-dir", out, "--report", tmp_path / "first.json")
    assert first.returncode == 0, first.stderr
    return folder, out, tmp_path


def _statuses(report: Path) -> dict[str, str]:
    return {Path(row["source"]).name: row["status"] for row in build_json(report)["books"]}


@pytest.mark.slow
def test_a_second_run_over_an_unchanged_folder_rebuilds_nothing(small_archive):
    folder, out, tmp = small_archive
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.epub")}
    result = build(folder, "--to", "epub", "--out-dir", out, "--report", tmp / "second.json")
    assert result.returncode == 0, result.stderr
    assert set(_statuses(tmp / "second.json").values()) == {"skipped"}
    assert "0 built, 8 unchanged, 0 failed" in result.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.epub")} == before


@pytest.mark.slow
def test_changing_one_story_rebuilds_exactly_that_one(small_archive):
    folder, out, tmp = small_archive
    chapter = folder / "darling-and-date" / "03-dressmaking-and-determination.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more line at the end.\n", encoding="utf-8")
    result = build(folder, "--to", "epub", "--out-dir", out, "--report", tmp / "second.json")
    assert result.returncode == 0, result.stderr
    statuses = _statuses(tmp / "second.json")
    assert [name for name, status in statuses.items() if status == "built"] == ["darling-and-date"]
    assert list(statuses.values()).count("skipped") == 7


@pytest.mark.slow
def test_touching_a_story_rebuilds_it_because_its_date_is_in_the_book(small_archive):
    folder, out, tmp = small_archive
    seed = folder / "002_70d5451547c23a5a.txt"
    os.utime(seed, (seed.stat().st_atime, seed.stat().st_mtime + 3600))
    build(folder, "--to", "epub", "--out-dir", out, "--report", tmp / "second.json")
    statuses = _statuses(tmp / "second.json")
    assert [name for name, status in statuses.items() if status == "built"] == [seed.name]


@pytest.mark.slow
def test_a_deleted_output_is_rebuilt(small_archive):
    folder, out, tmp = small_archive
    (out / "walk-with-me.epub").unlink()
    build(folder, "--to", "epub", "--out-dir", out, "--report", tmp / "second.json")
    statuses = _statuses(tmp / "second.json")
    assert [name for name, status in statuses.items() if status == "built"] == ["002_70d5451547c23a5a.txt"]
    assert (out / "walk-with-me.epub").is_file()


@pytest.mark.slow
def test_other_build_options_rebuild_every_book(small_archive):
    folder, out, tmp = small_archive
    build(folder, "--to", "epub", "--style", "modern", "--out-dir", out, "--report", tmp / "second.json")
    assert set(_statuses(tmp / "second.json").values()) == {"built"}


@pytest.mark.slow
def test_a_changed_collection_file_rebuilds_the_books_under_it(small_archive):
    folder, out, tmp = small_archive
    (folder / "collection.toml").write_text('publisher = "The Archive"\n', encoding="utf-8")
    build(folder, "--to", "epub", "--out-dir", out, "--report", tmp / "second.json")
    assert set(_statuses(tmp / "second.json").values()) == {"built"}
    assert opf(out / "walk-with-me.epub").findtext(".//dc:publisher", namespaces=NS) == "The Archive"


@pytest.mark.slow
def test_a_retitled_story_leaves_no_book_under_its_old_name(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    tale = story(folder, "tale.txt", "Old Name")
    story(folder, "other.txt", "Other Tale")
    out = tmp_path / "out"
    build(folder, "--to", "epub", "--out-dir", out)
    assert (out / "old-name.epub").is_file()
    tale.write_text(tale.read_text(encoding="utf-8").replace("Old Name", "New Name"), encoding="utf-8")
    result = build(folder, "--to", "epub", "--out-dir", out)
    assert result.returncode == 0, result.stderr
    assert (out / "new-name.epub").is_file() and not (out / "old-name.epub").exists()
    assert not (out / "covers" / "old-name.jpg").exists()


@pytest.mark.slow
def test_two_stories_with_one_title_get_two_books(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    story(folder, "a.txt", "Same Title", "The first one.\n\nIt ends.\n")
    story(folder, "b.txt", "Same Title", "The second one.\n\nIt ends too.\n")
    result = build(folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.epub")) == ["same-title-2.epub", "same-title.epub"]
    assert "same-title-2" in result.stderr  # a warning says so


@pytest.mark.slow
def test_the_local_worker_processes_build_the_same_bytes_as_a_build_in_one_process(tmp_path):
    folder = copy_stories(tmp_path / "stories")
    one = build(folder, "--to", "epub", "--jobs", "1", "--out-dir", tmp_path / "one")
    two = build(folder, "--to", "epub", "--jobs", "2", "--out-dir", tmp_path / "two")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    books = sorted(p.name for p in (tmp_path / "one").glob("*.epub"))
    assert len(books) == 8
    for name in books:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_manifest_updates_from_two_builds_at_once_keep_both(tmp_path):
    """Each writer re-reads, merges and replaces under a lock: no entry is lost to a stale copy."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom packager.manifest import Entry, update_manifest\n"
        "out, name = Path(sys.argv[1]), sys.argv[2]\n"
        "for k in range(40):\n    update_manifest(out, {f'{name}-{k}': Entry(key='key', slug=f'{name}-{k}', outputs=[])})\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), name]) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    books = json.loads((tmp_path / ".packager-manifest.json").read_text())["books"]
    assert len(books) == 80


# --- collection.toml --------------------------------------------------------------------------------

@pytest.mark.slow
def test_collection_defaults_apply_and_the_sidecar_and_command_line_override_them(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    (folder / "collection.toml").write_text('author = "Collection Author"\nlanguage = "fr"\n'
                                            'publisher = "Maison"\n', encoding="utf-8")
    story(folder, "one.txt", "First Tale\nby Text Author")
    story(folder, "two.txt", "Second Tale")
    (folder / "two.toml").write_text('author = "Sidecar Author"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = build(folder, "--to", "epub", "--out-dir", out)
    assert result.returncode == 0, result.stderr
    first, second = opf(out / "first-tale.epub"), opf(out / "second-tale.epub")
    assert first.findtext(".//dc:creator", namespaces=NS) == "Collection Author"
    assert second.findtext(".//dc:creator", namespaces=NS) == "Sidecar Author"
    assert first.findtext(".//dc:language", namespaces=NS) == "fr"
    assert second.findtext(".//dc:publisher", namespaces=NS) == "Maison"
    build(folder, "--to", "epub", "--out-dir", out, "--language", "de", "--author", "Command Author")
    assert opf(out / "second-tale.epub").findtext(".//dc:language", namespaces=NS) == "de"
    assert opf(out / "second-tale.epub").findtext(".//dc:creator", namespaces=NS) == "Command Author"


@pytest.mark.slow
def test_collection_theme_and_notes_mode_are_defaults_for_every_story(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    shutil.copy2(shared("seeds", "003_c873871c6bd971e6.txt"), folder / "naruto.txt")
    story(folder, "plain.txt", "Plain Tale")
    (folder / "collection.toml").write_text('theme = "modern"\nnotes = "endnotes"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert build(folder, "--to", "epub", "--out-dir", out).returncode == 0
    with zipfile.ZipFile(out / "naruto-the-return-of-darkness.epub") as book:
        assert "EPUB/endnotes.xhtml" in book.namelist()
        assert "spaced paragraphs" in book.read("EPUB/styles/book.css").decode()  # the modern theme


def test_an_unknown_collection_key_is_a_warning_naming_it(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    story(folder, "one.txt", "First Tale")
    story(folder, "two.txt", "Second Tale")
    (folder / "collection.toml").write_text('autor = "Typo"\n', encoding="utf-8")
    result = build(folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("warning:") and "autor" in line and "collection.toml" in line
               for line in result.stderr.splitlines()), result.stderr


def test_a_collection_file_with_a_syntax_error_is_one_line_naming_file_and_line(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    story(folder, "one.txt", "First Tale")
    (folder / "collection.toml").write_text('author = "A"\nlanguage = = "en"\n', encoding="utf-8")
    result = build(folder, "--to", "epub", "--out-dir", tmp_path / "out")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "collection.toml:2" in lines[0], result.stderr


@pytest.mark.slow
def test_a_series_numbers_the_folders_books_in_the_given_order(tmp_path):
    folder = tmp_path / "saga"
    folder.mkdir()
    for name, title in (("a-dawn.txt", "Dawn"), ("b-noon.txt", "Noon"), ("c-dusk.txt", "Dusk")):
        story(folder, name, title)
    (folder / "collection.toml").write_text('series = "The Long Day"\norder = ["c-dusk.txt", "a-dawn"]\n',
                                            encoding="utf-8")
    out = tmp_path / "out"
    assert build(folder, "--to", "epub", "--out-dir", out).returncode == 0
    positions = {}
    for slug in ("dawn", "noon", "dusk"):
        meta = opf(out / f"{slug}.epub").find("opf:metadata", NS)
        named = {m.get("name"): m.get("content") for m in meta.findall("opf:meta", NS) if m.get("name")}
        props = {m.get("property"): m.text for m in meta.findall("opf:meta", NS) if m.get("property")}
        assert named["calibre:series"] == props["belongs-to-collection"] == "The Long Day"
        positions[slug] = (named["calibre:series_index"], props["group-position"])
    assert positions == {"dusk": ("1", "1"), "dawn": ("2", "2"), "noon": ("3", "3")}


@pytest.mark.slow
def test_a_folder_with_a_collection_file_is_never_read_as_one_story(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    story(folder, "01-one.txt", "First Tale")
    story(folder, "02-two.txt", "Second Tale")
    out = tmp_path / "out"
    assert build(folder, "--to", "epub", "--out-dir", out).returncode == 0
    assert len(list(out.glob("*.epub"))) == 1  # numbered files: one story's chapters
    (folder / "collection.toml").write_text('language = "en"\n', encoding="utf-8")
    assert build(folder, "--to", "epub", "--out-dir", tmp_path / "out2").returncode == 0
    assert sorted(p.name for p in (tmp_path / "out2").glob("*.epub")) == ["first-tale.epub", "second-tale.epub"]


def test_a_title_on_the_command_line_for_several_books_is_a_usage_error(tmp_path):
    folder = copy_stories(tmp_path / "stories")
    result = build(folder, "--to", "epub", "--title", "One Title", "--out-dir", tmp_path / "out")
    assert result.returncode == 2 and "--title" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_single_story_builds_as_before_without_a_manifest(tmp_path):
    run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "epub", "--out-dir", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk-with-me.epub"]


# --- failures inside workers ------------------------------------------------------------------------

def _tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "stories"
    folder.mkdir()
    story(folder, "one.txt", "First Tale")
    story(folder, "two.txt", "Second Tale")
    return folder


def test_an_unexpected_exception_while_building_fails_that_book_alone_in_one_line(tmp_path, monkeypatch):
    import packager.batch as batch
    from packager.build import BuildOptions
    from packager.read.sources import find_books

    real = batch.render_book

    def render(book, options):
        if book.path.name == "one.txt":
            raise ValueError("something\nbroke")
        return real(book, options)

    monkeypatch.setattr(batch, "render_book", render)
    found = find_books(_tiny_folder(tmp_path))
    report = batch.run_batch(found.books, BuildOptions(formats=("epub",), out_dir=tmp_path / "out", jobs=1),
                             library_title="Tales")
    rows = {Path(row.source).name: row for row in report.rows}
    assert rows["one.txt"].status == "failed" and rows["two.txt"].status == "built"
    assert rows["one.txt"].error.endswith("one.txt: unexpected ValueError: something broke")
    assert report.exit_code == 1


class _FlakyPool:
    """A pool whose worker is lost once (or always) while building `lose`."""

    slots = 2
    sends_bytes = True

    def __init__(self, lose: str, times: int):
        self.lose, self.times = lose, times

    def submit(self, task):
        import concurrent.futures
        from packager.batch import build_task
        future = concurrent.futures.Future()
        if task.label.endswith(self.lose) and self.times > 0:
            self.times -= 1
            future.set_exception(RuntimeError("worker killed"))
        else:
            future.set_result(build_task(task))
        return future

    def wait(self, futures):
        return list(futures)

    def close(self):
        pass


@pytest.mark.parametrize("times, status", [(1, "built"), (2, "failed")])
def test_a_lost_worker_is_retried_once_then_the_book_fails_alone(tmp_path, monkeypatch, times, status):
    import packager.batch as batch
    from packager.build import BuildOptions
    from packager.read.sources import find_books

    pool = _FlakyPool("one.txt", times)
    monkeypatch.setattr(batch, "_pool", lambda *args: pool)
    found = find_books(_tiny_folder(tmp_path))
    report = batch.run_batch(found.books, BuildOptions(formats=("epub",), out_dir=tmp_path / "out", jobs=2),
                             library_title="Tales")
    rows = {Path(row.source).name: row for row in report.rows}
    assert rows["one.txt"].status == status and rows["two.txt"].status == "built"
    if status == "failed":
        assert "worker building it was lost (worker killed)" in rows["one.txt"].error


@pytest.mark.slow
def test_an_output_folder_inside_the_stories_folder_is_not_read_as_stories(tmp_path):
    folder = _tiny_folder(tmp_path)
    (folder / "one.txt").write_text("First Tale\n\nChapter 1\n\nA/N: thanks for reading, review please!\n\n"
                                    "It began.\n\nIt ended.\n", encoding="utf-8")
    for _ in range(2):
        result = build(".", "--to", "epub", "--notes", "strip", "--out-dir", "dist", cwd=folder)
        assert result.returncode == 0, result.stderr
    assert "0 built, 2 unchanged" in result.stdout
    assert (folder / "dist" / "first-tale.notes.txt").is_file()
