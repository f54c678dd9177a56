"""Finding stories: a story file, a folder of one story's chapter files, or a folder of stories."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from packager.errors import PackagerError
from packager.read.collection import COLLECTION_FILE, Collection, read_collection

STORY_SUFFIXES = (".txt", ".md", ".markdown")
COVER_SUFFIXES = (".jpg", ".jpeg", ".png")
_NUMBERED_FILE = re.compile(r"^(?:chapter|chap|ch|part|kapitel|capitulo)?[\s_.-]*\d+", re.IGNORECASE)


def natural_key(path: Path) -> list:
    """`2-x` before `10-x`: numbers in names compare as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


@dataclass(frozen=True)
class StorySource:
    """Where one story lives: its chapter files in reading order, its sidecar and cover if any, and
    warnings about what was passed over while finding them (links leading out of the folder)."""

    path: Path
    files: tuple[Path, ...]
    sidecar: Path | None = None
    cover: Path | None = None
    skipped: tuple[str, ...] = ()

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    @property
    def name(self) -> str:
        """The file or folder name without suffix: the title of last resort."""
        return self.path.name if self.is_folder else self.path.stem


def leads_outside(path: Path, folder: Path) -> bool:
    """A symbolic link whose target is not inside `folder` (or that leads nowhere). A build reads only
    the files it was given and the folders they are in, so such a link is skipped, never followed."""
    if not path.is_symlink():
        return False
    try:
        return not path.resolve(strict=True).is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a dangling link or a loop
        return True


def skipped_link(path: Path) -> str:
    return f"{path}: skipped: a symbolic link leading outside its folder"


def _story_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in STORY_SUFFIXES
                   and not p.name.startswith(".") and not leads_outside(p, folder)), key=natural_key)


def _outside_links(folder: Path) -> tuple[str, ...]:
    """Warnings for the story files, sidecars and covers in `folder` that link outside it."""
    def read_by_a_build(path: Path) -> bool:
        name = path.name.lower()
        return path.suffix.lower() in STORY_SUFFIXES + (".toml",) or (
            name.endswith(COVER_SUFFIXES) and (name.startswith("cover.") or "-cover." in name))

    return tuple(skipped_link(p) for p in sorted(folder.iterdir(), key=natural_key)
                 if read_by_a_build(p) and not p.name.startswith(".") and leads_outside(p, folder))


def _first_existing(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file() and not leads_outside(p, p.parent)), None)


def is_story_folder(folder: Path) -> bool:
    """A folder is one story when it says so (story.toml, a cover), or its files are numbered chapters
    and no sub-folder holds stories, or it holds a single story file and no subfolders. A folder with a
    collection.toml never is."""
    files = _story_files(folder)
    if not files or (folder / COLLECTION_FILE).is_file():
        return False
    if (folder / "story.toml").is_file():
        return True
    if _first_existing([folder / f"cover{s}" for s in COVER_SUFFIXES]):
        return True
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if any(_holds_story_files(p) for p in subfolders):
        return False  # numbered files beside folders of stories are stories of a collection
    if len(files) > 1 and all(_NUMBERED_FILE.match(p.name) for p in files):
        return True
    return len(files) == 1 and not subfolders


def _holds_story_files(folder: Path) -> bool:
    for _, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(not n.startswith(".") and os.path.splitext(n)[1].lower() in STORY_SUFFIXES for n in names):
            return True
    return False


def story_from_file(path: Path) -> StorySource:
    if path.suffix.lower() not in STORY_SUFFIXES:
        raise PackagerError("not a story file: expected .txt or .md", path, usage=True)
    sidecar = path.with_suffix(".toml")
    cover = _first_existing([path.with_name(f"{path.stem}-cover{s}") for s in COVER_SUFFIXES])
    sidecar_found = _first_existing([sidecar])
    skipped = tuple(skipped_link(p) for p in [sidecar, *(path.with_name(f"{path.stem}-cover{s}")
                                                         for s in COVER_SUFFIXES)]
                    if leads_outside(p, p.parent))
    return StorySource(path, (path,), sidecar_found, cover, skipped)


def story_from_folder(folder: Path) -> StorySource:
    files = _story_files(folder)
    sidecars = [folder / "story.toml"]
    covers = [folder / f"cover{s}" for s in COVER_SUFFIXES]
    if len(files) == 1:  # a folder holding one story file: that file's own sidecar and cover count too
        sidecars.append(files[0].with_suffix(".toml"))
        covers += [folder / f"{files[0].stem}-cover{s}" for s in COVER_SUFFIXES]
    return StorySource(folder, tuple(files), _first_existing(sidecars), _first_existing(covers),
                       _outside_links(folder))


def find_stories(path: Path) -> list[StorySource]:
    """Every story under `path`, in name order; an error when there is none."""
    if not path.exists():
        raise PackagerError("no such file or folder", path)
    if path.is_file():
        return [story_from_file(path)]
    if not path.is_dir():  # a FIFO or a device would block the build or never end
        raise PackagerError("not a regular file or folder", path)
    skipped: list[str] = []
    try:
        stories = _find_in_folder(path, skipped)
    except OSError as error:
        raise PackagerError(f"cannot read folder: {error.strerror or error}", error.filename or path) from None
    if not stories:
        passed_over = f"; {len(skipped)} symbolic link(s) leading outside were skipped" if skipped else ""
        raise PackagerError(f"no stories in this folder (looked for .txt and .md files{passed_over})", path)
    if skipped:  # told with the first story, so that every build shows it
        stories[0] = replace(stories[0], skipped=stories[0].skipped + tuple(skipped))
    return stories


MAX_DEPTH = 100  # folders nested deeper are refused in one line, before Python's own limit is reached


def _too_deep(folder: Path, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise PackagerError(f"folders nested more than {MAX_DEPTH} deep", folder)


def _find_in_folder(folder: Path, skipped: list[str], depth: int = 0) -> list[StorySource]:
    _too_deep(folder, depth)
    if is_story_folder(folder):
        return [story_from_folder(folder)]
    stories: list[StorySource] = []
    for child in sorted(folder.iterdir(), key=natural_key):
        if child.name.startswith("."):
            continue
        if child.is_dir() and child.is_symlink():
            # followed, a link to a folder could lead anywhere, or back up into a loop
            skipped.append(f"{child}: skipped: a symbolic link to a folder")
        elif child.is_dir():
            stories.extend(_find_in_folder(child, skipped, depth + 1))
        elif child.suffix.lower() in STORY_SUFFIXES and leads_outside(child, folder):
            skipped.append(skipped_link(child))
        elif child.is_file() and child.suffix.lower() in STORY_SUFFIXES:
            stories.append(story_from_file(child))
    return stories


@dataclass(frozen=True)
class BookSource:
    """What becomes one book: one story, or an anthology's stories bound together, with the settings
    of the collection it was found in (None outside a collection) and its number in the collection's
    series."""

    stories: tuple[StorySource, ...]
    collection: Collection | None = None
    series_index: int | None = None

    @property
    def is_anthology(self) -> bool:
        return self.collection is not None and self.collection.anthology

    @property
    def path(self) -> Path:
        return self.collection.folder if self.is_anthology else self.stories[0].path  # type: ignore[union-attr]


@dataclass
class Discovery:
    books: list[BookSource]
    warnings: list[str]
    collections: list[Collection]  # every folder's settings met on the way, the root's first


def find_books(path: Path) -> Discovery:
    """Every book under `path`: a story file or story folder is one book; a folder of stories gives
    one book per story, found recursively, with its collection.toml settings, or one anthology."""
    if not path.exists():
        raise PackagerError("no such file or folder", path)
    if path.is_file():
        return Discovery([BookSource((story_from_file(path),))], [], [])
    if not path.is_dir():  # a FIFO or a device would block the build or never end
        raise PackagerError("not a regular file or folder", path)
    try:
        if is_story_folder(path):
            return Discovery([BookSource((story_from_folder(path),))], [], [])
        root = read_collection(path)
        found = Discovery([], [], [])
        _walk(path, root, found)
    except OSError as error:
        raise PackagerError(f"cannot read folder: {error.strerror or error}", error.filename or path) from None
    if not found.books:
        raise PackagerError("no stories in this folder (looked for .txt and .md files)", path)
    found.books = _number_series(found.books)
    return found


def _walk(folder: Path, collection: Collection, found: Discovery, depth: int = 0) -> None:
    _too_deep(folder, depth)
    found.collections.append(collection)
    found.warnings.extend(collection.warnings)
    if collection.anthology:
        stories: list[StorySource] = []
        for child in _ordered_children(folder, collection, found.warnings):
            if child.is_dir():
                if (child / COLLECTION_FILE).is_file():
                    found.warnings.append(f"{child / COLLECTION_FILE}: ignored: a folder inside the anthology "
                                          f"{folder} gives stories to it, not a collection of its own")
                stories.extend(_find_in_folder(child, found.warnings, depth + 1))
            else:
                stories.append(story_from_file(child))
        if not stories:
            raise PackagerError("the anthology holds no stories", collection.path)
        found.books.append(BookSource(tuple(stories), collection))
        return
    for child in _ordered_children(folder, collection, found.warnings):
        if child.is_dir():
            if is_story_folder(child):
                found.books.append(BookSource((story_from_folder(child),), collection))
            else:
                _walk(child, read_collection(child, collection), found, depth + 1)
        else:
            found.books.append(BookSource((story_from_file(child),), collection))


def _ordered_children(folder: Path, collection: Collection, warnings: list[str]) -> list[Path]:
    """Story files and sub-folders: those named in `order` first, in its order, then the rest by name.
    Links to folders, and story files linking outside the folder, are skipped with a warning."""
    children = []
    for c in sorted(folder.iterdir(), key=natural_key):
        if c.name.startswith("."):
            continue
        if c.is_dir() and c.is_symlink():
            warnings.append(f"{c}: skipped: a symbolic link to a folder")
        elif c.is_file() and c.suffix.lower() in STORY_SUFFIXES and leads_outside(c, folder):
            warnings.append(skipped_link(c))
        elif c.is_dir() or (c.is_file() and c.suffix.lower() in STORY_SUFFIXES):
            children.append(c)
    if not collection.order:
        return children
    named = {c.name: c for c in children} | {c.stem: c for c in children if c.is_file()}
    first: list[Path] = []
    for name in collection.order:
        child = named.get(name)
        if child is None:
            warnings.append(f"{collection.path}: order names '{name}', which is not in {folder}")
        elif child not in first:
            first.append(child)
    return first + [c for c in children if c not in first]


def _number_series(books: list[BookSource]) -> list[BookSource]:
    """Books of a collection that names a series are numbered 1, 2, … in the collection's order."""
    counters: dict[Path, int] = {}
    numbered = []
    for book in books:
        folder = book.collection.series_folder if book.collection is not None else None
        if folder is None:
            numbered.append(book)
            continue
        counters[folder] = counters.get(folder, 0) + 1
        numbered.append(BookSource(book.stories, book.collection, counters[folder]))
    return numbered
