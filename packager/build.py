"""Building one book: load its story (or an anthology's stories), apply the notes mode and
typography, render, write atomically.

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
from packager.parts import part_prefix, sweep_parts
from packager.model import Block, Book, Metadata
from packager.progress import report
from packager.processes import raise_if_stopped
from packager.read.collection import Collection
from packager.read.sources import BookSource, StorySource
from packager.read.sidecar import is_language_code
from packager.render.assets import Theme, load_theme
from packager.render.cover import CoverImage, generate_cover, load_cover
from packager.story import Story, load_story, slugify, stable_identifier
from packager.transform.anthology import bind_anthology, distinct_authors
from packager.transform.notes import NOTES_MODES
from packager.transform.marks import cap_combining_marks, marks_warning
from packager.transform.pipeline import prepare_book
from packager.transform.typography import smarten

FORMATS = ("epub", "pdf")  # what a build makes unless told otherwise
KNOWN_FORMATS = (*FORMATS, "kepub")  # kepub: the EPUB with Kobo's markup, `<slug>.kepub.epub`
PDF_VARIANTS = ("pdf/ua-1", "pdf/a-3b", "pdf/x-1a", "pdf/x-3")
PRINT_VARIANTS = ("pdf/x-1a", "pdf/x-3")  # only with a print service
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
    soft_hyphens: bool | None = None  # the EPUB's long words with soft hyphens, for readers that do not hyphenate
    scene_break: str | None = None
    recto_openings: bool | None = None
    pdf_variant: str | None = None
    print_service: str | None = None  # kdp or ingram: a print interior and a wrap cover
    paper: str | None = None  # white or cream, for the spine
    bleed: bool | None = None  # the interior's pages with 1/8 in of bleed
    jobs: int = 1
    cache_dir: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_date_epoch: int | None = None  # dcterms:modified for every book; None: SOURCE_DATE_EPOCH, else mtimes


@dataclass
class RenderedBook:
    """A book rendered in memory and not yet written: its files by suffix (`epub`, `pdf`,
    `notes.txt`), the book as rendered, its cover, and what the summary reports."""

    slug: str
    book: Book
    files: dict[str, bytes]
    cover: CoverImage | None
    notes_found: int
    notes_removed: int
    warnings: list[str]

    @property
    def chapters(self) -> int:
        return len(self.book.chapters)

    @property
    def words(self) -> int:
        return sum(len(b.text.split()) for c in self.book.chapters for b in c.blocks if b.kind == "paragraph")


@dataclass
class BuildResult:
    rendered: RenderedBook
    outputs: list[Path]

    @property
    def warnings(self) -> list[str]:
        return self.rendered.warnings


MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second an EPUB or PDF date can name


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH as a number of seconds; one that is not a date (past the year 9999) is an error."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not (epoch and epoch.strip().isdigit()):
        return None
    if int(epoch) > MAX_EPOCH:
        raise PackagerError(f"SOURCE_DATE_EPOCH: {epoch.strip()[:30]} is past the year 9999", usage=True)
    return int(epoch)


def source_date(story: Story, epoch: int | None = None) -> datetime:
    """`dcterms:modified`: `epoch` (else SOURCE_DATE_EPOCH) when set, else the newest modification time
    of the story's own files, so an unchanged story rebuilds to identical bytes."""
    epoch = epoch if epoch is not None else source_date_epoch()
    if epoch is not None:
        return datetime.fromtimestamp(epoch, tz=timezone.utc)
    paths = list(story.source.files) + ([story.source.sidecar] if story.source.sidecar else [])
    newest = max(int(p.stat().st_mtime) for p in paths)
    return datetime.fromtimestamp(newest, tz=timezone.utc)


def resolve_cover(story: Story, option: str | None, collection: Collection | None = None) -> CoverImage | None:
    """The command line wins, then the sidecar, then a cover image beside the story, then the
    collection's, then a generated one."""
    defaults = collection.options if collection is not None else {}
    choice: Any = option or story.sidecar.options.get("cover") or story.source.cover or defaults.get("cover") \
        or "auto"
    if str(choice) == "none":
        return None
    meta = story.book.metadata
    if str(choice) == "auto":
        return generate_cover(meta.title or "", meta.authors, meta.series, meta.series_index)
    return load_cover(Path(choice))


def _setting(options_value: Any, key: str, default: Any, *layers: dict[str, Any]) -> Any:
    """The command line's value, else the first layer (sidecar, then collection) that sets `key`."""
    if options_value is not None:
        return options_value
    for layer in layers:
        if layer.get(key) is not None:
            return layer[key]
    return default


def check_options(options: BuildOptions) -> None:
    """Usage errors in the command line itself, found before any story is read."""
    if options.notes is not None and options.notes not in NOTES_MODES:
        raise PackagerError(f"--notes: unknown mode '{options.notes}' (keep, strip or endnotes)", usage=True)
    if options.print_service is not None:
        from packager.render.printing import print_spec
        print_spec(options.print_service, options.page_size, options.paper, bool(options.bleed))
        if options.style:
            load_theme(options.style)
    elif options.style or options.page_size:
        load_theme(options.style, options.page_size or "a5")
    if options.pdf_variant is not None and options.pdf_variant not in PDF_VARIANTS:
        raise PackagerError(f"--pdf-variant: unknown variant '{options.pdf_variant}' "
                            f"({', '.join(PDF_VARIANTS)})", usage=True)
    _check_print_variant(options.print_service, options.pdf_variant)
    language = options.metadata.get("language")
    if language is not None and not is_language_code(language_code(language)):
        raise PackagerError(f"--language: '{language}' is neither a language code nor a language's name "
                             "(en, fr, pt-BR, Welsh, …)", usage=True)
    if options.cover not in (None, "auto", "none") and not Path(options.cover).is_file():
        raise PackagerError("cover image not found", options.cover)


def _check_print_variant(service: str | None, variant: str | None) -> None:
    if service is None and variant in PRINT_VARIANTS:
        raise PackagerError(f"{variant} is made for print: use it with --print kdp or ingram", usage=True)
    if service is not None and variant is not None and variant not in PRINT_VARIANTS:
        raise PackagerError(f"--print makes a PDF/X interior ({', '.join(PRINT_VARIANTS)}), not {variant}",
                            usage=True)


def _print_spec(options: BuildOptions, *layers: dict[str, Any]):
    """The print settings of a book (command line, else sidecar, else collection), or None."""
    service = _setting(options.print_service, "print", None, *layers)
    if service is None:
        return None
    from packager.render.printing import print_spec
    return print_spec(str(service), _setting(options.page_size, "page_size", None, *layers),
                      _setting(options.paper, "paper", None, *layers),
                      bool(_setting(options.bleed, "bleed", False, *layers)))


def _theme(options: BuildOptions, *layers: dict[str, Any]) -> Theme:
    style = _setting(options.style, "style", None, *layers)
    printed = _setting(options.print_service, "print", None, *layers) is not None  # its trim comes later
    return load_theme(str(style) if style else None,
                      "a5" if printed else str(_setting(options.page_size, "page_size", "a5", *layers)),
                      _setting(options.scene_break, "scene_break", None, *layers),
                      bool(_setting(options.recto_openings, "recto_openings", False, *layers)))


def _variant(options: BuildOptions, *layers: dict[str, Any]) -> str | None:
    variant = _setting(options.pdf_variant, "pdf_variant", None, *layers)
    if variant is not None and variant not in PDF_VARIANTS:
        raise PackagerError(f"unknown pdf_variant '{variant}' ({', '.join(PDF_VARIANTS)})", usage=True)
    _check_print_variant(_setting(options.print_service, "print", None, *layers), variant)
    return variant


def _soft_hyphens(options: BuildOptions, *layers: dict[str, Any]) -> bool:
    return bool(_setting(options.soft_hyphens, "soft_hyphens", False, *layers))


def _notes_mode(options: BuildOptions, *layers: dict[str, Any]) -> str:
    mode = str(_setting(options.notes, "notes", "keep", *layers))
    if mode not in NOTES_MODES:
        raise PackagerError(f"unknown notes mode '{mode}' (keep, strip or endnotes)", usage=True)
    return mode


def _story_defaults(collection: Collection | None, series_index: int | None) -> dict[str, Any]:
    defaults = dict(collection.metadata) if collection is not None else {}
    if series_index is not None and defaults.get("series"):
        defaults["series_index"] = series_index
    return defaults


def render_story(source: StorySource, options: BuildOptions, collection: Collection | None = None,
                 series_index: int | None = None) -> RenderedBook:
    """One story rendered in memory. Settings come from the command line, else the story's sidecar,
    else the collection's defaults."""
    report("reading")
    story = load_story(source, options.metadata, _story_defaults(collection, series_index))
    layers = (story.sidecar.options, collection.options if collection is not None else {})
    warnings = list(story.warnings)
    notes_mode = _notes_mode(options, *layers)
    theme = _theme(options, *layers)
    warnings.extend(theme.warnings)
    cover = resolve_cover(story, options.cover, collection)
    keep_licence = bool(_setting(options.keep_licence, "keep_licence", False, *layers))
    warnings.extend(marks_warning(cap_combining_marks(story.book), source.path))
    book, removed = prepare_book(story.book, notes_mode, options.smart_typography,  # type: ignore[arg-type]
                                 story.detect_options.disabled_rules, keep_licence)
    warnings.extend(_remote_reference_warnings(story))
    try:
        files, refused, render_warnings = _render_formats(book, theme, cover,
                                                          source_date(story, options.source_date_epoch), options,
                                                          _variant(options, *layers), _print_spec(options, *layers),
                                                          _soft_hyphens(options, *layers))
    except PdfFailed as failed:
        raise failed.named(story.slug, source.path, warnings) from None
    warnings.extend(render_warnings)
    warnings.extend(f"{source.path}: not fetched: {url}" for url in refused)
    if notes_mode == "strip" and removed:
        files["notes.txt"] = notes_report(story, removed).encode("utf-8", "backslashreplace")
    notes_found = sum(1 for b in _blocks(story) if b.kind == "note")
    return RenderedBook(story.slug, book, files, cover, notes_found,
                        len(removed) if notes_mode != "keep" else 0, warnings)


def render_anthology(sources: tuple[StorySource, ...], options: BuildOptions, collection: Collection,
                     series_index: int | None = None) -> RenderedBook:
    """The stories of an anthology folder bound into one book: each story with its own title page
    and author, prepared with its own notes mode and typography; one theme, one cover."""
    defaults = {k: v for k, v in collection.metadata.items() if k not in ("series",)}
    stories: list[Story] = []
    prepared: list[Book] = []
    warnings: list[str] = []
    reports: list[str] = []
    notes_found = notes_removed = 0
    report("reading")
    for source in sources:
        story = load_story(source, None, defaults)
        layers = (story.sidecar.options, collection.options)
        mode = _notes_mode(options, *layers)
        keep_licence = bool(_setting(options.keep_licence, "keep_licence", False, *layers))
        warnings.extend(marks_warning(cap_combining_marks(story.book), source.path))
        book, removed = prepare_book(story.book, mode, options.smart_typography,  # type: ignore[arg-type]
                                     story.detect_options.disabled_rules, keep_licence)
        stories.append(story)
        prepared.append(book)
        warnings.extend(story.warnings)
        warnings.extend(_remote_reference_warnings(story))
        notes_found += sum(1 for b in _blocks(story) if b.kind == "note")
        notes_removed += len(removed) if mode != "keep" else 0
        if mode == "strip" and removed:
            reports.append(notes_report(story, removed))
    meta = _anthology_metadata(collection, prepared, options, series_index)
    book = bind_anthology(prepared, meta)
    theme = _theme(options, collection.options)
    warnings.extend(theme.warnings)
    choice = options.cover or collection.options.get("cover") or "auto"
    if str(choice) == "none":
        cover = None
    elif str(choice) == "auto":
        cover = generate_cover(meta.title or "", meta.authors, meta.series, meta.series_index)
    else:
        cover = load_cover(Path(choice))
    modified = max(source_date(story, options.source_date_epoch) for story in stories)
    try:
        files, refused, render_warnings = _render_formats(book, theme, cover, modified, options,
                                                          _variant(options, collection.options),
                                                          _print_spec(options, collection.options),
                                                          _soft_hyphens(options, collection.options))
    except PdfFailed as failed:
        raise failed.named(slugify(meta.title or collection.folder.name), collection.folder, warnings) from None
    warnings.extend(render_warnings)
    warnings.extend(f"{collection.folder}: not fetched: {url}" for url in refused)
    if reports:
        files["notes.txt"] = "\n".join(reports).encode("utf-8", "backslashreplace")
    return RenderedBook(slugify(meta.title or collection.folder.name), book, files, cover, notes_found,
                        notes_removed, warnings)


def _anthology_metadata(collection: Collection, books: list[Book], options: BuildOptions,
                        series_index: int | None) -> Metadata:
    """The anthology's own metadata: the collection's, else what its stories share; the command line
    over both."""
    values = collection.metadata
    cli = {k: v for k, v in options.metadata.items() if v is not None}
    title = cli.get("title") or collection.title or collection.folder.name
    authors = list(cli.get("authors") or values.get("authors") or distinct_authors(books))
    language = language_code(str(cli.get("language") or values.get("language") or books[0].metadata.language))
    if not is_language_code(language):  # each story's own language was checked, with a warning
        language = books[0].metadata.language
    meta = Metadata(
        title=smarten(title) if options.smart_typography else title, authors=authors, language=language,
        description=collection.description, subjects=list(values.get("subjects") or []),
        series=values.get("series"), series_index=float(series_index) if series_index and values.get("series")
        else None, publisher=values.get("publisher"), source=values.get("source"), rights=values.get("rights"),
        date=collection.date)
    meta.identifier = collection.identifier or stable_identifier(title, authors)
    return meta


def render_book(source: BookSource, options: BuildOptions) -> RenderedBook:
    """One book of a build: a story, or an anthology's stories bound together."""
    if source.is_anthology:
        return render_anthology(source.stories, options, source.collection,  # type: ignore[arg-type]
                                source.series_index)
    return render_story(source.stories[0], options, source.collection, source.series_index)


def _render_formats(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime,
                    options: BuildOptions, variant: str | None,
                    spec=None, soft_hyphens: bool = False) -> tuple[dict[str, bytes], list[str], list[str]]:
    """The book in each format asked for, the addresses the PDF renderer refused, and warnings. With
    a print `spec` the PDF is a print interior, with its wrap cover beside it (`cover.pdf`)."""
    rendered: dict[str, bytes] = {}
    refused: list[str] = []
    warnings: list[str] = []
    if "epub" in options.formats or "kepub" in options.formats:
        from packager.render.epub import build_epub
        report("EPUB")
        epub = build_epub(book, theme, cover, modified, soft_hyphens)
        if "epub" in options.formats:
            rendered["epub"] = epub
        if "kepub" in options.formats:
            from packager.render.kepub import kepub_from_epub
            rendered["kepub.epub"] = kepub_from_epub(epub)
        if theme.user_css_references:
            warnings.append(f"{theme.user_css_path}: {theme.user_css_references} @import or url() reference(s) "
                            f"left out of the EPUB, which holds only the book's own files")
    if "pdf" in options.formats and spec is not None:
        rendered["pdf"], rendered["cover.pdf"], refused, print_warnings = _render_print(
            book, theme, cover, modified, options, variant, spec)
        warnings.extend(print_warnings)
    elif "pdf" in options.formats:
        from packager.render.pdf import build_pdf, default_cache_dir
        try:
            pdf = build_pdf(book, theme, cover, modified, jobs=options.jobs,
                            cache_dir=options.cache_dir or default_cache_dir(), variant=variant)
        except Exception as error:  # the EPUB never depends on the PDF: it is written, the PDF reported
            if "epub" not in rendered:
                raise
            reason = error.problem if isinstance(error, PackagerError) else \
                f"unexpected {type(error).__name__}: {' '.join(str(error).split()) or 'no message'}"
            raise PdfFailed(f"the PDF failed ({reason}); the EPUB was written", rendered, warnings) from error
        rendered["pdf"] = pdf.data
        refused = list(pdf.refused_urls)
        warnings.extend(pdf.warnings)
    return rendered, refused, warnings


def _render_print(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime, options: BuildOptions,
                  variant: str | None, spec) -> tuple[bytes, bytes, list[str], list[str]]:
    """A print interior (no cover page: the cover is printed apart) and its wrap cover. The gutter
    depends on the page count, which is only known once the book is laid out; the text block has one
    width whatever the gutter, so a second pass (when the count lands in another gutter band) finds
    every chunk in the cache and only sets the pages in their new place."""
    from packager.render.pdf import build_pdf, default_cache_dir
    from packager.render.printing import check_print, finish_interior, page_count_warning, print_theme
    from packager.render.wrapcover import build_wrap_cover

    variant = variant or spec.service.default_variant
    counted = 0
    for _ in range(3):
        pdf = build_pdf(book, print_theme(theme, spec, counted), None, modified, jobs=options.jobs,
                        cache_dir=options.cache_dir or default_cache_dir(), shift_overlays=True)
        pages = pdf.pages + pdf.pages % 2
        if spec.service.gutter(pages) == spec.service.gutter(counted):
            break
        counted = pages
    interior, pages = finish_interior(pdf.data, spec, variant)
    meta = book.metadata
    front = cover or generate_cover(meta.title or "", meta.authors, meta.series, meta.series_index)
    wrap = build_wrap_cover(meta, front, spec, pages, variant)
    problems = check_print(interior, wrap, spec, variant)
    if problems:
        raise PackagerError(f"print check failed: {'; '.join(problems)}")
    warning = page_count_warning(spec, pages)
    return interior, wrap, list(pdf.refused_urls), [warning] if warning else []


class PdfFailed(PackagerError):
    """The PDF of a book failed after its EPUB was rendered: `files` holds the EPUB, which is written."""

    def __init__(self, message: str, files: dict[str, bytes], warnings: list[str]):
        super().__init__(message)
        self.files = files
        self.warnings = warnings
        self.slug = ""

    def named(self, slug: str, path: Path, warnings: list[str]) -> "PdfFailed":
        """The same failure, knowing its book's slug and source, and the book's warnings before it."""
        failed = PdfFailed(self.problem, self.files, warnings + self.warnings)
        failed.slug = slug
        failed.path = str(path)
        failed.args = (f"{path}: {self.problem}",)
        return failed


def build_story(source: StorySource, options: BuildOptions) -> BuildResult:
    """One story rendered and written to the output folder."""
    rendered = render_story(source, options)
    return BuildResult(rendered, write_outputs(options.out_dir, rendered.slug, rendered.files))


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
    """Write every output through a temporary file and a rename; on any error remove what was begun.
    A Ctrl-C swallowed on the way (see processes.raise_if_stopped) stops the build here, before any
    output is written."""
    raise_if_stopped()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PackagerError(f"cannot create output folder: {error.strerror}", out_dir) from None
    if not os.access(out_dir, os.W_OK):
        raise PackagerError("output folder is not writable", out_dir)
    sweep_parts(out_dir)
    temporary: list[tuple[Path, Path]] = []
    try:
        for suffix, data in rendered.items():
            handle, name = tempfile.mkstemp(prefix=part_prefix(slug), suffix=".part", dir=out_dir)
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
