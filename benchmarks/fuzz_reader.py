"""Fuzz the reader and the structure detector with atheris (coverage-guided, libFuzzer).

    python3 -m pip install -e ".[fuzz]"
    python3 benchmarks/fuzz_reader.py -max_total_time=600 [-max_len=8192] [CORPUS_DIR ...]

Each input is the bytes of a story file (its first byte chooses plain text or Markdown, the notes
mode and whether typography is on). They are decoded as a story file is (BOMs, UTF-16, UTF-8,
8-bit guesses, NUL bytes, line ends), their structure detected, and the book prepared for
rendering (notes mode, typography, emphasis). A crash is any exception but the tool's own
PackagerError, or a broken contract: a block outside the file, or a line of the file holding a
character no book can hold. libFuzzer writes the input that crashed to `crash-*`; reduce it
(`-minimize_crash=1 -runs=10000 crash-…`) and keep it as a regression test in tests/.

Without a corpus folder, `~/.cache/packager/fuzz-corpus` (or `$PACKAGER_CACHE_DIR/fuzz-corpus`) is
used, seeded from the shared seeds and the sample stories (their first 8 KB); libFuzzer adds the
inputs that reach new code to it, so a second run starts where the first stopped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["packager"]):
    from packager.detect.structure import SourceFile, detect_book
    from packager.errors import PackagerError
    from packager.read.text import UNPRINTABLE, decode
    from packager.transform.pipeline import prepare_book

ROOT = Path(__file__).resolve().parents[1]
MODES = ("keep", "strip", "endnotes")


def read_and_detect(data: bytes) -> None:
    if not data:
        return
    flags, body = data[0], data[1:]
    markdown = bool(flags & 1)
    try:
        source = decode(body, Path("story.md" if markdown else "story.txt"))
        book = detect_book([SourceFile(source.lines, markdown=markdown)])
    except PackagerError:
        return
    for number, line in enumerate(source.lines, 1):
        if UNPRINTABLE.search(line):
            raise AssertionError(f"line {number} holds {UNPRINTABLE.search(line).group()!r}")
    count = len(source.lines)
    blocks = list(book.front_matter) + [b for c in book.chapters for b in c.blocks] + list(book.back_matter)
    for block in blocks:
        first, last = block.lines
        if not 1 <= first <= last <= count:
            raise AssertionError(f"{block.kind} lines {block.lines} outside 1..{count}")
    prepare_book(book, MODES[(flags >> 1) % 3], smart_typography=not flags & 8)


def corpus_folder() -> Path:
    """The default corpus, seeded from the shared seeds and the sample stories when it is empty."""
    base = os.environ.get("PACKAGER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "packager")
    folder = Path(base) / "fuzz-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        sources = sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")) \
            + sorted((ROOT / "stories").rglob("*.txt")) + sorted((ROOT / "stories").rglob("*.md"))
        for index, path in enumerate(sources):
            (folder / f"seed-{index:03d}-{path.name}").write_bytes(bytes([index % 16]) + path.read_bytes()[:8192])
    return folder


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(str(corpus_folder()))
    if not any(arg.startswith("-max_len") for arg in argv):
        argv.append("-max_len=8192")
    atheris.Setup(argv, read_and_detect)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
