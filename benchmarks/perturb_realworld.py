"""How the reader holds up on files it has not seen: the realworld stories changed in ways that keep
every line number (so the same labels score them), each scored with the shared scorer.

    python3 benchmarks/perturb_realworld.py [--only crlf,md-as-txt] [--packager packager]

The changes: line endings swapped (CRLF / LF), files renamed, a byte-order mark, straight quotes for
curly ones, `Chapter N` in capitals, Markdown headings without (or with) the space after the hashes,
trailing spaces on every third line, and the Markdown files saved as `.txt`. Each prints the scorer's
figures beside the unchanged files' ones; a rule that holds only for one file's exact bytes shows here.
The copies are written to a temporary folder and removed; nothing is kept.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REALWORLD = SHARED / "realworld"
SCORER = SHARED / "tools" / "score_inspect.py"
FIGURES = ("exact_count", "boundary_f1", "chapter_titles", "note_recall", "note_precision", "story_lines_lost",
           "book_titles")

Change = Callable[[str, str], Iterator[tuple[str, str]]]  # (name, text) -> (new name, new text)


def _text(fn: Callable[[str], str]) -> Change:
    def change(name: str, text: str) -> Iterator[tuple[str, str]]:
        yield name, fn(text)
    return change


def _line_endings(text: str) -> str:
    lf = text.replace("\r\n", "\n")
    return lf if "\r\n" in text else lf.replace("\n", "\r\n")


def _renamed(name: str, text: str) -> Iterator[tuple[str, str]]:
    yield f"story-{sum(map(ord, name)) % 10000}{Path(name).suffix}", text


def _trailing_spaces(text: str) -> str:
    lines = text.split("\n")
    return "\n".join(line.rstrip(" \t\r") + ("  " if k % 3 == 0 else "") + ("\r" if line.endswith("\r") else "")
                     for k, line in enumerate(lines))


def _straight_quotes(text: str) -> str:
    return text.translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'})


def _markdown_as_text(name: str, text: str) -> Iterator[tuple[str, str]]:
    if name.endswith(".md"):
        yield name[:-3] + ".txt", text


CHANGES: dict[str, Change] = {
    "crlf-lf": _text(_line_endings),
    "renamed": _renamed,
    "bom": _text(lambda text: "\ufeff" + text),
    "straight-quotes": _text(_straight_quotes),
    "chapter-caps": _text(lambda text: re.sub(r"(?m)^(\W*)Chapter(?=\s+(?:\d|[IVXL]+\b|One\b|Two\b|Three\b))",
                                              lambda m: m[1] + "CHAPTER", text)),
    "no-space-after-hash": _text(lambda text: re.sub(r"(?m)^(#{1,6})[ \t]+", r"\1", text)),
    "space-after-hash": _text(lambda text: re.sub(r"(?m)^(#{1,6})(?=[^\s#])", r"\1 ", text)),
    "trailing-spaces": _text(_trailing_spaces),
    "md-as-txt": _markdown_as_text,
}


def score(packager: str, folder: Path, labels: dict) -> dict:
    (folder / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCORER), packager, str(folder / "labels.json"), str(folder)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated changes: " + ", ".join(CHANGES))
    parser.add_argument("--packager", default="packager", help="the command the scorer runs")
    args = parser.parse_args()
    if not REALWORLD.is_dir():
        sys.exit(f"{REALWORLD} is missing: ../shared must sit beside the repository")
    labels = {k: v for k, v in json.loads((REALWORLD / "labels.json").read_text(encoding="utf-8")).items()
              if not k.startswith("_")}
    names = args.only.split(",") if args.only else ["none", *CHANGES]
    print(f"{'change':<22} {'files':>5} " + " ".join(f"{f:>16}" for f in FIGURES))
    for change_name in names:
        with tempfile.TemporaryDirectory() as tmp:
            folder, changed = Path(tmp), {}
            for name, label in labels.items():
                text = (REALWORLD / name).read_bytes().decode("utf-8")
                pairs = [(name, text)] if change_name == "none" else CHANGES[change_name](name, text)
                for new_name, new_text in pairs:
                    (folder / new_name).write_bytes(new_text.encode("utf-8"))
                    changed[new_name] = label
            figures = score(args.packager, folder, changed)
        print(f"{change_name:<22} {figures['files']:>5} " + " ".join(f"{str(figures[f]):>16}" for f in FIGURES))


if __name__ == "__main__":
    main()
