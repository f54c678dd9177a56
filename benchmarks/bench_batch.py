"""A batch of stories: `packager build FOLDER` with --jobs 1 and --jobs 2 side by side in one run, then
the unchanged rerun, against the targets of issue 5 (--jobs 2 at least 1.8x the throughput of --jobs 1;
the rerun under 2% of the full build's time).

    python3 benchmarks/bench_batch.py [--stories 40] [--to epub,pdf] [--keep]

The stories are copies of the seeds and the CC0 stories from ../shared, made in a temporary folder,
each with its own title (a sidecar) and a closing line of its own, so no two copies share a cached PDF
chunk or an output name. Each full build starts from an empty output folder and an empty chunk cache
(PACKAGER_CACHE_DIR). Prints a table and one JSON line.
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
SHARED = ROOT.parent / "shared"
PACKAGER = [sys.executable, "-m", "packager"]


def make_stories(folder: Path, count: int) -> int:
    """`count` distinct stories cycled from the seeds (story files) and the CC0 stories (folders);
    returns their words, roughly."""
    originals = sorted((SHARED / "seeds").glob("*.txt")) + sorted(p for p in (SHARED / "corpus" / "cc0").iterdir()
                                                                  if p.is_dir())
    folder.mkdir(parents=True)
    words = 0
    for number in range(1, count + 1):
        original = originals[(number - 1) % len(originals)]
        title = f'title = "Batch Story {number:03d}"\n'
        closing = f"\n\nThis is copy {number} of the benchmark's stories.\n"
        if original.is_dir():
            copy = folder / f"{original.name}-{number:03d}"
            shutil.copytree(original, copy)
            last = sorted(p for p in copy.iterdir() if p.suffix == ".md")[-1]
            (copy / "story.toml").write_text(title, encoding="utf-8")
        else:
            copy = folder / f"story-{number:03d}.txt"
            shutil.copy2(original, copy)
            last = copy
            copy.with_suffix(".toml").write_text(title, encoding="utf-8")
        with open(last, "a", encoding="utf-8") as stream:
            stream.write(closing)
        words += sum(len(p.read_text(encoding="utf-8", errors="replace").split())
                     for p in ([copy] if copy.is_file() else copy.glob("*.md")))
    return words


def build(folder: Path, out: Path, jobs: int, formats: str, cache: Path, report: Path) -> float:
    env = dict(os.environ, PACKAGER_CACHE_DIR=str(cache))
    started = time.perf_counter()
    result = subprocess.run([*PACKAGER, "build", str(folder), "--to", formats, "--jobs", str(jobs),
                             "--out-dir", str(out), "--report", str(report)], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"packager failed ({result.returncode}):\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=40, help="how many stories (default 40)")
    parser.add_argument("--to", default="epub,pdf", help="formats, as packager's --to (default epub,pdf)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        stories = work / "stories"
        words = make_stories(stories, args.stories)
        times = {}
        for jobs in (1, 2):
            times[f"jobs {jobs}"] = build(stories, work / f"out-{jobs}", jobs, args.to, work / f"cache-{jobs}",
                                          work / f"report-{jobs}.json")
            report = json.loads((work / f"report-{jobs}.json").read_text())
            if report["built"] != args.stories:
                sys.exit(f"--jobs {jobs} built {report['built']} of {args.stories} books")
        times["rerun"] = build(stories, work / "out-2", 2, args.to, work / "cache-2", work / "report-rerun.json")
        rerun = json.loads((work / "report-rerun.json").read_text())
        if rerun["skipped"] != args.stories:
            sys.exit(f"the rerun rebuilt {args.stories - rerun['skipped']} books")

        speedup = times["jobs 1"] / times["jobs 2"]
        rerun_share = times["rerun"] / times["jobs 2"]
        print(f"{args.stories} stories, about {words:,} words, formats {args.to}, on {os.cpu_count()} cores\n")
        print(f"{'run':<10} {'seconds':>9} {'books/min':>10}")
        for name, seconds in times.items():
            rate = args.stories / seconds * 60 if name != "rerun" else float("nan")
            print(f"{name:<10} {seconds:>9.2f} {rate:>10.1f}")
        print(f"\n--jobs 2 throughput / --jobs 1: {speedup:.2f}x (target >= 1.8)")
        print(f"unchanged rerun / full --jobs 2 build: {rerun_share:.2%} (target < 2%)")
        print(json.dumps({"stories": args.stories, "formats": args.to, "seconds": {k: round(v, 3) for k, v in
                                                                                  times.items()},
                          "speedup": round(speedup, 3), "rerun_share": round(rerun_share, 4)}))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
