#!/usr/bin/env python3
"""Benchmark: War and Peace (~566,000 words) to EPUB with packager, calibre and pandoc.

What it measures, side by side in one run, on
``<repo>/../shared/corpus/gutenberg/war-and-peace.txt``:

* packager: ``packager build war-and-peace.txt --to epub --out-dir TMP``
* calibre:  ``ebook-convert war-and-peace.txt out.epub``
* pandoc:   ``pandoc -f markdown war-and-peace.txt -o out.epub``

For each run it records the wall time (``time.perf_counter`` around
``subprocess.run``) and the peak memory: the max RSS that the kernel reports
for the child processes (``/usr/bin/time -f %M``, GNU time; without it, a fresh
Python wrapper per run reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``). Either
way that is the RSS of the largest single process in the tool's tree, not a sum.
Runs are interleaved (packager, calibre, pandoc, packager, ...) so machine noise
hits every tool alike. The table shows the median time, the largest peak RSS,
the speed-up factors calibre/packager and pandoc/packager, and whether the
targets hold: packager >= 20x faster than calibre, >= 5x faster than pandoc,
and under 300 MB at peak. The last line printed is a JSON record of all figures.

It is not part of the test suite. Run it on demand with the project's venv:

    /work/venv/bin/python benchmarks/bench_epub.py [--repeat 3] [--install]

calibre and pandoc are Debian packages; if either is missing the script says
how to install them, and with ``--install`` it runs apt-get itself.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT.parent / "shared" / "corpus" / "gutenberg" / "war-and-peace.txt"
GNU_TIME = "/usr/bin/time"
INSTALL_CMD = ["apt-get", "install", "-y", "--no-install-recommends", "calibre", "pandoc", "time"]
SPEEDUP_TARGETS = {"calibre": 20.0, "pandoc": 5.0}
MEMORY_TARGET_MB = 300.0

# calibre is a Qt program: make sure it never looks for a display or a sandbox.
CALIBRE_ENV = {"QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}

# Fallback when GNU time is absent: run the tool from a fresh interpreter, so
# RUSAGE_CHILDREN holds that one tool's processes only.
RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[2:]).returncode\n"
    "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(kb))\n"
    "sys.exit(rc)\n"
)


def packager_exe() -> list[str]:
    beside = Path(sys.executable).with_name("packager")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "packager"]


def commands(work: Path) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    """Tool name -> (command, output it must leave behind, extra env)."""
    out = work / "packager-out"
    return {
        "packager": (
            packager_exe() + ["build", str(BOOK), "--to", "epub", "--out-dir", str(out)],
            out / f"{BOOK.stem}.epub",
            {},
        ),
        "calibre": (["ebook-convert", str(BOOK), str(work / "calibre.epub")], work / "calibre.epub", CALIBRE_ENV),
        "pandoc": (["pandoc", "-f", "markdown", str(BOOK), "-o", str(work / "pandoc.epub")], work / "pandoc.epub", {}),
    }


def run_once(name: str, cmd: list[str], output: Path, extra_env: dict[str, str], work: Path) -> tuple[float, float]:
    """Run one conversion; return (wall seconds, peak RSS in MB)."""
    if output.parent.exists() and output.parent != work:
        shutil.rmtree(output.parent)
    output.unlink(missing_ok=True)
    rss_file = work / "rss.txt"
    if Path(GNU_TIME).exists():
        wrapped = [GNU_TIME, "-o", str(rss_file), "-f", "%M", *cmd]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(rss_file), *cmd]
    env = {**os.environ, **extra_env}
    start = time.perf_counter()
    proc = subprocess.run(wrapped, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        sys.exit(f"{name} failed (exit {proc.returncode}, output {output} missing or empty):\n{tail}")
    rss_kb = int(rss_file.read_text().split()[-1])  # GNU time may print a note before %M
    return seconds, rss_kb / 1024


def version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return "?"
    return out.splitlines()[0].strip() if out else "?"


def ensure_tools(install: bool) -> None:
    missing = [tool for tool in ("ebook-convert", "pandoc") if shutil.which(tool) is None]
    if not missing:
        return
    print(f"missing: {', '.join(missing)}. Install with:\n  apt-get update && apt-get install -y calibre pandoc time")
    if not install:
        sys.exit("(or rerun with --install to let this script do it)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(sudo + ["apt-get", "update"], check=True, env=env)
    subprocess.run(sudo + INSTALL_CMD, check=True, env=env)
    if shutil.which("ebook-convert") is None or shutil.which("pandoc") is None:
        sys.exit("install finished but ebook-convert or pandoc is still missing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, interleaved (default 3)")
    parser.add_argument("--install", action="store_true", help="apt-get install calibre and pandoc if missing")
    args = parser.parse_args()
    if not BOOK.is_file():
        sys.exit(f"corpus file not found: {BOOK}")
    ensure_tools(args.install)

    words = len(BOOK.read_text(encoding="utf-8", errors="replace").split())
    times: dict[str, list[float]] = {}
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-epub-") as tmp:
        work = Path(tmp)
        cmds = commands(work)
        for i in range(args.repeat):
            for name, (cmd, output, env) in cmds.items():
                seconds, mb = run_once(name, cmd, output, env, work)
                times.setdefault(name, []).append(seconds)
                peaks.setdefault(name, []).append(mb)
                print(f"  run {i + 1}/{args.repeat} {name:<8} {seconds:8.2f} s {mb:8.1f} MB", flush=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    peak = {name: max(p) for name, p in peaks.items()}
    speedup = {name: median[name] / median["packager"] for name in SPEEDUP_TARGETS}
    checks = {f"{target:g}x faster than {name}": speedup[name] >= target for name, target in SPEEDUP_TARGETS.items()}
    checks[f"peak memory < {MEMORY_TARGET_MB:g} MB"] = peak["packager"] < MEMORY_TARGET_MB

    print(f"\n{BOOK.name}: {words:,} words, {args.repeat} interleaved run(s) per tool")
    print(f"{'tool':<10}{'median s':>10}{'peak MB':>10}{'vs packager':>13}")
    for name in times:
        ratio = "1.0x" if name == "packager" else f"{speedup[name]:.1f}x"
        print(f"{name:<10}{median[name]:>10.2f}{peak[name]:>10.1f}{ratio:>13}")
    print("\ntargets for packager:")
    for label, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")

    record = {
        "book": BOOK.name,
        "words": words,
        "repeat": args.repeat,
        "versions": {
            "packager": version(packager_exe() + ["--version"]),
            "calibre": version(["ebook-convert", "--version"]),
            "pandoc": version(["pandoc", "--version"]),
        },
        "seconds": {name: [round(t, 3) for t in ts] for name, ts in times.items()},
        "median_s": {name: round(v, 3) for name, v in median.items()},
        "peak_mb": {name: round(v, 1) for name, v in peak.items()},
        "speedup_vs_packager": {name: round(v, 2) for name, v in speedup.items()},
        "targets_met": checks,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
