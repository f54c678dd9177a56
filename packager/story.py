"""Loading one story: read its files and sidecar, detect its structure, merge its metadata.

Metadata precedence, lowest first: what the text says, the collection's defaults (collection.toml in
the folder being built), the sidecar file, the command line.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from packager.detect import detect_book
from packager.detect.frontmatter import language_code
from packager.detect.options import DetectOptions
from packager.detect.structure import SourceFile
from packager.rules import RULE_NAMES
from packager.errors import PackagerError
from packager.model import Book, Metadata
from packager.read.sidecar import Sidecar, detect_options as sidecar_detect_options, is_language_code, load_sidecar
from packager.read.sources import StorySource
from packager.read.text import read_text_file, remove_unprintable

_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


@dataclass
class Story:
    source: StorySource
    book: Book
    sidecar: Sidecar
    warnings: list[str] = field(default_factory=list)
    detect_options: DetectOptions = field(default_factory=DetectOptions)

    @property
    def slug(self) -> str:
        return slugify(self.book.metadata.title or self.source.name)


def slugify(text: str) -> str:
    """`Naruto: The Return of Darkness` -> `naruto-the-return-of-darkness`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or "story"


def title_from_name(name: str) -> str:
    """`darling-and-date` -> `Darling and Date`: the title of last resort, from a file or folder name."""
    words = re.sub(r"^\d+[-_ .]*", "", name).replace("_", " ").replace("-", " ").split()
    return " ".join(w if k and w.lower() in _SMALL_WORDS else w[:1].upper() + w[1:]
                    for k, w in enumerate(words)) or name


def stable_identifier(title: str, authors: list[str]) -> str:
    """The same story always gets the same identifier: a UUID derived from title and authors."""
    key = "packager:" + (title or "").strip().lower() + "|" + "|".join(a.strip().lower() for a in authors)
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


def load_story(source: StorySource, overrides: dict[str, Any] | None = None,
               defaults: dict[str, Any] | None = None) -> Story:
    """Read, detect and merge metadata for one story. `overrides` are command-line metadata values,
    `defaults` a collection's, which the sidecar overrides."""
    sidecar = load_sidecar(source.sidecar)
    detect_options = DetectOptions(**sidecar_detect_options(sidecar, RULE_NAMES))
    warnings = list(source.skipped) + sidecar.warnings
    files = []
    for path in source.files:
        text = read_text_file(path)
        warnings.extend(text.warnings)
        files.append(SourceFile(text.lines, path.name if source.is_folder else None,
                                markdown=path.suffix.lower() in (".md", ".markdown")))
    if not files:
        raise PackagerError("no story files in this folder", source.path)
    book = detect_book(files, detect_options)
    if not book.chapters:
        raise PackagerError("no story text found (only headers or notes)", source.path)
    titled = bool(book.metadata.title) or any((layer or {}).get("title")
                                               for layer in (defaults, sidecar.metadata, overrides))
    warnings.extend(f"{source.path}: {warning}" for warning in book.warnings)
    _merge_metadata(book, source, defaults or {}, sidecar.metadata, overrides or {})
    if not titled:
        warnings.append(f"{source.path}: no title found in the text; using the file name "
                        f"{book.metadata.title!r} (set `title` in a sidecar or use --title)")
    warnings.extend(clean_metadata(book.metadata, source))
    return Story(source, book, sidecar, warnings, detect_options)


def _merge_metadata(book: Book, source: StorySource, *layers: dict[str, Any]) -> None:
    """Each layer overrides the ones before it; None means: not given."""
    meta = book.metadata
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if key in ("author", "authors"):
                meta.authors = [value] if isinstance(value, str) else list(value)
            elif key == "subjects":
                meta.subjects = list(value)
            elif key == "series_index":
                meta.series_index = float(value)
            elif hasattr(meta, key):
                setattr(meta, key, value)
    if not meta.title:
        meta.title = title_from_name(source.name)
    if not meta.identifier:
        # A book with no known author keeps the identifier it had when it was filed as "Unknown Author".
        meta.identifier = stable_identifier(meta.title, meta.authors or ["Unknown Author"])


def clean_metadata(meta: Metadata, source: StorySource) -> list[str]:
    """Metadata as a book can hold it: no control characters in any text (they may come from a
    sidecar's escapes or the command line), and a language code that is one. Returns warnings."""
    warnings: list[str] = []
    for name in ("title", "description", "series", "publisher", "source", "rights", "date", "identifier",
                 "rating", "status"):
        value = getattr(meta, name)
        if isinstance(value, str):
            setattr(meta, name, remove_unprintable(value))
    meta.authors = [name for name in (remove_unprintable(a).strip() for a in meta.authors) if name]
    meta.translators = [name for name in (remove_unprintable(t).strip() for t in meta.translators) if name]
    meta.subjects = [subject for subject in (remove_unprintable(s).strip() for s in meta.subjects) if subject]
    if not (meta.title or "").strip():
        meta.title = title_from_name(source.name)
    meta.language = language_code(meta.language)
    if not is_language_code(meta.language):
        warnings.append(f"{source.path}: language {meta.language!r} is neither a language code nor a "
                        "language's name; using 'en'")
        meta.language = "en"
    return warnings
