"""War and Peace to PDF: packager with --jobs 1 and --jobs 2, the same book laid out by WeasyPrint as
one document in one process (the baseline for memory), a rebuild after appending a chapter, and the
peers (calibre's `ebook-convert`, pandoc's HTML through WeasyPrint), side by side in one run.

    python3 benchmarks/bench_pdf.py [--peers]

Each packager build starts from an empty chunk cache, except the rebuild, which appends one chapter
to a copy of the book and builds again over the cache the --jobs 2 build left. Peak memory is the
largest single process of each command's process tree, workers included (VmHWM sampled from /proc). Prints a table, the ratios against the
targets of issue 4, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT.parent / "shared" / "corpus" / "gutenberg" / "war-and-peace.txt"
PACKAGER = [sys.executable, "-m", "packager"]
# The same book, theme and cover as `packager build`, laid out as one WeasyPrint document in one
# process: what a renderer without chunks does (and what --pdf-variant does).
ONE_DOCUMENT = """
import sys
from pathlib import Path
from packager.build import resolve_cover, source_date
from packager.read.sources import find_stories
from packager.render.assets import load_theme
from packager.render.pdf import _build_whole
from packager.story import load_story
from packager.transform.pipeline import prepare_book
story = load_story(find_stories(Path(sys.argv[1]))[0])
book = prepare_book(story.book)[0]
pdf = _build_whole(book, load_theme(None), resolve_cover(story, None), source_date(story), 1, None, "")
Path(sys.argv[2]).write_bytes(pdf.data)
"""


def _tree(root: int) -> list[int]:
    """The pids of `root` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current and pid not in found]
        found.update(children)
        frontier.extend(children)
    return sorted(found)


def _peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds, and the peak resident memory (MB) of the largest single process in the command's
    process tree (workers included), sampled from /proc every 0.2 s."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env or os.environ.copy())
    peak = 0
    while process.poll() is None:
        peak = max([peak] + [_peak_kb(pid) for pid in _tree(process.pid)])
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with status {process.returncode}")
    return seconds, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", action="store_true", help="also time calibre and pandoc+WeasyPrint")
    args = parser.parse_args()
    if not BOOK.is_file():
        sys.exit(f"{BOOK} is missing: ../shared must sit beside the repository")
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        book = tmp_path / "war-and-peace.txt"
        shutil.copy(BOOK, book)
        for jobs in (1, 2):
            env = dict(os.environ, PACKAGER_CACHE_DIR=str(tmp_path / f"cache-{jobs}"))
            seconds, mb = run([*PACKAGER, "build", str(book), "--to", "pdf", "--jobs", str(jobs),
                               "--out-dir", str(tmp_path / f"out-{jobs}")], env)
            figures[f"packager --jobs {jobs}"] = {"s": seconds, "mb": mb}
            print(f"packager --jobs {jobs}: {seconds:.1f} s, {mb:.0f} MB", flush=True)
        seconds, mb = run([sys.executable, "-c", ONE_DOCUMENT, str(book), str(tmp_path / "one-document.pdf")])
        figures["one document, one process"] = {"s": seconds, "mb": mb}
        print(f"one document, one process: {seconds:.1f} s, {mb:.0f} MB", flush=True)
        sizes = {jobs: (tmp_path / f"out-{jobs}" / "war-and-peace.pdf").stat().st_size for jobs in (1, 2)}
        sizes["one document"] = (tmp_path / "one-document.pdf").stat().st_size
        identical = (tmp_path / "out-1" / "war-and-peace.pdf").read_bytes() == \
            (tmp_path / "out-2" / "war-and-peace.pdf").read_bytes()
        with book.open("a", encoding="utf-8") as stream:
            stream.write("\n\nCHAPTER XIII\n\nAnd here the story paused, and began again.\n")
        env = dict(os.environ, PACKAGER_CACHE_DIR=str(tmp_path / "cache-2"))
        seconds, mb = run([*PACKAGER, "build", str(book), "--to", "pdf", "--jobs", "2",
                           "--out-dir", str(tmp_path / "out-2")], env)
        figures["rebuild after appending a chapter"] = {"s": seconds, "mb": mb}
        print(f"rebuild: {seconds:.1f} s", flush=True)
        if args.peers:
            if shutil.which("ebook-convert"):
                env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox")
                seconds, mb = run(["ebook-convert", str(BOOK), str(tmp_path / "calibre.pdf")], env)
                figures["calibre ebook-convert"] = {"s": seconds, "mb": mb}
                print(f"calibre: {seconds:.1f} s", flush=True)
            if shutil.which("pandoc"):
                script = (f"import subprocess, weasyprint; html = subprocess.run(['pandoc', '-f', 'markdown', "
                          f"'-s', '--metadata', 'title=War and Peace', {str(BOOK)!r}, '-t', 'html'], check=True, "
                          f"capture_output=True).stdout; weasyprint.HTML(string=html).write_pdf("
                          f"{str(tmp_path / 'pandoc.pdf')!r})")
                seconds, mb = run([sys.executable, "-c", script])
                figures["pandoc html + WeasyPrint"] = {"s": seconds, "mb": mb}
                print(f"pandoc + WeasyPrint: {seconds:.1f} s", flush=True)
    one, two = figures["packager --jobs 1"], figures["packager --jobs 2"]
    whole = figures["one document, one process"]
    rebuild = figures["rebuild after appending a chapter"]
    print("\nwar-and-peace.txt to PDF, one run each")
    print(f"{'command':38} {'seconds':>8} {'peak MB':>8}")
    for name, value in figures.items():
        print(f"{name:38} {value['s']:8.1f} {value['mb']:8.0f}")
    ratios = {
        "jobs2 / jobs1 time (target <= 0.55)": two["s"] / one["s"],
        "jobs2 largest process / one-document render memory (target <= 0.5)": two["mb"] / whole["mb"],
        "jobs2 / one-document render time": two["s"] / whole["s"],
        "rebuild / full jobs2 build (target <= 0.15)": rebuild["s"] / two["s"],
    }
    for peer in ("calibre ebook-convert", "pandoc html + WeasyPrint"):
        if peer in figures:
            ratios[f"jobs2 / {peer} time (target < 1)"] = two["s"] / figures[peer]["s"]
    print()
    for name, value in ratios.items():
        print(f"{name:58} {value:6.2f}")
    print(f"{'PDF size, chunked / one document':58} {sizes[2] / sizes['one document']:6.2f}  "
          f"({sizes[2]:,} / {sizes['one document']:,} bytes)")
    print(f"{'--jobs 1 and --jobs 2 PDFs byte-identical':58} {identical}")
    print(json.dumps({"figures": figures, "ratios": ratios, "pdf_bytes": sizes, "identical": identical}))


if __name__ == "__main__":
    main()
