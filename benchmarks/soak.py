"""Soak test: the property tests' story generator run many times through the whole library, in this
process, counting instead of stopping at the first failure.

    python3 benchmarks/soak.py [--examples 10000] [--epub-every 20] [--seed 0]

Each generated story (headings of many shapes, author's notes, scene breaks, emphasis marks, quotes,
Unicode, CRLF) is decoded as a story file, its structure detected, and prepared with `--notes keep`
and `--notes strip`; every `--epub-every`-th one is also rendered to EPUB and each XHTML file parsed.
Prints the number of examples, failures (any exception, or a broken contract) and lost words:

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

from hypothesis import HealthCheck, given, seed, settings

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
        if len(self.first_failures) < 5:
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
    if keep_words != source_words:
        tally.lost_words += lost(source_words, keep_words)
        tally.fail("keep lost or moved words", story.text[:200])
    try:
        properties.check_line_ranges(book, len(lines))
    except AssertionError as error:
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
            if block.kind in ("paragraph", "note") and properties.find_run(
                    printed, properties.words(block.text), 0) is None:
                tally.lost_words += len(properties.words(block.text))
                tally.fail("EPUB lost a block", f"{block.kind} {block.lines}: {block.text[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--epub-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tally = Tally()

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(properties.stories())
    def soak(story: properties.GeneratedStory) -> None:
        try:
            check_story(story, tally.examples % args.epub_every == 0, tally)
        except Exception:  # counted, never raised: the soak goes on to the next example
            tally.fail("exception", traceback.format_exc(limit=3))

    start = time.perf_counter()
    soak()
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
