"""Interrupted and concurrent builds, as a specification: Ctrl-C during a long PDF render stops the
build with one line and status 130, leaving no partial book, no temporary file in the output folder
or the chunk cache, and no worker process; an interrupt while the files are written leaves nothing
either; two builds writing into the same folder at once both end with complete, valid books."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import shared

pytestmark = pytest.mark.slow  # PDF builds
from test_bad_input import GOOD_STORY, output_files


def war_and_peace_book_one(folder: Path) -> Path:
    """Book One of War and Peace (28 chapters, about 150 A5 pages): long enough to interrupt."""
    lines = shared("corpus", "gutenberg", "war-and-peace.txt").read_text(encoding="utf-8-sig").splitlines()
    start, stop = lines.index("BOOK ONE: 1805"), lines.index("BOOK TWO: 1805")
    path = folder / "war-and-peace-book-one.txt"
    path.write_text("War and Peace, Book One\nby Leo Tolstoy\n\n" + "\n".join(lines[start:stop]) + "\n",
                    encoding="utf-8")
    return path


def environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    return env | {"NO_COLOR": "1", "PACKAGER_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"}


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":  # a zombie has ended; only its parent's wait is missing
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_during_a_pdf_render_leaves_nothing_behind(tmp_path, jobs):
    story = war_and_peace_book_one(tmp_path)
    out, cache = tmp_path / "out", tmp_path / "cache"
    process = subprocess.Popen([sys.executable, "-m", "packager", "build", str(story), "--to", "epub,pdf",
                                "--jobs", str(jobs), "--out-dir", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment(cache))
    seen: set[int] = set()
    try:
        # the PDF is under way once WeasyPrint (and so Pango) is loaded: in the build itself with
        # --jobs 1, in the fork server and its workers with --jobs 2
        def rendering() -> bool:
            seen.update(descendants(process.pid))
            return any(loaded(pid, "libpango") for pid in {process.pid} | seen)
        assert wait_until(rendering, 120), "the PDF render never started"
        time.sleep(2.0)
        assert process.poll() is None, "the build ended before it could be interrupted"
        seen.update(descendants(process.pid))
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == ["error: interrupted"]
    assert output_files(out) == []
    cached = sorted(p.name for p in cache.rglob("*")) if cache.exists() else []
    assert not [name for name in cached if name.startswith(".")], f"temporary files left in the cache: {cached}"
    assert wait_until(lambda: not [pid for pid in seen if alive(pid)], 15), \
        f"processes left running: {[pid for pid in seen if alive(pid)]}"


def loaded(pid: int, library: str) -> bool:
    try:
        return library in (Path("/proc") / str(pid) / "maps").read_text()
    except OSError:
        return False


def test_an_interrupt_while_the_books_are_written_removes_what_was_begun(tmp_path, monkeypatch):
    from packager.build import write_outputs

    calls = []

    def interrupted_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the first file is written whole, the second half-way
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(tmp_path / "out", "book", {"epub": b"E" * 100_000, "pdf": b"P" * 100_000})
    assert len(calls) == 2
    assert output_files(tmp_path / "out") == []


def run_at_once(commands: list[list[str]], cwd: Path, cache: Path) -> list[subprocess.CompletedProcess]:
    processes = [subprocess.Popen([sys.executable, "-m", "packager", *command], cwd=cwd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=environment(cache)) for command in commands]
    results = []
    for process, command in zip(processes, commands):
        stdout, stderr = process.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


def assert_complete_books(out: Path, slugs: list[str]) -> None:
    """Exactly these books and nothing else; every EPUB entry whole and every XHTML file well-formed;
    every PDF ending in its trailer with all its pages readable."""
    assert output_files(out) == sorted(f"{slug}.{kind}" for slug in slugs for kind in ("epub", "pdf"))
    for slug in slugs:
        with zipfile.ZipFile(out / f"{slug}.epub") as archive:
            assert archive.testzip() is None
            assert archive.namelist()[0] == "mimetype"
            for name in archive.namelist():
                if name.endswith(".xhtml"):
                    etree.fromstring(archive.read(name))
        pdf = (out / f"{slug}.pdf").read_bytes()
        assert pdf.rstrip().endswith(b"%%EOF")
        reader = PdfReader(out / f"{slug}.pdf")
        assert len(reader.pages) > 1 and all(page.extract_text() is not None for page in reader.pages)


def test_two_builds_into_the_same_folder_at_once_both_finish_whole(tmp_path):
    """Two different stories built at the same moment into one output folder: both books complete and
    valid, nothing else left there. (The batch manifest of issue 5 is checked here once it lands.)"""
    (tmp_path / "harbour.txt").write_text(GOOD_STORY, encoding="utf-8")
    other = shared("seeds", "003_c873871c6bd971e6.txt")
    results = run_at_once([["build", "harbour.txt", "--out-dir", "out", "--jobs", "1"],
                           ["build", str(other), "--out-dir", "out", "--jobs", "1"]],
                          tmp_path, tmp_path / "cache")
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert_complete_books(tmp_path / "out", ["naruto-the-return-of-darkness", "the-quiet-harbour"])


def test_the_same_story_built_twice_at_once_gives_one_whole_book_of_each_kind(tmp_path):
    (tmp_path / "harbour.txt").write_text(GOOD_STORY, encoding="utf-8")
    command = ["build", "harbour.txt", "--out-dir", "out", "--jobs", "1"]
    results = run_at_once([command, command], tmp_path, tmp_path / "cache")
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert_complete_books(tmp_path / "out", ["the-quiet-harbour"])
    # and each is the very book a build alone makes
    alone = run_at_once([["build", "harbour.txt", "--out-dir", "alone", "--jobs", "1"]], tmp_path, tmp_path / "cache")
    assert alone[0].returncode == 0, alone[0].stderr
    for kind in ("epub", "pdf"):
        assert (tmp_path / "out" / f"the-quiet-harbour.{kind}").read_bytes() == \
            (tmp_path / "alone" / f"the-quiet-harbour.{kind}").read_bytes()
    assert not [p for p in (tmp_path / "cache").rglob(".*")], "temporary files left in the chunk cache"


# --- round two: signals that stop everything, workers that die with their build -----------------

def long_batch(folder: Path) -> Path:
    """A folder of three long books (Book One of War and Peace, retitled): a batch that takes a while."""
    stories = folder / "stories"
    stories.mkdir()
    text = war_and_peace_book_one(folder).read_text(encoding="utf-8")
    for number in (1, 2, 3):
        (stories / f"book-{number}.txt").write_text(text.replace("Book One", f"Copy {number}", 1), encoding="utf-8")
    return stories


def start_rendering(args: list[str], cache: Path, seen: set[int]) -> subprocess.Popen:
    """A build in its own process group, returned once its PDF workers are rendering."""
    process = subprocess.Popen([sys.executable, "-m", "packager", "build", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment(cache), start_new_session=True)

    def rendering() -> bool:
        seen.update(descendants(process.pid))
        return sum(loaded(pid, "libpango") for pid in seen) >= 2  # the fork server and a worker
    assert wait_until(rendering, 120), "the PDF render never started in workers"
    time.sleep(1.0)
    seen.update(descendants(process.pid))
    assert process.poll() is None, "the build ended before it could be stopped"
    return process


@pytest.mark.parametrize("shape", ["one book", "batch"])
def test_no_worker_outlives_a_build_killed_with_sigkill(tmp_path, shape):
    source = war_and_peace_book_one(tmp_path) if shape == "one book" else long_batch(tmp_path)
    seen: set[int] = set()
    process = start_rendering([str(source), "--to", "pdf", "--jobs", "2", "--out-dir", str(tmp_path / "out")],
                              tmp_path / "cache", seen)
    try:
        process.kill()
        process.communicate(timeout=30)
        assert wait_until(lambda: not [pid for pid in seen if alive(pid)], 15), \
            f"processes left running after SIGKILL: {[pid for pid in seen if alive(pid)]}"
    finally:
        for pid in seen:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", ["SIGTERM to the build", "Ctrl-C to the process group"])
def test_a_batch_stops_at_once_with_one_line(tmp_path, how):
    seen: set[int] = set()
    out = tmp_path / "out"
    process = start_rendering([str(long_batch(tmp_path)), "--to", "pdf", "--jobs", "2", "--out-dir", str(out)],
                              tmp_path / "cache", seen)
    try:
        started = time.monotonic()
        if how == "SIGTERM to the build":
            process.terminate()
        else:
            os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        stopped = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == ["error: interrupted"]
    assert stopped < 20, f"took {stopped:.1f}s to stop"  # it waited for the books in flight: 67 s
    assert not [name for name in output_files(out) if name.endswith((".pdf", ".part"))]
    assert wait_until(lambda: not [pid for pid in seen if alive(pid)], 15), \
        f"processes left running: {[pid for pid in seen if alive(pid)]}"


def test_ctrl_c_to_the_process_group_while_the_workers_start_is_one_line(tmp_path):
    """Ctrl-C from a terminal reaches every process of the group: the fork server too, which imports
    WeasyPrint for seconds before the first worker starts. The build alone answers, with one line."""
    story = war_and_peace_book_one(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "packager", "build", str(story), "--to", "epub,pdf",
                                "--jobs", "2", "--out-dir", str(tmp_path / "out")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment(tmp_path / "cache"),
                               start_new_session=True)
    seen: set[int] = set()
    try:
        def importing() -> bool:
            seen.update(descendants(process.pid))
            return any(loaded(pid, "libpango") for pid in seen)
        assert wait_until(importing, 120), "the fork server never began to import WeasyPrint"
        time.sleep(0.5)
        seen.update(descendants(process.pid))
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == ["error: interrupted"]
    assert output_files(tmp_path / "out") == []
    assert wait_until(lambda: not [pid for pid in seen if alive(pid)], 15), \
        f"processes left running: {[pid for pid in seen if alive(pid)]}"


def test_a_ctrl_c_that_lands_in_a_finalizer_prints_nothing_and_stops_the_build_after():
    # WeasyPrint's FontConfiguration.__del__ can be running when Ctrl-C comes: Python cannot raise it
    # there and would print "Exception ignored in ..." with a traceback; the build keeps it for later
    script = """
import signal, sys
from packager import processes
sys.unraisablehook = processes.quiet_swallowed_stop
class Finalized:
    def __del__(self):
        processes.request_stop(signal.SIGINT, None)
Finalized()
try:
    processes.raise_if_stopped()
except KeyboardInterrupt:
    print("stopped")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (result.stdout, result.stderr) == ("stopped\n", "")
