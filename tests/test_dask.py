"""Building on a Dask cluster: a LocalCluster on loopback stands in for machines that cannot see our
disk. The books it builds are the same bytes the local worker processes build."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from distributed import LocalCluster

from conftest import build_json, copy_stories, shared

pytestmark = pytest.mark.slow  # PDF builds
from packager.batch import BookTask, absolute_book, absolute_options, book_files, build_task, pack
from packager.build import BuildOptions
from packager.read.sources import find_books


def build(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "packager", "build", *map(str, args)], capture_output=True,
                          text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local_cluster:
        yield local_cluster.scheduler_address


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix in (".epub", ".pdf", ".jpg", ".png")}


def test_the_dask_cluster_builds_the_same_books_as_local_processes(cluster, tmp_path):
    folder = copy_stories(tmp_path / "stories")
    (folder / "zz-corrupt.txt").write_bytes(bytes(range(256)) * 16)
    local = build(folder, "--to", "epub", "--jobs", "2", "--out-dir", tmp_path / "local",
                  "--report", tmp_path / "local.json")
    dask = build(folder, "--to", "epub", "--dask-scheduler", cluster, "--out-dir", tmp_path / "dask",
                 "--report", tmp_path / "dask.json")
    assert local.returncode == dask.returncode == 1, dask.stderr
    built = _files(tmp_path / "dask")
    assert len([name for name in built if name.endswith(".epub")]) == 8
    assert built == _files(tmp_path / "local")
    failed = [row for row in build_json(tmp_path / "dask.json")["books"] if row["status"] == "failed"]
    assert len(failed) == 1 and "zz-corrupt.txt" in failed[0]["error"]
    assert "packager-book-" not in failed[0]["error"]  # the worker's folder is not shown, the story's is


def test_pdfs_built_on_the_cluster_are_the_same_as_local_ones(cluster, tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    for seed, name in (("002_70d5451547c23a5a.txt", "walk.txt"), ("004_01959ef59ffa0e27.txt", "other.txt")):
        shutil.copy2(shared("seeds", seed), folder / name)
    assert build(folder, "--to", "pdf", "--jobs", "2", "--out-dir", tmp_path / "local").returncode == 0
    result = build(folder, "--to", "pdf", "--dask-scheduler", cluster, "--out-dir", tmp_path / "dask")
    assert result.returncode == 0, result.stderr
    local_files, dask_files = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert sorted(dask_files) == sorted(local_files) == ["covers/other.jpg", "covers/walk-with-me.jpg", "other.pdf",
                                                         "walk-with-me.pdf"]
    for name in ("other.pdf", "walk-with-me.pdf"):  # a PDF is not byte-reproducible; its pages are the same
        assert _pdf_pages(tmp_path / "dask" / name) == _pdf_pages(tmp_path / "local" / name)


def _pdf_pages(path: Path) -> tuple:
    reader = PdfReader(path)
    return (reader.metadata.title, [item.title for item in reader.outline if not isinstance(item, list)],
            [page.extract_text() for page in reader.pages])


def test_a_task_carries_its_files_so_a_worker_needs_nothing_of_our_disk(tmp_path):
    folder = tmp_path / "stories"
    shutil.copytree(shared("corpus", "cc0", "creative-freedom"), folder / "creative-freedom")
    (folder / "collection.toml").write_text('author = "Somebody"\n', encoding="utf-8")
    (folder / "other.txt").write_text("Other\n\nChapter 1\n\nText.\n\nMore text.\n", encoding="utf-8")
    options = absolute_options(BuildOptions(formats=("epub",)))
    book = absolute_book(find_books(folder).books[0])
    task = pack(BookTask("id", "creative-freedom", book, options, thumbnail=True), book_files(book, options))
    shutil.rmtree(folder)  # the worker must build from the bytes alone
    outcome = build_task(task)
    assert outcome.error is None, outcome.error
    assert outcome.facts.title == "Creative Freedom" and outcome.facts.authors == ["Somebody"]
    assert outcome.files["epub"][:2] == b"PK" and outcome.cover is not None


def test_without_the_distributed_package_the_option_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "distributed.py").write_text("raise ImportError('not installed')\n", encoding="utf-8")
    story = tmp_path / "story.txt"
    story.write_text("Tale\n\nChapter 1\n\nText.\n\nMore.\n", encoding="utf-8")
    env = dict(__import__("os").environ, PYTHONPATH=str(blocker), NO_COLOR="1")
    result = build(story, "--to", "epub", "--dask-scheduler", "tcp://127.0.0.1:8786", "--out-dir",
                   tmp_path / "out", env=env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "distributed" in lines[0] and "packager[dask]" in lines[0]
    assert not (tmp_path / "out").exists()


def test_dataclass_paths_are_moved_under_the_workers_folder():
    from packager.batch import _moved
    book = absolute_book(find_books(shared("corpus", "cc0", "darling-and-date")).books[0])
    moved = _moved(book, book.path.parent, Path("/worker"))
    assert moved.stories[0].path == Path("/worker/darling-and-date")
    assert all(p.parent == Path("/worker/darling-and-date") for p in moved.stories[0].files)
    assert dataclasses.asdict(moved) != dataclasses.asdict(book)


def test_a_worker_with_another_packager_version_refuses_the_task(tmp_path):
    story = tmp_path / "tale.txt"
    story.write_text("Tale\n\nChapter 1\n\nText.\n\nMore.\n", encoding="utf-8")
    book = absolute_book(find_books(story).books[0])
    options = absolute_options(BuildOptions(formats=("epub",)))
    task = dataclasses.replace(pack(BookTask("id", "tale.txt", book, options), book_files(book, options)),
                               version="0.0.0-other")
    outcome = build_task(task)
    assert outcome.files == {} and "packager 0.0.0-other" in outcome.error
