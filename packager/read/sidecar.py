"""Sidecar metadata files: `my-story.toml` beside a story file, `story.toml` inside a story folder."""

from __future__ import annotations

import math
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from packager.errors import PackagerError

# Every key a sidecar may hold; the README documents each one.
METADATA_KEYS = {
    "title", "author", "authors", "language", "description", "subjects", "series", "series_index",
    "publisher", "source", "rights", "date", "identifier",
}
OPTION_KEYS = {"cover", "style", "notes", "page_size", "scene_break", "keep_licence", "recto_openings", "pdf_variant",
               "print", "paper", "bleed", "soft_hyphens"}
# Options that take one of a few words: a sidecar naming another is an error naming the file.
OPTION_CHOICES = {"print": ("kdp", "ingram"), "paper": ("white", "cream")}
DETECT_KEYS = {"disable", "heading_patterns", "note_patterns", "never_note_patterns", "chapter_titles"}


def is_language_code(value: str) -> bool:
    """A BCP 47 language tag the language registry knows, as books use them: `en`, `fr`, `pt-BR`,
    `zh-Hant` (not `xx`)."""
    import langcodes

    return langcodes.tag_is_valid(value)


@dataclass
class Sidecar:
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    detect: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_sidecar(path: Path | None) -> Sidecar:
    """Parse a sidecar TOML file; a syntax error names the file and line, an unknown key warns."""
    if path is None:
        return Sidecar()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        line_match = re.search(r"line (\d+)", str(error))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise PackagerError(f"invalid TOML: {message}", path,
                            int(line_match.group(1)) if line_match else None) from None
    except RecursionError:
        raise PackagerError("invalid TOML: nested too deeply", path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PackagerError(f"cannot read sidecar: {error}", path) from None
    sidecar = Sidecar(path)
    for key, value in data.items():
        if key in METADATA_KEYS:
            sidecar.metadata[key] = value
        elif key == "detect":
            if not isinstance(value, dict):
                raise PackagerError("'detect' must be a table ([detect])", path)
            for detect_key, detect_value in value.items():
                if detect_key in DETECT_KEYS:
                    sidecar.detect[detect_key] = detect_value
                else:
                    sidecar.warnings.append(f"{path}: unknown key 'detect.{detect_key}' ignored")
        elif key in OPTION_KEYS:
            _check_option_type(key, value, path)
            sidecar.options[key] = path.parent / value if _is_relative_file(key, value) else value
        else:
            sidecar.warnings.append(f"{path}: unknown key '{key}' ignored")
    check_metadata_types(sidecar.metadata, path)
    return sidecar


def _is_relative_file(key: str, value: Any) -> bool:
    """A cover image or a stylesheet named in a sidecar is found beside the sidecar."""
    if key == "cover":
        return value not in ("auto", "none")
    return key == "style" and isinstance(value, str) and value.lower().endswith(".css")


def check_metadata_types(meta: dict[str, Any], path: Path) -> None:
    """Names as lists of strings, text fields as strings, the series index a number; else an error
    naming the file (shared with collection.toml)."""
    for key in ("author", "authors", "subjects"):
        if key in meta:
            value = meta[key]
            if isinstance(value, str):
                meta[key] = [value]
            elif not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise PackagerError(f"'{key}' must be a string or a list of strings", path)
    index = meta.get("series_index")
    if "series_index" in meta and not (isinstance(index, (int, float)) and not isinstance(index, bool)
                                       and math.isfinite(index) and index >= 0):
        raise PackagerError("'series_index' must be a number (0 or more)", path)
    for key in ("title", "language", "description", "series", "publisher", "source", "rights",
                "identifier"):
        if key in meta and not isinstance(meta[key], str):
            raise PackagerError(f"'{key}' must be a string", path)
    if "date" in meta:
        meta["date"] = str(meta["date"])


def _check_option_type(key: str, value: Any, path: Path) -> None:
    expected = bool if key in ("keep_licence", "recto_openings", "bleed", "soft_hyphens") else str
    if not isinstance(value, expected):
        raise PackagerError(f"'{key}' must be {'true or false' if expected is bool else 'a string'}", path)
    if key in OPTION_CHOICES and value not in OPTION_CHOICES[key]:
        raise PackagerError(f"'{key}' must be {' or '.join(OPTION_CHOICES[key])}, not '{value}'", path)


def _string_list(table: dict[str, Any], key: str, path: Path | None) -> list[str]:
    """A `[detect]` value that is one string or a list of strings."""
    value = table.get(key, [])
    if isinstance(value, str):
        return [value]
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise PackagerError(f"detect.{key} must be a string or a list of strings", path)
    return value


class UserPattern:
    """A sidecar's regular expression, with a time limit: a pattern that backtracks without end
    (`^(a+)+$`) stops the build with one line naming it instead of hanging it. Each search may take
    at most PATTERN_SECONDS, and all of one pattern's searches over a book PATTERN_BUDGET together.
    It has the face of a compiled `re` pattern that detection uses (`search`, `pattern`)."""

    def __init__(self, compiled: Any, key: str, path: Path | None):
        self.compiled = compiled
        self.pattern = compiled.pattern
        self.key = key
        self.path = path
        self.spent = 0.0

    def search(self, text: str, *args: Any) -> Any:
        remaining = PATTERN_BUDGET - self.spent
        started = time.perf_counter()
        try:
            return self.compiled.search(text, *args, timeout=max(0.001, min(PATTERN_SECONDS, remaining)))
        except TimeoutError:
            raise PackagerError(f"{self.key}: pattern {self.pattern!r} takes too long to match "
                                f"(it backtracks without end: simplify it)", self.path) from None
        finally:
            self.spent += time.perf_counter() - started

    def __reduce__(self):
        return (UserPattern, (self.compiled, self.key, self.path))


PATTERN_SECONDS = 1.0
PATTERN_BUDGET = 20.0


def detect_options(sidecar: Sidecar, known_rules: set[str]) -> dict[str, Any]:
    """The `[detect]` table as keyword arguments for DetectOptions, patterns compiled; a bad pattern
    is an error naming the sidecar, an unknown rule name a warning."""
    table = sidecar.detect
    path = sidecar.path

    def patterns(key: str) -> tuple[UserPattern, ...]:
        compiled = []
        for value in _string_list(table, key, path):
            try:
                compiled.append(UserPattern(regex.compile(value), f"detect.{key}", path))
            except (regex.error, re.error, OverflowError, RecursionError, ValueError) as error:
                raise PackagerError(f"detect.{key}: bad pattern {value!r}: {error}", path) from None
        return tuple(compiled)

    disabled = _string_list(table, "disable", path)
    for name in disabled:
        if name not in known_rules:
            sidecar.warnings.append(f"{path}: detect.disable names no rule '{name}' "
                                    f"(rules: {', '.join(sorted(known_rules))})")
    titles = []
    chapter_titles = table.get("chapter_titles") or {}
    if not isinstance(chapter_titles, dict):
        raise PackagerError("detect.chapter_titles must be a table of chapter numbers and titles", path)
    for position, title in chapter_titles.items():
        if not str(position).isdigit():
            raise PackagerError(f"detect.chapter_titles: '{position}' is not a chapter number", path)
        titles.append((int(position), str(title)))
    return {
        "disabled_rules": frozenset(disabled),
        "heading_patterns": patterns("heading_patterns"),
        "note_patterns": patterns("note_patterns"),
        "never_note_patterns": patterns("never_note_patterns"),
        "chapter_titles": tuple(sorted(titles)),
    }
