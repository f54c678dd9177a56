"""Collection settings: `collection.toml` in a folder of stories.

It gives defaults for every story beneath it (author, language, theme, notes mode, page size, series,
…), which a story's own sidecar and the command line override. With `anthology = true` and a `title`
the folder is bound into one book instead. A folder's settings lie over its parent folder's, so a
sub-folder can change what the folder above it set.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packager.errors import PackagerError
from packager.read.sidecar import OPTION_CHOICES, check_metadata_types

COLLECTION_FILE = "collection.toml"

# Defaults for every story (a sidecar may hold the same keys).
METADATA_DEFAULTS = {"author", "authors", "language", "series", "publisher", "rights", "subjects", "source"}
OPTION_DEFAULTS = {"style", "notes", "page_size", "cover", "scene_break", "keep_licence", "recto_openings",
                   "pdf_variant", "print", "paper", "bleed", "soft_hyphens"}
# What belongs to the folder itself: the anthology switch, its (or the library page's) title, the order.
FOLDER_KEYS = {"anthology", "title", "order", "description", "date", "identifier"}
ALIASES = {"theme": "style"}


@dataclass(frozen=True)
class Collection:
    """A folder's collection settings, with what its parent folders set already laid beneath."""

    folder: Path
    path: Path | None = None  # the collection.toml, None when the folder has none
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    anthology: bool = False
    title: str | None = None
    description: str | None = None
    date: str | None = None
    identifier: str | None = None
    order: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    series_folder: Path | None = None  # the folder whose collection.toml named the series

    def settings(self) -> dict[str, Any]:
        """Everything that decides how its books come out, as plain data (for the manifest's key)."""
        return {"metadata": self.metadata, "options": {k: str(v) for k, v in self.options.items()},
                "anthology": self.anthology, "title": self.title, "description": self.description,
                "date": self.date, "identifier": self.identifier, "order": list(self.order)}


def read_collection(folder: Path, parent: Collection | None = None) -> Collection:
    """The settings of `folder`: its collection.toml (if any) over its parent's settings. A TOML error
    names the file and line; an unknown key is a warning naming it."""
    inherited = parent or Collection(folder)
    base = replace(inherited, folder=folder, path=None, anthology=False, title=None, description=None,
                   date=None, identifier=None, order=(), warnings=())
    path = folder / COLLECTION_FILE
    if not path.is_file():
        return base
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise PackagerError(f"invalid TOML: {message}", path, int(line.group(1)) if line else None) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PackagerError(f"cannot read collection file: {error}", path) from None
    metadata: dict[str, Any] = {}
    options: dict[str, Any] = {}
    own: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        name = ALIASES.get(key, key)
        if name in METADATA_DEFAULTS:
            metadata[name] = value
        elif name in OPTION_DEFAULTS:
            options[name] = path.parent / value if name in ("cover", "style") and _is_path(name, value) else value
        elif name in FOLDER_KEYS:
            own[name] = value
        else:
            warnings.append(f"{path}: unknown key '{key}' ignored")
    check_metadata_types(metadata, path)
    if "author" in metadata:
        metadata["authors"] = metadata.pop("author")
    anthology = own.get("anthology", False)
    if not isinstance(anthology, bool):
        raise PackagerError("'anthology' must be true or false", path)
    order = own.get("order", [])
    if not (isinstance(order, list) and all(isinstance(name, str) for name in order)):
        raise PackagerError("'order' must be a list of file or folder names", path)
    for key in ("title", "description", "identifier"):
        if key in own and not isinstance(own[key], str):
            raise PackagerError(f"'{key}' must be a string", path)
    if anthology and not own.get("title"):
        raise PackagerError("an anthology needs a 'title'", path)
    if options.get("notes") is not None and options["notes"] not in ("keep", "strip", "endnotes"):
        raise PackagerError(f"unknown notes mode '{options['notes']}' (keep, strip or endnotes)", path)
    for key, choices in OPTION_CHOICES.items():
        if key in options and options[key] not in choices:
            raise PackagerError(f"'{key}' must be {' or '.join(choices)}, not '{options[key]}'", path)
    if "bleed" in options and not isinstance(options["bleed"], bool):
        raise PackagerError("'bleed' must be true or false", path)
    series_folder = folder if "series" in metadata else inherited.series_folder
    return Collection(folder, path, {**inherited.metadata, **metadata}, {**inherited.options, **options},
                      anthology, own.get("title"), own.get("description"),
                      str(own["date"]) if "date" in own else None, own.get("identifier"), tuple(order),
                      tuple(warnings), series_folder)


def _is_path(key: str, value: Any) -> bool:
    if key == "cover":
        return value not in ("auto", "none")
    return isinstance(value, str) and value.lower().endswith(".css")
