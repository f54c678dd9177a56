"""The library page and catalogue of an output folder, written after every batch build.

`index.html` shows every book with its cover, title, author, word count and download links, with
relative links only, so it works opened from disk; `catalog.xml` is an OPDS 1.2 acquisition feed of
the same books, for e-reader apps when the folder is served over HTTP. Both are made from the
manifest, so books a build skipped are listed too. The look lives in templates/ and styles/library/.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from markupsafe import Markup

from packager.build import write_outputs
from packager.manifest import Entry
from packager.render.assets import environment, styles_dir

# Each file a book may have, with the label its link shows and the media type the feed gives it;
# Kobo's kepub has its own type, so OPDS apps on a Kobo (and Kobo's own) can prefer it.
DOWNLOADS = (("epub", "EPUB", "application/epub+zip"), ("kepub.epub", "Kobo", "application/kepub+zip"),
             ("pdf", "PDF", "application/pdf"))
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
OPDS_ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"


@dataclass(frozen=True)
class Download:
    href: str
    label: str
    media_type: str


@dataclass(frozen=True)
class LibraryBook:
    """One book as the page and the feed show it."""

    title: str
    authors: list[str]
    language: str
    atom_id: str
    description: str | None
    series: str | None
    series_index: float | None
    words: int
    chapters: int
    stories: int
    cover: str | None
    cover_type: str | None
    downloads: list[Download]
    updated: str


def atom_id(identifier: str, fallback: str) -> str:
    """An IRI for the Atom id: the book's `urn:uuid:` identifier, or a UUID derived from what it has."""
    if identifier.startswith("urn:") or "://" in identifier:
        return identifier
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'packager:' + (identifier or fallback))}"


def library_books(out_dir: Path, entries: dict[str, Entry]) -> list[LibraryBook]:
    """Every book of the manifest whose files are in the folder, in series order, then by title."""
    books = []
    for entry in entries.values():
        downloads = [Download(f"{entry.slug}.{suffix}", label, media)
                     for suffix, label, media in DOWNLOADS if (out_dir / f"{entry.slug}.{suffix}").is_file()]
        if not downloads:
            continue
        cover = entry.cover if entry.cover and (out_dir / entry.cover).is_file() else None
        books.append(LibraryBook(
            entry.title or entry.slug, list(entry.authors), entry.language, atom_id(entry.identifier, entry.slug),
            entry.description, entry.series, entry.series_index, entry.words, entry.chapters, entry.anthology,
            cover, IMAGE_TYPES.get(Path(cover).suffix.lower()) if cover else None, downloads,
            entry.built or _now()))
    return sorted(books, key=lambda b: (b.series is None, (b.series or "").casefold(), b.series_index or 0,
                                        b.title.casefold()))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_library(title: str, books: list[LibraryBook]) -> tuple[str, str]:
    """The library page's HTML and the OPDS feed's XML."""
    env = environment()
    css = Markup((styles_dir() / "library" / "library.css").read_text(encoding="utf-8"))  # our own file
    updated = max((b.updated for b in books), default=_now())
    feed_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'packager-library:' + title)}"
    html = env.get_template("library.html.j2").render(title=title, books=books, css=css,
                                                      words=sum(b.words for b in books))
    xml = env.get_template("catalog.xml.j2").render(title=title, books=books, updated=updated, feed_id=feed_id,
                                                    acquisition=OPDS_ACQUISITION)
    return html, xml


def write_library(out_dir: Path, entries: dict[str, Entry], title: str) -> list[Path]:
    """Write `index.html` and `catalog.xml` into the output folder, each atomically."""
    html, xml = render_library(title, library_books(out_dir, entries))
    return write_outputs(out_dir, "index", {"html": html.encode("utf-8")}) + \
        write_outputs(out_dir, "catalog", {"xml": xml.encode("utf-8")})
