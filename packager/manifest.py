"""The output folder's manifest: what was built from which source, with the hash of everything that
went into it, so an unchanged book is not built again.

`OUT/.packager-manifest.json` holds one entry per book, keyed by the book's source path. Updates
re-read the file, merge their entries into it and replace it atomically, all under an exclusive lock
(`OUT/.packager-manifest.lock`), so two builds writing into the same folder keep each other's entries.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

MANIFEST_NAME = ".packager-manifest.json"
LOCK_NAME = ".packager-manifest.lock"
FORMAT = 1


@dataclass
class BookFacts:
    """What a built book is: its metadata and what detection found in it. A worker sends these back
    with the book's files; the manifest keeps them for the library page and the summary."""

    title: str = ""
    authors: list[str] = field(default_factory=list)
    language: str = "en"
    identifier: str = ""
    description: str | None = None
    series: str | None = None
    series_index: float | None = None
    chapters: int = 0
    words: int = 0
    notes_found: int = 0
    notes_removed: int = 0
    anthology: int = 0  # how many stories it binds, 0 for a single story


@dataclass(kw_only=True)
class Entry(BookFacts):
    """One book in the output folder, as the library page and the next build need it."""

    key: str
    slug: str
    outputs: list[str]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cover: str | None = None  # the cover thumbnail's path inside the output folder
    built: str = ""  # when its files were written, ISO 8601 UTC

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Entry":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def outputs_exist(self, out_dir: Path) -> bool:
        return bool(self.outputs) and all((out_dir / name).is_file() for name in self.outputs)


def read_manifest(out_dir: Path) -> dict[str, Entry]:
    """Every entry of the folder's manifest; {} when there is none or it cannot be read (a manifest
    that cannot be read only costs a rebuild)."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return {source: Entry.from_json(entry) for source, entry in data.get("books", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold the folder's manifest lock. The lock file is removed before it is released, so no empty
    file stays in the output folder; a builder that opened it before then finds, once its lock is
    granted, that the file it holds is no longer the one on disk, and opens the new one."""
    path = out_dir / LOCK_NAME
    while True:
        lock = open(path, "a+")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            held, current = os.fstat(lock.fileno()), os.stat(path)
        except FileNotFoundError:
            lock.close()
            continue
        except BaseException:
            lock.close()
            raise
        if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
            break
        lock.close()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        lock.close()  # releases the lock


def update_manifest(out_dir: Path, changes: dict[str, Entry | None]) -> dict[str, Entry]:
    """Merge `changes` (None removes an entry) into the manifest on disk, under the lock, and replace it
    atomically; returns the merged manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        books = read_manifest(out_dir)
        for source, entry in changes.items():
            if entry is None:
                books.pop(source, None)
            else:
                books[source] = entry
        payload = {"format": FORMAT, "books": {source: asdict(entry) for source, entry in sorted(books.items())}}
        handle, name = tempfile.mkstemp(prefix=".packager-manifest.", suffix=".part", dir=out_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(payload, stream, ensure_ascii=False, indent=1)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(name, 0o644)
            os.replace(name, out_dir / MANIFEST_NAME)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    return books
