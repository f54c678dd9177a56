"""Linear cost: reading and detection time per MB for 1, 10 and 50 MB stories and a 10 MB story on
one line, and the peak memory of an EPUB build of the 50 MB story.

    python3 benchmarks/bench_linear.py [--repeat 3] [--no-memory] [--baseline CHECKOUT]

The stories are War and Peace's text (from ../shared) cut or repeated to size, each repetition's
books renumbered so they stay distinct parts; the one-line story is its paragraphs joined by spaces
on a single line, as some exporters save a chapter. Times are this process's CPU time (no start-up;
less swayed than the clock by other work on a shared machine), the
best of `--repeat` runs: reading (bytes to lines), detection (lines to the model) and preparation
(notes, typography, emphasis). Linear cost shows as the same time per MB at every size: the ratio
of the 50 MB story's time per MB to the 1 MB story's should stay near 1.

With `--baseline`, a checkout of another version (`git worktree add ../baseline <commit>`) is timed
on the same stories, each story in a fresh process per version, the two versions taking turns
(`--repeat` turns each, three times as many for the 1 MB story; the best kept): the ratio of this version's read+detect time per MB to the
baseline's is printed for each story (1.0: no worse).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from packager.detect.structure import SourceFile, detect_book
from packager.read.text import read_text_file
from packager.transform.pipeline import prepare_book

BOOK = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gutenberg" / "war-and-peace.txt"
MB = 1_000_000


def war_and_peace_body() -> str:
    text = BOOK.read_text(encoding="utf-8-sig")
    return text[text.index("BOOK ONE: 1805"):text.index("*** END OF THIS PROJECT GUTENBERG")]


def story_of_size(body: str, megabytes: float) -> str:
    """War and Peace cut (at a paragraph) or repeated to about `megabytes` MB."""
    target = int(megabytes * MB)
    parts = ["War and Peace, Again\nby Leo Tolstoy\n\n"]
    size = 0
    volume = 0
    while size < target:
        volume += 1
        text = re.sub(r"^BOOK (\w+)", rf"BOOK \1 OF VOLUME {volume}", body, flags=re.MULTILINE)
        if size + len(text.encode("utf-8")) > target:
            text = text.encode("utf-8")[: target - size].decode("utf-8", "ignore").rsplit("\n\n", 1)[0] + "\n"
        parts.append(text)
        size += len(text.encode("utf-8"))
    return "".join(parts)


def one_line_story(body: str, megabytes: float) -> str:
    paragraphs = [p for p in (" ".join(block.split()) for block in body.split("\n\n")) if len(p) > 200]
    words: list[str] = []
    size = 0
    while size < megabytes * MB:
        for paragraph in paragraphs:
            words.append(paragraph)
            size += len(paragraph.encode("utf-8")) + 1
            if size >= megabytes * MB:
                break
    return "The Long Line\n\n" + " ".join(words) + "\n"


def timed(path: Path, repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        start = time.process_time()
        source = read_text_file(path)
        read = time.process_time()
        book = detect_book([SourceFile(source.lines)])
        detected = time.process_time()
        prepare_book(book, "keep")
        prepared = time.process_time()
        for name, seconds in (("read", read - start), ("detect", detected - read), ("prepare", prepared - detected)):
            best[name] = min(best.get(name, seconds), seconds)
        del source, book
    return best


def timed_in_process(checkout: Path, path: Path) -> dict[str, float]:
    """timed(path, 1) in a fresh Python whose `packager` is the one in `checkout`."""
    import os

    result = subprocess.run([sys.executable, __file__, "--time-one", str(path)], check=True, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(checkout)}, cwd=checkout)
    return json.loads(result.stdout)


def compare(folder: Path, inputs: dict[str, str], baseline: Path, repeat: int) -> None:
    """Each story's read+detect time per MB, this version's against the baseline's, taking turns."""
    here = Path(__file__).resolve().parents[1]
    figures: dict[str, dict[str, float]] = {}
    print(f"{'story':<16} {'MB':>6} {'this s/MB':>10} {'baseline s/MB':>14} {'ratio':>6}")
    for name, text in inputs.items():
        path = folder / (re.sub(r"\W+", "-", name) + ".txt")
        path.write_text(text, encoding="utf-8")
        size = path.stat().st_size / MB
        best = {"this": float("inf"), "baseline": float("inf")}
        for _ in range(repeat * 3 if size < 5 else repeat):  # a small story's time is the noisier
            for label, checkout in (("this", here), ("baseline", baseline)):
                seconds = timed_in_process(checkout, path)
                best[label] = min(best[label], seconds["read"] + seconds["detect"])
        ratio = best["this"] / best["baseline"]
        figures[name] = {"mb": round(size, 2), "this_s_per_mb": round(best["this"] / size, 4),
                         "baseline_s_per_mb": round(best["baseline"] / size, 4), "ratio": round(ratio, 3)}
        print(f"{name:<16} {size:6.1f} {best['this'] / size:10.3f} {best['baseline'] / size:14.3f} {ratio:6.2f}")
    print(json.dumps(figures))


def peak_memory_of_epub_build(path: Path, out: Path) -> tuple[float, float]:
    """Peak resident memory (MB) and wall time of `packager build --to epub`, measured by a parent
    process that does nothing else (ru_maxrss of its children)."""
    measure = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
               "subprocess.run([sys.executable, '-m', 'packager', *sys.argv[1:]], check=True, "
               "stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - start)")
    result = subprocess.run([sys.executable, "-c", measure, "build", str(path), "--to", "epub", "--out-dir", str(out)],
                            check=True, capture_output=True, text=True)
    kilobytes, seconds = result.stdout.split()
    return int(kilobytes) / 1024, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the EPUB build of the 50 MB story")
    parser.add_argument("--baseline", type=Path, help="a checkout of another version to time beside this one")
    parser.add_argument("--time-one", type=Path, help=argparse.SUPPRESS)  # one timing, for --baseline
    args = parser.parse_args()
    if args.time_one:
        print(json.dumps(timed(args.time_one, 1)))
        return
    if not BOOK.is_file():
        sys.exit(f"{BOOK} is missing: ../shared must sit beside the repository")
    body = war_and_peace_body()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = {"1 MB": story_of_size(body, 1), "10 MB": story_of_size(body, 10),
                  "50 MB": story_of_size(body, 50), "10 MB, one line": one_line_story(body, 10)}
        if args.baseline:
            compare(folder, inputs, args.baseline.resolve(), args.repeat)
            return
        print(f"{'story':<16} {'MB':>6} {'read':>8} {'detect':>8} {'prepare':>8} {'read+detect':>12}  s/MB")
        for name, text in inputs.items():
            path = folder / (re.sub(r"\W+", "-", name) + ".txt")
            path.write_text(text, encoding="utf-8")
            size = path.stat().st_size / MB
            seconds = timed(path, args.repeat if size < 20 else max(1, args.repeat - 2))
            per_mb = (seconds["read"] + seconds["detect"]) / size
            figures[name] = {"mb": round(size, 2), **{k: round(v, 3) for k, v in seconds.items()},
                             "read_detect_s_per_mb": round(per_mb, 4),
                             "prepare_s_per_mb": round(seconds["prepare"] / size, 4)}
            print(f"{name:<16} {size:6.1f} {seconds['read']:8.2f} {seconds['detect']:8.2f} {seconds['prepare']:8.2f} "
                  f"{seconds['read'] + seconds['detect']:12.2f}  {per_mb:.3f}")
        ratio = figures["50 MB"]["read_detect_s_per_mb"] / figures["1 MB"]["read_detect_s_per_mb"]
        figures["ratio_50_to_1_per_mb"] = {"read_detect": round(ratio, 2)}
        print(f"time per MB, 50 MB / 1 MB: {ratio:.2f} (1.0 is linear)")
        if not args.no_memory:
            peak, seconds = peak_memory_of_epub_build(folder / "50-MB.txt", folder / "out")
            figures["epub_build_50_mb"] = {"peak_rss_mb": round(peak), "seconds": round(seconds, 1)}
            print(f"EPUB build of the 50 MB story: {seconds:.0f} s, peak memory {peak:.0f} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
