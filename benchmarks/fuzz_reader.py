"""Fuzz the reader and the structure detector, the manifest reader and the sidecar reader with
atheris (coverage-guided, libFuzzer).

    python3 -m pip install -e ".[fuzz]"
    python3 benchmarks/fuzz_reader.py [--target reader|manifest|sidecar] -max_total_time=600 [-max_len=8192]
                                      [CORPUS_DIR ...]

`--target manifest`: each input is the bytes of an output folder's `.packager-manifest.json`; every
entry read back must name only its own slug's files inside the folder (a crash is any exception, or
an entry naming another file). `--target sidecar`: each input is a sidecar `story.toml`; it is read,
its `[detect]` patterns compiled and run over a line (a crash is any exception but PackagerError).

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

import json
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["packager"]):
    from packager.detect.structure import SourceFile, detect_book
    from packager.errors import PackagerError
    from packager.manifest import MANIFEST_NAME, read_manifest
    from packager.read.sidecar import detect_options, load_sidecar
    from packager.read.text import UNPRINTABLE, decode
    from packager.rules import RULE_NAMES
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


SCRATCH = Path(tempfile.mkdtemp(prefix="packager-fuzz-"))


def read_manifest_bytes(data: bytes) -> None:
    out = SCRATCH / "out"
    out.mkdir(exist_ok=True)
    (out / MANIFEST_NAME).write_bytes(data)
    for source, entry in read_manifest(out).items():
        names = list(entry.outputs) + ([entry.cover] if entry.cover else [])
        own = {f"{entry.slug}.{s}" for s in ("epub", "pdf", "notes.txt")} | \
              {f"covers/{entry.slug}.{s}" for s in ("jpg", "png")}
        for name in names:
            if name not in own or not os.path.abspath(out / name).startswith(str(out) + os.sep):
                raise AssertionError(f"entry {source!r} names {name!r}")


def read_sidecar_bytes(data: bytes) -> None:
    path = SCRATCH / "story.toml"
    path.write_bytes(data)
    try:
        sidecar = load_sidecar(path)
        options = detect_options(sidecar, set(RULE_NAMES))
        for key in ("heading_patterns", "note_patterns", "never_note_patterns"):
            for pattern in options[key]:
                pattern.search("Chapter 1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")
    except PackagerError:
        return


TARGETS = {"reader": read_and_detect, "manifest": read_manifest_bytes, "sidecar": read_sidecar_bytes}


def corpus_folder(target: str = "reader") -> Path:
    """The default corpus, seeded from the shared seeds and the sample stories when it is empty (the
    manifest and sidecar targets from the sample stories' sidecars and a manifest of their own)."""
    base = os.environ.get("PACKAGER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "packager")
    folder = Path(base) / ("fuzz-corpus" if target == "reader" else f"fuzz-corpus-{target}")
    folder.mkdir(parents=True, exist_ok=True)
    if target == "sidecar" and not any(folder.iterdir()):
        for index, path in enumerate(sorted(ROOT.rglob("stories/**/*.toml"))):
            (folder / f"seed-{index:03d}.toml").write_bytes(path.read_bytes())
        (folder / "seed-detect.toml").write_bytes(b'[detect]\nheading_patterns = ["^Part (?P<title>\\\\w+)$"]\n'
                                                  b'note_patterns = ["^(a|aa)+$"]\ndisable = ["blank_gap"]\n')
        return folder
    if target == "manifest" and not any(folder.iterdir()):
        entry = {"title": "Alpha", "authors": ["A"], "key": "k", "slug": "alpha", "outputs": ["alpha.epub", "alpha.pdf"],
                 "cover": "covers/alpha.jpg", "words": 3, "series_index": 1.5}
        (folder / "seed-manifest.json").write_text(json.dumps({"format": 1, "books": {"/s/a.txt": entry}}))
        return folder
    if not any(folder.iterdir()):
        sources = sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")) \
            + sorted((ROOT / "stories").rglob("*.txt")) + sorted((ROOT / "stories").rglob("*.md"))
        for index, path in enumerate(sources):
            (folder / f"seed-{index:03d}-{path.name}").write_bytes(bytes([index % 16]) + path.read_bytes()[:8192])
    return folder


def main() -> None:
    argv = list(sys.argv)
    target = "reader"
    if "--target" in argv:
        at = argv.index("--target")
        target = argv[at + 1]
        del argv[at:at + 2]
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(str(corpus_folder(target)))
    if not any(arg.startswith("-max_len") for arg in argv):
        argv.append("-max_len=8192")
    atheris.Setup(argv, TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
