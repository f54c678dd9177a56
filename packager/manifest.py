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
import re
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

from packager.parts import part_prefix

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
    def from_json(cls, data: Any) -> "Entry | None":
        """The entry `data` describes, or None when it does not verify: a field of the wrong type, or a
        file name that is not one this tool writes (a slug's own `.epub`, `.kepub.epub`, `.pdf`, `.notes.txt`, its
        cover under `covers/`), since a rebuild removes the files an old entry names."""
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name, check in _CHECKS.items():
            if name in values and not check(values[name]):
                return None
        if not all(name in values for name in ("key", "slug", "outputs")):
            return None
        slug = values["slug"]
        if not all(_OUTPUT.fullmatch(name) and name.rsplit(".", 2)[0] == slug for name in values["outputs"]):
            return None
        cover = values.get("cover")
        if cover is not None and not (_COVER.fullmatch(cover) and cover[len("covers/"):].rsplit(".", 1)[0] == slug):
            return None
        return cls(**values)

    def outputs_exist(self, out_dir: Path) -> bool:
        return bool(self.outputs) and all((out_dir / name).is_file() for name in self.outputs)


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")
_OUTPUT = re.compile(r"[a-z0-9][a-z0-9-]{0,119}\.(?:epub|kepub\.epub|pdf|cover\.pdf|notes\.txt)")
_COVER = re.compile(r"covers/[a-z0-9][a-z0-9-]{0,119}\.(?:jpg|png)")
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # some 200,000 books; a bigger file is not one this tool wrote


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_CHECKS = {
    "title": _text, "authors": _texts, "language": _text, "identifier": _text, "description": _optional_text,
    "series": _optional_text, "series_index": lambda v: v is None or _number(v), "chapters": _count,
    "words": _count, "notes_found": _count, "notes_removed": _count, "anthology": _count,
    "key": _text, "slug": lambda v: isinstance(v, str) and _SLUG.fullmatch(v) is not None, "outputs": _texts,
    "warnings": _texts, "seconds": _number, "cover": _optional_text, "built": _text,
}


def read_manifest(out_dir: Path) -> dict[str, Entry]:
    """Every entry of the folder's manifest that verifies; {} when there is none or it cannot be read
    (a manifest that cannot be read only costs a rebuild). An entry of the wrong shape is left out, as
    if the book had never been built."""
    path = out_dir / MANIFEST_NAME
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    books = data.get("books") if isinstance(data, dict) else None
    if not isinstance(books, dict):
        return {}
    entries = {}
    for source, value in books.items():
        entry = Entry.from_json(value)
        if entry is not None:
            entries[source] = entry
    return entries


def _ascii_only(payload: Any) -> bool:
    """Whether JSON must escape every non-ASCII character: when some file name is not UTF-8 (Python
    holds its bytes as lone surrogates, which only an escape can carry)."""
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


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
        handle, name = tempfile.mkstemp(prefix=part_prefix("packager-manifest"), suffix=".part", dir=out_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(payload, stream, ensure_ascii=_ascii_only(payload), indent=1)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(name, 0o644)
            os.replace(name, out_dir / MANIFEST_NAME)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    return books
