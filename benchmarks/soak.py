"""Soak test: the property tests' story generator run many times through the whole library, in this
process, counting instead of stopping at the first failure.

    python3 benchmarks/soak.py [--examples 10000] [--epub-every 20] [--seed 0] [--minutes M]
    python3 benchmarks/soak.py --signals 30 [--seed 0]

With `--signals N`, N real batch builds (the shared seeds, both formats, --jobs 2) are each stopped at
a random moment by SIGINT to the process group (Ctrl-C), SIGTERM or SIGKILL, then rebuilt; it counts
the runs whose rebuild differs from a clean build (every EPUB and PDF byte for byte), that leave a
temporary file, or that leave a process running 15 s after the build ended.

Each generated story (headings of many shapes, author's notes, scene breaks, emphasis marks, quotes,
Unicode, CRLF) is decoded as a story file, its structure detected, and prepared with `--notes keep`
and `--notes strip`; every `--epub-every`-th one is also rendered to EPUB and each XHTML file parsed.
Prints a line every 1,000 examples, then the number of examples, failures (any exception, or a
broken contract) and lost words; with `--minutes M` it stops after M minutes (on a loaded machine)
and reports the examples it reached:

- keep: the words of every block together are the words of the source, in order;
- strip: only words of notes the detector was sure of are gone, and every generated story paragraph
  is still there, whole and in order;
- EPUB: every paragraph and note of the `keep` book is printed.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import test_properties as properties  # noqa: E402  (the generator and the word comparisons)

from packager.errors import PackagerError  # noqa: E402
from packager.model import CONFIDENT_NOTE  # noqa: E402
from packager.transform.pipeline import prepare_book  # noqa: E402


class Tally:
    def __init__(self) -> None:
        self.examples = 0
        self.epubs = 0
        self.user_errors = 0
        self.failures: collections.Counter[str] = collections.Counter()
        self.lost_words = 0
        self.first_failures: list[str] = []

    def fail(self, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        if self.failures[kind] <= 2:  # the first two of each kind, so one kind does not hide the others
            self.first_failures.append(f"{kind}: {detail}")


def lost(expected: list[str], got: list[str]) -> int:
    """Words of `expected` not found in `got` (as a multiset)."""
    remaining = collections.Counter(got)
    missing = 0
    for word in expected:
        if remaining[word]:
            remaining[word] -= 1
        else:
            missing += 1
    return missing


def check_story(story: properties.GeneratedStory, render_epub: bool, tally: Tally) -> None:
    tally.examples += 1
    try:
        lines, book = properties.detect(story)
    except PackagerError:
        tally.user_errors += 1
        return
    blocks = properties.all_blocks(book)
    source_words = properties.words("\n".join(lines))
    keep_words = properties.block_words(blocks)
    # A line that is exactly the next heading's title is its index line (rule duplicate_heading): the
    # heading block spans the notes between its two lines and prints before them, by design. Words are
    # still checked for loss there, not for order.
    index_line = properties._title_line_before_heading(story)
    if keep_words != source_words and not (index_line and lost(source_words, keep_words) == 0):
        tally.lost_words += lost(source_words, keep_words)
        tally.fail("keep lost or moved words", story.text[:200])
    try:
        properties.check_line_ranges(book, len(lines))
    except AssertionError as error:
        if not index_line:
            tally.fail("line ranges", str(error))

    confident = [b for b in blocks if b.kind == "note" and (b.confidence or 0) >= CONFIDENT_NOTE]
    expected = properties.block_words([b for b in blocks if not any(b is n for n in confident)])
    stripped, removed = prepare_book(book, "strip")
    kept_blocks = list(stripped.front_matter) + [b for c in stripped.chapters for b in c.blocks]
    kept = properties.block_words(kept_blocks, prepared=True) + properties.block_words(stripped.back_matter)
    if kept != expected or [b.lines for b in removed] != [b.lines for b in confident]:
        tally.lost_words += lost(expected, kept)
        tally.fail("strip lost more than its notes", story.text[:200])
    cursor = 0
    for number, line in story.lines_with("story"):
        found = properties.find_run(kept, properties.words(line.text), cursor)
        if found is None:
            tally.lost_words += len(properties.words(line.text))
            tally.fail("strip lost a story paragraph", f"line {number}: {line.text!r}")
            break
        cursor = found

    if render_epub:
        tally.epubs += 1
        printed = properties.words(" ".join(
            " ".join(root.itertext()) for root in properties.epub_pages(properties.epub_bytes(story)).values()))
        for block in blocks:
            if block.kind not in ("paragraph", "note"):
                continue
            # a note prints its paragraphs; a fence that closed it is its frame, not a printed word
            for text in [part.text for part in block.parts] if block.kind == "note" and block.parts else [block.text]:
                if properties.find_run(printed, properties.words(text), 0) is None:
                    tally.lost_words += len(properties.words(text))
                    tally.fail("EPUB lost a block", f"{block.kind} {block.lines}: {text[:80]!r}")
                    break


def signal_soak(runs: int, seed_value: int) -> int:
    """Builds stopped at random points, then rebuilt; returns the number of bad runs."""
    import os
    import random
    import shutil
    import signal
    import subprocess
    import tempfile

    from test_interrupted_builds import alive, descendants

    chance = random.Random(seed_value)
    root = Path(tempfile.mkdtemp(prefix="packager-signal-soak-"))
    stories = root / "stories"
    stories.mkdir()
    for seed_file in sorted((TESTS.parents[1] / "shared" / "seeds").glob("*.txt")):
        shutil.copy2(seed_file, stories / seed_file.name)
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | {"NO_COLOR": "1", "SOURCE_DATE_EPOCH": "1700000000"}

    def build(out: Path, cache: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "packager", "build", str(stories), "--out-dir", str(out),
                                 "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=env | {"PACKAGER_CACHE_DIR": str(cache)}, start_new_session=True)

    started = time.perf_counter()
    clean = build(root / "clean", root / "clean-cache")
    clean.communicate()
    whole = time.perf_counter() - started
    books = {p.name: p.read_bytes() for p in (root / "clean").iterdir() if p.suffix in (".epub", ".pdf")}
    counts: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    for run in range(runs):
        kind = chance.choice(["SIGINT to the group", "SIGTERM", "SIGKILL"])
        delay = chance.uniform(0, whole)
        out = root / "out"
        shutil.rmtree(root / "cache", ignore_errors=True)  # a cold cache: the build is stopped mid-render
        process = build(out, root / "cache")
        seen: set[int] = set()
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and process.poll() is None:
            seen |= descendants(process.pid)
            time.sleep(0.05)
        if process.poll() is None:
            counts[kind] += 1
            if kind == "SIGINT to the group":
                os.killpg(process.pid, signal.SIGINT)
            else:
                os.kill(process.pid, signal.SIGTERM if kind == "SIGTERM" else signal.SIGKILL)
        else:
            counts["ended before the signal"] += 1
        _, stderr = process.communicate()
        if kind != "SIGKILL" and "Traceback" in stderr:
            problems.append(f"run {run} ({kind} after {delay:.1f}s): a traceback")
        late = time.monotonic() + 15
        while time.monotonic() < late and [pid for pid in seen if alive(pid)]:
            time.sleep(0.1)
        if [pid for pid in seen if alive(pid)]:
            problems.append(f"run {run} ({kind} after {delay:.1f}s): processes outlived the build")
            for pid in seen:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        again = build(out, root / "cache")
        _, stderr = again.communicate()
        got = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".epub", ".pdf")}
        if again.returncode != 0 or got != books:
            differ = sorted(n for n in books.keys() | got.keys() if books.get(n) != got.get(n))
            problems.append(f"run {run} ({kind} after {delay:.1f}s): the rebuild differs: {differ} {stderr[-300:]}")
        left = [p.name for folder in (out, root / "cache") for p in folder.rglob("*.part")]
        if left:
            problems.append(f"run {run} ({kind} after {delay:.1f}s): temporary files left: {left}")
        shutil.rmtree(out)
    elapsed = time.perf_counter() - started
    print(f"runs:        {runs} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}); a clean build "
          f"takes {whole:.1f} s")
    print(f"bad runs:    {len(problems)}")
    print(f"time:        {elapsed:.0f} s")
    for problem in problems:
        print("  " + problem)
    shutil.rmtree(root, ignore_errors=True)
    return len(problems)


class OutOfTime(BaseException):
    """The --minutes budget is spent (not an Exception: the soak counts those)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--epub-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signals", type=int, default=0, help="stop N real builds at random points instead")
    parser.add_argument("--minutes", type=float, default=0, help="stop after this long (0: run every example)")
    args = parser.parse_args()
    if args.signals:
        sys.exit(1 if signal_soak(args.signals, args.seed) else 0)
    tally = Tally()

    start = time.perf_counter()

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(properties.stories())
    def soak(story: properties.GeneratedStory) -> None:
        if args.minutes and time.perf_counter() - start > 60 * args.minutes:
            raise OutOfTime
        try:
            check_story(story, tally.examples % args.epub_every == 0, tally)
        except Exception:  # counted, never raised: the soak goes on to the next example
            tally.fail("exception", traceback.format_exc(limit=3))
        if tally.examples % 1000 == 0:
            print(f"  {tally.examples} examples, {sum(tally.failures.values())} failures, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)

    try:
        soak()
    except OutOfTime:
        print(f"stopped after {args.minutes:g} minutes")
    elapsed = time.perf_counter() - start
    print(f"examples:    {tally.examples} ({tally.epubs} also rendered to EPUB; "
          f"{tally.user_errors} refused with a PackagerError)")
    print(f"failures:    {sum(tally.failures.values())}" + "".join(f"\n  {kind}: {count}"
                                                             for kind, count in tally.failures.items()))
    print(f"lost words:  {tally.lost_words}")
    print(f"time:        {elapsed:.0f} s ({1000 * elapsed / max(1, tally.examples):.1f} ms an example)")
    for failure in tally.first_failures:
        print("\n" + failure)
    sys.exit(1 if tally.failures else 0)


if __name__ == "__main__":
    main()
