"""Hostile stories to EPUB and PDF: time and peak memory of a whole build (`--jobs 1`, a cold cache).

    python3 benchmarks/bench_hostile.py [--timeout 600] [--memory-limit 6] [--only a,b,c] [--scale 1]

- (a) one paragraph of 2,000,000 combining marks on a few base letters (Zalgo text);
- (b) one paragraph of about 5 MB of War and Peace's words, with no blank line and no line break;
- (c) 500,000 one-word lines.

Each is built with `packager build FILE --to epub,pdf --jobs 1` under `/usr/bin/time -v` (its peak
resident memory, the largest of the build and its children), stopped after `--timeout` seconds and
refused more than `--memory-limit` GB of address space (so a runaway build cannot take the shared
machine down; a build stopped at the time limit shows the largest resident memory its processes were
seen to hold together, sampled twice a second). Prints, for each: seconds, peak RSS in MB, exit status, PDF pages and the build's
warnings or error. `--scale 0.1` makes every input a tenth as big (a quick look; cost should scale
with it).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gutenberg" / "war-and-peace.txt"


def words() -> list[str]:
    text = BOOK.read_text(encoding="utf-8-sig")
    return text[text.index("BOOK ONE: 1805"):text.index("*** END OF THIS PROJECT GUTENBERG")].split()


def zalgo(scale: float) -> str:
    marks = int(2_000_000 * scale)
    bases = "aeiou"
    per_base = marks // len(bases)
    return "Zalgo\n\n" + "".join(base + "\u0301" * per_base for base in bases) + "\n"


def one_paragraph(scale: float) -> str:
    pool, out, size, target = words(), [], 0, int(5_000_000 * scale)
    while size < target:
        for word in pool:
            out.append(word)
            size += len(word) + 1
            if size >= target:
                break
    return "One Paragraph\n\n" + " ".join(out) + "\n"


def one_word_lines(scale: float) -> str:
    pool = [w for w in (re.sub(r"\W", "", w) for w in words()) if w]
    count = int(500_000 * scale)
    return "One Word a Line\n\n" + "\n".join(pool[i % len(pool)] for i in range(count)) + "\n"


CASES = {"a": ("2,000,000 combining marks", zalgo), "b": ("5 MB in one paragraph", one_paragraph),
         "c": ("500,000 one-word lines", one_word_lines)}


def pdf_pages(path: Path) -> int | None:
    if not path.exists():
        return None
    from pypdf import PdfReader
    return len(PdfReader(path).pages)


def build(story: Path, out: Path, timeout: float, memory_gb: float) -> tuple[float, int, int | str, str]:
    limit = int(memory_gb * 1024 ** 3)

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | {
        "NO_COLOR": "1", "PACKAGER_CACHE_DIR": str(out / "cache"), "SOURCE_DATE_EPOCH": "1700000000"}
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "packager", "build", str(story), "--to", "epub,pdf",
               "--jobs", "1", "--out-dir", str(out / "books")]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=limited, start_new_session=True)
    sampled = 0  # the group's resident memory, sampled: what a build stopped at the time limit reached
    while process.poll() is None and time.perf_counter() - started < timeout:
        sampled = max(sampled, group_rss(process.pid))
        time.sleep(0.5)
    if process.poll() is None:
        os.killpg(process.pid, 9)
        status: int | str = f"killed after {timeout:.0f} s"
    else:
        status = process.returncode
    stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if peak is None or isinstance(status, str):
        return elapsed, sampled // 1024, status, said_lines(stdout + stderr)
    return elapsed, int(peak.group(1)) // 1024, status, said_lines(stdout + stderr)


def said_lines(output: str) -> str:
    said = [line.strip() for line in output.splitlines()
            if line.strip().startswith(("warning", "error", "Command exited", "Traceback", "MemoryError"))
            or "Error" in line and not line.startswith("\t")]
    return " | ".join(said)[:400]


def group_rss(group: int) -> int:
    """Resident kB of every process in the process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--memory-limit", type=float, default=6.0, help="GB of address space")
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print(f"{'input':30} {'seconds':>8} {'peak MB':>8} {'status':>8} {'pages':>6}  said")
    for name in args.only.split(","):
        label, make = CASES[name]
        with tempfile.TemporaryDirectory(prefix="packager-hostile-") as folder:
            story = Path(folder) / f"hostile-{name}.txt"
            story.write_text(make(args.scale), encoding="utf-8")
            elapsed, peak, status, said = build(story, Path(folder), args.timeout, args.memory_limit)
            pdfs = list((Path(folder) / "books").glob("*.pdf"))
            pages = pdf_pages(pdfs[0]) if pdfs else None
            print(f"({name}) {label:26} {elapsed:8.1f} {peak:8d} {str(status):>8} {str(pages or '-'):>6}  {said}",
                  flush=True)


if __name__ == "__main__":
    main()
