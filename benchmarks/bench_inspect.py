"""How much of an EPUB build is detection: `packager inspect --json` of War and Peace timed beside
`packager build --to epub` of the same book, interleaved in one run.

    python3 benchmarks/bench_inspect.py [--repeat 5] [--baseline CHECKOUT]

Prints the median wall time of each and the share of the build that reading and detection take
(inspect includes process start-up and imports, as the build does). With `--baseline`, a checkout of
another version (`git worktree add ../baseline <commit>`) is timed too, interleaved, and the ratio of
this version's inspect to the baseline's is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gutenberg" / "war-and-peace.txt"


def timed(args: list[str], checkout: str | None = None) -> float:
    env = dict(os.environ, PYTHONPATH=checkout) if checkout else None
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "packager", *args], check=True, stdout=subprocess.DEVNULL,
                   env=env, cwd=checkout)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="a checkout of another version to time beside this one")
    arguments = parser.parse_args()
    repeat, baseline = arguments.repeat, arguments.baseline
    if not BOOK.is_file():
        sys.exit(f"{BOOK} is missing: ../shared must sit beside the repository")
    inspect_s, build_s, baseline_s = [], [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            inspect_s.append(timed(["inspect", str(BOOK), "--json"], str(Path(__file__).resolve().parents[1])))
            build_s.append(timed(["build", str(BOOK), "--to", "epub", "--out-dir", out]))
            if baseline:
                baseline_s.append(timed(["inspect", str(BOOK), "--json"], str(Path(baseline).resolve())))
    figures = {"inspect_s": round(statistics.median(inspect_s), 3), "build_epub_s": round(statistics.median(build_s), 3)}
    figures["inspect_share_of_build"] = round(figures["inspect_s"] / figures["build_epub_s"], 3)
    print(f"war-and-peace.txt, {repeat} interleaved runs each (median)")
    print(f"  packager inspect --json   {figures['inspect_s']:6.2f} s")
    print(f"  packager build --to epub  {figures['build_epub_s']:6.2f} s")
    print(f"  inspect / build           {figures['inspect_share_of_build']:6.2f}")
    if baseline:
        figures["baseline_inspect_s"] = round(statistics.median(baseline_s), 3)
        figures["inspect_vs_baseline"] = round(figures["inspect_s"] / figures["baseline_inspect_s"], 3)
        print(f"  baseline inspect --json   {figures['baseline_inspect_s']:6.2f} s")
        print(f"  inspect / baseline's      {figures['inspect_vs_baseline']:6.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
