"""Count what a typographer counts on the PDF's body pages (issue 12, items 5 and 6).

    python3 benchmarks/typecount.py                    # build the three books, then count
    python3 benchmarks/typecount.py --pdf BOOK.pdf     # count one PDF already built

For each book: the share of text lines ending in a hyphen, runs of 3 or more such lines in a row
(within a page), right-hand pages whose last line ends in a hyphen, facing text pages (neither an
opening nor a chapter's last page) whose last lines are more than 0 and more than 1 line apart, body
pages of fewer than 5 lines, and the build's time. The books: Pride and Prejudice on 6x9in (classic),
A Christmas Carol on A5 in classic and modern. Each build starts from an empty chunk cache and runs
with --jobs 1. `--size` also lays Pride and Prejudice out as one WeasyPrint document in one process
and prints the merged PDF's size beside it.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUTENBERG = ROOT.parent / "shared" / "corpus" / "gutenberg"
BOOKS = {
    "pride 6x9 classic": (GUTENBERG / "pride-and-prejudice.txt", ["--page-size", "6x9in"]),
    "carol a5 classic": (GUTENBERG / "a-christmas-carol.txt", []),
    "carol a5 modern": (GUTENBERG / "a-christmas-carol.txt", ["--style", "modern"]),
}
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
HYPHENS = ("-", "\u2010", "\xad")  # a hyphen, the hyphenation character WeasyPrint sets, a soft hyphen
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)

ONE_DOCUMENT = """
import sys
from pathlib import Path
from packager.build import resolve_cover, source_date
from packager.read.sources import find_stories
from packager.render.assets import load_theme
from packager.render.pdf import _build_whole, print_cover
from packager.story import load_story
from packager.transform.pipeline import prepare_book
story = load_story(find_stories(Path(sys.argv[1]))[0])
book = prepare_book(story.book)[0]
theme = load_theme(None, sys.argv[3])
pdf = _build_whole(book, theme, print_cover(resolve_cover(story, None), theme), source_date(story), 1, None, "")
Path(sys.argv[2]).write_bytes(pdf.data)
"""

# The same book built in chunks in one process (--jobs 1, no cache), with the second pass
# (packager/render/linebreaks.py) given the rounds argv[4] says: 0 lays each chunk out once, "-" as
# many as the second pass takes.
ROUNDS = """
import sys, time
from pathlib import Path
from packager.build import resolve_cover, source_date
from packager.read.sources import find_stories
from packager.render import linebreaks
from packager.render.assets import load_theme
from packager.render.pdf import build_pdf
from packager.story import load_story
from packager.transform.pipeline import prepare_book
if sys.argv[4] != "-":
    linebreaks.MAX_ROUNDS = int(sys.argv[4])
story = load_story(find_stories(Path(sys.argv[1]))[0])
book = prepare_book(story.book)[0]
began = time.perf_counter()
pdf = build_pdf(book, load_theme(None, sys.argv[3]), resolve_cover(story, None), source_date(story), 1, None)
print(time.perf_counter() - began)
Path(sys.argv[2]).write_bytes(pdf.data)
"""


def body_pages(pdf: Path) -> tuple[list[list[tuple[float, str]]], int, set[int]]:
    """Each page's text lines (baseline, last word) between running head and folio; the index of
    page 1; the indices of the pages a bookmark points at (openings)."""
    import pikepdf

    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for _, height, body in PAGE.findall(out):
        lines: dict[int, tuple[float, float, str]] = {}
        for x0, _, _, y1, word in WORD.findall(body):
            key = round(float(y1))
            if key not in lines or float(x0) > lines[key][0]:
                lines[key] = (float(x0), float(y1), html.unescape(word))
        top, foot = float(height) * 0.08, float(height) * 0.91
        pages.append([(y, w) for _, (_, y, w) in sorted(lines.items()) if top < y < foot])
    with pikepdf.open(pdf) as document:
        labels = document.Root.get("/PageLabels")
        nums = list(labels.Nums) if labels is not None else []
        first = next((int(nums[i]) for i in range(0, len(nums), 2) if nums[i + 1].get("/S") == "/D"), 0)
        openings = set()
        with document.open_outline() as outline:
            stack = list(outline.root)
            while stack:
                item = stack.pop()
                stack.extend(item.children)
                destination = item.destination if item.destination is not None else (item.action or {}).get("/D")
                if destination is not None:
                    openings.add(next(i for i, p in enumerate(document.pages) if p.obj.objgen == destination[0].objgen))
    return pages, first, openings


def count(pdf: Path, pitch: float | None = None) -> dict[str, float]:
    pages, first, openings = body_pages(pdf)
    body = pages[first:]
    lines = [w for page in body for _, w in page]
    hyphened = [w.endswith(HYPHENS) for w in lines]
    runs = 0
    for page in body:
        run = 0
        for _, word in page + [(0.0, "")]:
            if word.endswith(HYPHENS):
                run += 1
            else:
                runs += run >= 3
                run = 0
    rectos = sum(1 for index in range(first, len(pages), 2) if pages[index] and pages[index][-1][1].endswith(HYPHENS))
    gaps = [b - a for page in body for (a, _), (b, _) in zip(page, page[1:])]
    pitch = pitch or sorted(gaps)[len(gaps) // 2]
    spreads = apart0 = apart1 = opening_spreads = opening_apart = off_grid = 0
    for verso in range(first + 1, len(pages) - 2, 2):
        recto = verso + 1
        if {recto, recto + 1} & openings or not all((pages[verso], pages[recto], pages[recto + 1])):
            continue  # a chapter's last page (the next page opens a chapter), or an empty page
        difference = abs(pages[verso][-1][0] - pages[recto][-1][0]) / pitch
        if verso in openings:  # a chapter opening facing the chapter's next page
            opening_spreads += 1
            opening_apart += round(difference) > 0
            off_grid += abs(difference - round(difference)) > 0.05
            continue
        spreads += 1
        apart0 += round(difference) > 0
        apart1 += round(difference) > 1
    return {"lines": len(lines), "hyphen %": 100 * sum(hyphened) / max(1, len(lines)), "runs 3+": runs,
            "rectos mid-word": rectos, "spreads": spreads, "apart >0": apart0, "apart >1": apart1,
            "opening spreads": opening_spreads, "apart": opening_apart, "off grid": off_grid,
            "pages < 5 lines": sum(1 for page in body if 0 < len(page) < 5), "pages": len(pages)}


def build(source: Path, options: list[str], out: Path) -> tuple[Path, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PACKAGER_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "packager", "build", str(source), "--to", "pdf", "--jobs", "1",
                        "--out-dir", str(out), *options], check=True, env=env, capture_output=True, cwd=ROOT)
        seconds = time.perf_counter() - began
    return next(out.glob("*.pdf")), seconds


def show(name: str, figures: dict[str, float]) -> None:
    print(f"{name:22} " + "  ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in figures.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf", type=Path, help="count this PDF instead of building the books")
    parser.add_argument("--only", help="build only the books whose name holds this")
    parser.add_argument("--size", action="store_true", help="compare with a one-process render's size")
    parser.add_argument("--keep", type=Path, help="keep the PDFs in this folder")
    parser.add_argument("--cost", action="store_true",
                        help="time Pride and Prejudice's PDF laid out once and with the second pass, side by side")
    arguments = parser.parse_args()
    if arguments.pdf:
        show(arguments.pdf.name, count(arguments.pdf))
        return
    with tempfile.TemporaryDirectory() as folder:
        base = arguments.keep or Path(folder)
        base.mkdir(parents=True, exist_ok=True)
        if arguments.cost:
            source, _ = BOOKS["pride 6x9 classic"]
            seconds = {}
            for rounds in (0, "-"):
                pdf = base / f"rounds-{rounds}.pdf"
                out = subprocess.run([sys.executable, "-c", ROUNDS, str(source), str(pdf), "6x9in", str(rounds)],
                                     check=True, cwd=ROOT, capture_output=True, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
                seconds[rounds] = float(out.split()[-1])
                show(f"pride rounds {rounds}", {**count(pdf), "s": seconds[rounds]})
            print(f"second pass: {seconds['-']:.1f} s / laid out once {seconds[0]:.1f} s = {seconds['-'] / seconds[0]:.2f}")
            return
        for name, (source, options) in BOOKS.items():
            if arguments.only and arguments.only not in name:
                continue
            out = base / name.replace(" ", "-")
            out.mkdir(parents=True, exist_ok=True)
            pdf, seconds = build(source, options, out)
            show(name, {**count(pdf), "s": seconds, "bytes": pdf.stat().st_size})
        if arguments.size:
            source, options = BOOKS["pride 6x9 classic"]
            one = base / "one-document.pdf"
            subprocess.run([sys.executable, "-c", ONE_DOCUMENT, str(source), str(one), "6x9in"], check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
            merged = next((base / "pride-6x9-classic").glob("*.pdf"))
            print(f"PDF size, merged / one process: {merged.stat().st_size / one.stat().st_size:.3f} "
                  f"({merged.stat().st_size:,} / {one.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
