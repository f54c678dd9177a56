"""Building one story: load it, apply the notes mode and typography, render, write atomically.

Both formats are rendered in memory first and then written through a temporary file in the output
folder and renamed, so a failure at any step leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from packager.detect.frontmatter import language_code
from packager.errors import PackagerError
from packager.model import Block
from packager.read.sidecar import is_language_code
from packager.read.sources import StorySource
from packager.render.assets import Theme, load_theme
from packager.render.cover import CoverImage, generate_cover, load_cover
from packager.story import Story, load_story
from packager.transform.notes import NOTES_MODES
from packager.transform.pipeline import prepare_book

FORMATS = ("epub", "pdf")
_REMOTE = re.compile(r"\bhttps?://\S+", re.IGNORECASE)


@dataclass
class BuildOptions:
    """What the command line asked for; None means: take it from the sidecar, else the default."""

    formats: tuple[str, ...] = FORMATS
    out_dir: Path = Path("dist")
    notes: str | None = None
    style: str | None = None
    cover: str | None = None
    page_size: str | None = None
    smart_typography: bool = True
    keep_licence: bool | None = None
    scene_break: str | None = None
    jobs: int = 1
    cache_dir: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildResult:
    story: Story
    outputs: list[Path]
    notes_found: int
    notes_removed: int
    warnings: list[str]


def source_date(story: Story) -> datetime:
    """`dcterms:modified`: SOURCE_DATE_EPOCH when set, else the newest modification time of the story's
    own files, so an unchanged story rebuilds to identical bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    paths = list(story.source.files) + ([story.source.sidecar] if story.source.sidecar else [])
    newest = max(int(p.stat().st_mtime) for p in paths)
    return datetime.fromtimestamp(newest, tz=timezone.utc)


def resolve_cover(story: Story, option: str | None) -> CoverImage | None:
    """The command line wins, then the sidecar, then a cover image beside the story, then a generated one."""
    choice: Any = option or story.sidecar.options.get("cover") or story.source.cover or "auto"
    if str(choice) == "none":
        return None
    meta = story.book.metadata
    if str(choice) == "auto":
        return generate_cover(meta.title or "", meta.authors, meta.series, meta.series_index)
    return load_cover(Path(choice))


def _setting(options_value: str | None, story: Story, key: str, default: str) -> str:
    value = options_value or story.sidecar.options.get(key) or default
    return str(value)


def check_options(options: BuildOptions) -> None:
    """Usage errors in the command line itself, found before any story is read."""
    if options.notes is not None and options.notes not in NOTES_MODES:
        raise PackagerError(f"--notes: unknown mode '{options.notes}' (keep, strip or endnotes)", usage=True)
    if options.style or options.page_size:
        load_theme(options.style, options.page_size or "a5")
    language = options.metadata.get("language")
    if language is not None and not is_language_code(language_code(language)):
        raise PackagerError(f"--language: '{language}' is not a language code (en, fr, pt-BR, …)", usage=True)
    if options.cover not in (None, "auto", "none") and not Path(options.cover).is_file():
        raise PackagerError("cover image not found", options.cover)


def build_story(source: StorySource, options: BuildOptions) -> BuildResult:
    story = load_story(source, options.metadata)
    warnings = list(story.warnings)
    notes_mode = _setting(options.notes, story, "notes", "keep")
    if notes_mode not in NOTES_MODES:
        raise PackagerError(f"unknown notes mode '{notes_mode}' (keep, strip or endnotes)", usage=True)
    theme: Theme = load_theme(_setting(options.style, story, "style", "") or None,
                              _setting(options.page_size, story, "page_size", "a5"),
                              _setting(options.scene_break, story, "scene_break", "") or None)
    warnings.extend(theme.warnings)
    cover = resolve_cover(story, options.cover)
    keep_licence = options.keep_licence if options.keep_licence is not None else \
        bool(story.sidecar.options.get("keep_licence", False))
    book, removed = prepare_book(story.book, notes_mode, options.smart_typography,  # type: ignore[arg-type]
                                 story.detect_options.disabled_rules, keep_licence)
    warnings.extend(_remote_reference_warnings(story))
    modified = source_date(story)

    rendered: dict[str, bytes] = {}
    if "epub" in options.formats:
        from packager.render.epub import build_epub
        rendered["epub"] = build_epub(book, theme, cover, modified)
        if theme.user_css_references:
            warnings.append(f"{theme.user_css_path}: {theme.user_css_references} @import or url() reference(s) "
                            f"left out of the EPUB, which holds only the book's own files")
    if "pdf" in options.formats:
        from packager.render.pdf import build_pdf, default_cache_dir
        pdf = build_pdf(book, theme, cover, modified, jobs=options.jobs,
                        cache_dir=options.cache_dir or default_cache_dir())
        rendered["pdf"] = pdf.data
        warnings.extend(f"{source.path}: not fetched: {url}" for url in pdf.refused_urls)
    if notes_mode == "strip" and removed:
        rendered["notes.txt"] = notes_report(story, removed).encode("utf-8")

    outputs = write_outputs(options.out_dir, story.slug, rendered)
    notes_found = sum(1 for b in _blocks(story) if b.kind == "note")
    return BuildResult(story, outputs, notes_found, len(removed) if notes_mode != "keep" else 0, warnings)


def _blocks(story: Story) -> list[Block]:
    blocks = list(story.book.front_matter)
    for chapter in story.book.chapters:
        blocks.extend(chapter.blocks)
    return blocks


def _remote_reference_warnings(story: Story) -> list[str]:
    found = [b for b in _blocks(story) if _REMOTE.search(b.text)]
    if not found:
        return []
    first = found[0]
    where = f"{first.file or story.source.path}:{first.lines[0]}"
    return [f"{where}: the text refers to a remote address; it is kept as text and nothing is fetched"]


def notes_report(story: Story, removed: list[Block]) -> str:
    """What `--notes strip` took out, with where it stood, so nothing is lost."""
    lines = [f"Author's notes removed from {story.book.metadata.title} ({story.source.path})", ""]
    for block in removed:
        where = f"{block.file + ' ' if block.file else ''}lines {block.lines[0]}-{block.lines[1]}"
        lines += [f"[{where}, {block.note_kind or 'note'}, rule {block.rule}]", block.text, ""]
    return "\n".join(lines)


def write_outputs(out_dir: Path, slug: str, rendered: dict[str, bytes]) -> list[Path]:
    """Write every output through a temporary file and a rename; on any error remove what was begun."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PackagerError(f"cannot create output folder: {error.strerror}", out_dir) from None
    if not os.access(out_dir, os.W_OK):
        raise PackagerError("output folder is not writable", out_dir)
    temporary: list[tuple[Path, Path]] = []
    try:
        for suffix, data in rendered.items():
            handle, name = tempfile.mkstemp(prefix=f".{slug}.", suffix=".part", dir=out_dir)
            temporary.append((Path(name), out_dir / f"{slug}.{suffix}"))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(name, 0o644)
        for temp, final in temporary:
            os.replace(temp, final)
    except OSError as error:
        for temp, _ in temporary:
            temp.unlink(missing_ok=True)
        raise PackagerError(f"cannot write output: {error.strerror or error}", out_dir) from None
    except BaseException:
        for temp, _ in temporary:
            temp.unlink(missing_ok=True)
        raise
    return [final for _, final in temporary]
