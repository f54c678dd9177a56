"""PDF through WeasyPrint, rendered in chunks and merged into one book.

WeasyPrint lays out one document on one core and keeps it all in memory. So the body is cut into
chunks at chapter boundaries, each rendered alone (in worker processes when `jobs` > 1, one after
another in this process when it is 1: the same chunks, so the same bytes) with the same text width on
every page and no running heads or page numbers. As each chunk comes back its place in the book is
known, and a small overlay document of its running heads and page numbers, set by the theme's own
page rules, is rendered too. The front (cover, title page, contents) is rendered with the page numbers
the chunks turned out to have; while it is laid out, pikepdf puts the body together (moves each page
to its side's margins, a blank verso put before a chunk that must open on a recto, and lays the
overlays over them), then sets the front before it and adds bookmarks, cross-chunk links and
metadata. The workers write their content streams with short numbers (three decimals), so the merge
has only to join them.

Chunks and overlays are cached by their content and stylesheets (a chunk's layout does not depend on
where it lands), so a rebuild re-renders only what changed. A PDF variant (PDF/UA, PDF/A) is laid
out as one document instead, so that WeasyPrint's tags and metadata describe the whole book.

The renderer only reads the book's own files (theme folders, the user's stylesheet folder) and data:
URIs: a stylesheet or story pointing at a remote address gets nothing fetched.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import signal
import zlib
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from packager import __version__
from packager.errors import PackagerError
from packager.model import Book
from packager.progress import Counter, report
from packager.parts import part_prefix, sweep_parts
from packager.processes import fork_server_started, raise_if_stopped, worker_start
from packager.render.assets import Theme, environment, styles_dir
from packager.render.cover import COVER_SIZE, CoverFaces, CoverImage, generate_cover
from packager.render.layout import Entry, front_blocks, note_group_names, plan, story_front_blocks
from packager.render.paragraphs import cut_long_paragraphs
from packager.render.stack import with_room

LINK_PREFIX = "packager-anchor:"  # a cross-chunk link, resolved to its page when the chunks are merged
CHUNK_CHARACTERS = 120_000  # about 60 A5 pages: big enough to amortise start-up, small enough to spread


@dataclass
class PdfResult:
    data: bytes
    pages: int = 0
    refused_urls: list[str] = field(default_factory=list)
    rendered_chunks: int = 0
    cached_chunks: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    """One document for WeasyPrint: picklable, so it can travel to a worker process."""

    html: str
    stylesheets: tuple[tuple[str, str], ...]  # (css text, base url)
    roots: tuple[str, ...]
    variant: str = ""  # a PDF variant (pdf/ua-1, pdf/a-3b) WeasyPrint writes
    whole: bool = False  # the book as one document: WeasyPrint's PDF as it writes it
    margin_boxes: bool = True  # False: a chunk or the front, whose heads and numbers an overlay sets

    @property
    def key(self) -> str:
        from packager.render.linebreaks import LONGEST_LADDER, LOOSER_STEPS, MAX_ROUNDS, MIN_LINES

        digest = hashlib.sha256(f"packager {__version__} short-numbers {MAX_ROUNDS} {LONGEST_LADDER} {LOOSER_STEPS} {MIN_LINES}\n".encode())
        for part in (self.html, *(css for css, _ in self.stylesheets), *self.roots, self.variant, str(self.whole),
                     str(self.margin_boxes)):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()


@dataclass
class _Rendered:
    data: bytes
    pages: int
    anchors: dict[str, tuple[int, float]]  # anchor -> (page index in the chunk, CSS px from the top)
    refused: list[str]
    blanks: list[int] = field(default_factory=list)  # pages left blank before a right-hand opening


_PARSED_CSS: dict[tuple[str, str, tuple[str, ...]], object] = {}


def _ready() -> None:
    """A first task for each worker, so that workers start before the first chunk is ready."""


def _render(job: _Job) -> _Rendered:
    """Lay out and write one chunk (in a worker process when rendering in parallel)."""
    return with_room(_lay_out, job)


def _lay_out(job: _Job) -> _Rendered:
    import weasyprint  # imported here: it is slow to import and only the PDF needs it

    from packager.render import hyphenation, leaders, linebreaks, linecache, relayout
    from packager.render.fetcher import LocalOnlyFetcher

    hyphenation.install()
    leaders.install()
    linecache.install()

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = LocalOnlyFetcher([Path(root) for root in job.roots])
    base_url = styles_dir().as_uri() + "/"
    sheets = []
    for css, url in job.stylesheets:  # parsed once per process, reused for every chunk it renders
        key = (css, url, job.roots)
        if key not in _PARSED_CSS:
            _PARSED_CSS[key] = weasyprint.CSS(string=css, base_url=url or base_url, url_fetcher=fetcher)
        sheets.append(_PARSED_CSS[key])
    html = weasyprint.HTML(string=job.html, base_url=base_url, url_fetcher=fetcher)
    with linecache.remembered():
        layout, _ = linebreaks.second_pass(html, relayout.render(html, sheets, job.margin_boxes),
                                           lambda again: relayout.render(again, sheets, job.margin_boxes))
    document = layout.document
    anchors: dict[str, tuple[int, float]] = {}
    for index, page in enumerate(document.pages):
        for name, (_, y, *_) in page.anchors.items():
            anchors.setdefault(name, (index, y))  # a box split over pages starts on the first
    blanks = [index for index, page in enumerate(document.pages) if page._page_box.page_type.blank]
    with nullcontext() if job.whole else _short_numbers():
        data = document.write_pdf(pdf_variant=job.variant or None)
    return _Rendered(data, len(document.pages), anchors, list(fetcher.refused), blanks)


@contextmanager
def _short_numbers() -> Iterator[None]:
    """WeasyPrint's content streams (pages, and the forms and patterns drawn in them) written with
    their numbers shortened (see _NUMBER), in the worker that lays the document out rather than when
    the book is merged. Fonts and images are other streams, left as they are."""
    try:
        import pydyf
        from weasyprint.pdf.stream import Stream
    except ImportError:  # a WeasyPrint laid out otherwise: its numbers as it writes them
        yield
        return
    written = pydyf.Stream.data

    def data(stream) -> bytes:
        stream.stream = [_NUMBER.sub(_shortened, b"\n".join(pydyf._to_bytes(item) for item in stream.stream))]
        return written.fget(stream)

    own = Stream.__dict__.get("data")
    Stream.data = property(data)
    try:
        yield
    finally:
        if own is None:
            del Stream.data
        else:
            Stream.data = own


class _ChunkCache:
    """Rendered chunks on disk, keyed by everything that decides their layout."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, key: str) -> _Rendered | None:
        """The cached rendering, or None when there is none or it does not verify (a file cut short,
        emptied, garbage, of the wrong shape, or claiming other pages than its PDF has): such an entry
        is removed and rendered again."""
        if self.folder is None:
            return None
        pdf, meta = self.folder / f"{key}.pdf", self.folder / f"{key}.json"
        if not (meta.exists() or pdf.exists()):
            return None
        rendered = _verified(meta, pdf)
        if rendered is None:
            for path in (meta, pdf):
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
        return rendered

    def put(self, key: str, rendered: _Rendered) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # a cache that cannot be written only costs time
        sweep_parts(self.folder)
        # The PDF goes in last: a chunk counts as cached only once both files are whole.
        for suffix, data in ((".json", json.dumps(
                {"pages": rendered.pages, "anchors": rendered.anchors, "refused": rendered.refused,
                 "blanks": rendered.blanks}).encode()), (".pdf", rendered.data)):
            temporary = self.folder / f"{part_prefix(key + suffix)}tmp.part"
            try:
                temporary.write_bytes(data)
                os.replace(temporary, self.folder / f"{key}{suffix}")
            except OSError:
                return
            finally:  # also when interrupted half-way
                temporary.unlink(missing_ok=True)


MAX_CACHED_META = 16 * 1024 * 1024  # a chunk's anchors take a few KB; more is not a file this tool wrote
MAX_CACHED_PDF = 1024 * 1024 * 1024


def _verified(meta: Path, pdf: Path) -> _Rendered | None:
    """A cache entry read back and checked: the JSON's shape and types, and a PDF that opens with
    exactly the pages the JSON claims (so a bogus count never drives the merge)."""
    import pikepdf

    try:
        if not (meta.is_file() and pdf.is_file()) or meta.stat().st_size > MAX_CACHED_META \
                or pdf.stat().st_size > MAX_CACHED_PDF:
            return None
        info = json.loads(meta.read_bytes())
        data = pdf.read_bytes()
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(info, dict):
        return None
    pages, anchors, refused, blanks = (info.get(k) for k in ("pages", "anchors", "refused", "blanks"))
    if not (_count(pages) and isinstance(anchors, dict) and isinstance(refused, list) and isinstance(blanks, list)):
        return None
    if not (all(isinstance(url, str) for url in refused) and all(_count(b) and b < pages for b in blanks)):
        return None
    places: dict[str, tuple[int, float]] = {}
    for name, place in anchors.items():
        if not (isinstance(place, list) and len(place) == 2 and _count(place[0]) and place[0] < pages
                and isinstance(place[1], (int, float)) and not isinstance(place[1], bool)
                and -1e6 < place[1] < 1e6):
            return None
        places[name] = (place[0], place[1])
    try:
        with pikepdf.open(io.BytesIO(data)) as document:
            if len(document.pages) != pages:
                return None
    except (pikepdf.PdfError, ValueError, OSError, RecursionError):
        return None
    return _Rendered(data, pages, places, refused, blanks)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def default_cache_dir() -> Path:
    base = os.environ.get("PACKAGER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "packager")
    return Path(base) / "pdf-chunks"


LINE_CHARACTERS = 60  # what a paragraph weighs at least: one line, however short its text


def _weight(block) -> int:
    return len(block.text) + LINE_CHARACTERS


def _pieces(entry: Entry) -> list[Entry]:
    """A chapter far longer than a chunk (counting each paragraph as at least a line: 500,000 one-word
    lines are some 14,000 pages) cut at paragraph boundaries into pieces of about a chunk: the first
    keeps the chapter's opening, the others (`continued`) carry only paragraphs and its running head,
    each starting a chunk of its own. WeasyPrint's memory and time grow faster than the document, so
    no chunk may be unbounded."""
    chapter = entry.chapter
    if chapter is None or entry.kind != "chapter" or sum(_weight(b) for b in chapter.blocks) <= 2 * CHUNK_CHARACTERS:
        return [entry]
    groups: list[list] = [[]]
    size = 0
    for block in chapter.blocks:
        if size >= CHUNK_CHARACTERS and groups[-1]:
            groups.append([])
            size = 0
        groups[-1].append(block)
        size += _weight(block)
    first = Entry(entry.kind, entry.anchor, entry.title, dataclasses.replace(chapter, blocks=groups[0]), entry.index,
                  entry.children)
    return [first] + [Entry("continued", f"{entry.anchor}-continued-{number}", entry.title,
                            dataclasses.replace(chapter, blocks=group), entry.index)
                      for number, group in enumerate(groups[1:], 2)]


def _chunks(sequence: list[Entry]) -> list[list[Entry]]:
    """The body cut at chapter boundaries into chunks of about CHUNK_CHARACTERS; a part's title page
    (or an anthology story's) goes with the chapter after it, and a chapter far longer than a chunk is
    cut into pieces (see _pieces), each beginning a chunk. Boundaries depend only on the text, so
    they stay put when a chapter is appended, and the same whatever `jobs` is, so the number of
    processes never changes a byte of the book. Endnotes are left out: they are rendered last."""
    body = [piece for e in sequence if e.kind not in ("endnotes",) for piece in _pieces(e)]
    chunks: list[list[Entry]] = [[]]
    size = 0
    for entry in body:
        if chunks[-1] and (entry.kind == "continued" or size >= CHUNK_CHARACTERS
                           and chunks[-1][-1].kind not in ("part", "story")):
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        if entry.chapter is not None:
            size += sum(len(b.text) for b in entry.chapter.blocks)
    return [c for c in chunks if c]


def build_pdf(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime, jobs: int = 1,
              cache_dir: Path | None = None, variant: str | None = None,
              shift_overlays: bool = False) -> PdfResult:
    """The whole book as a PDF. `jobs` > 1 renders chunks in that many processes; `cache_dir` keeps
    rendered chunks for the next build. A `variant` (pdf/ua-1, pdf/a-3b) is rendered as one document,
    so that WeasyPrint's tags and archival metadata describe the whole book. `shift_overlays`: the
    theme's pages have equal side margins, and the running heads and numbers move to their side's
    margins with the text (a printed book whose gutter is only known once its pages are counted)."""
    cover = print_cover(cover, theme)
    book = cut_long_paragraphs(book)  # no paragraph is laid out whole when it runs to many pages
    if variant:
        result = _build_whole(book, theme, cover, modified, jobs, cache_dir, variant)
        result.warnings = _font_warnings(book)
        return result
    env = environment()
    sequence, outline = plan(book)
    meta = book.metadata
    geometry = theme.geometry
    chunk_sheets = _stylesheets(theme, extra=geometry.chunk_css())
    roots = tuple(str(r) for r in theme.roots or [styles_dir()])
    chapter_names = note_group_names(book, sequence)
    context = dict(book=book, meta=meta, front_blocks=front_blocks(book), link_prefix=LINK_PREFIX,
                   ornament=theme.ornament, chapter_names=chapter_names,
                   story_blocks=[story_front_blocks(h) for h in book.stories],
                   edition=modified.strftime("%Y-%m-%d"), version=__version__)
    result = PdfResult(b"", warnings=_font_warnings(book))
    body_chunks = _chunks(sequence)
    jobs = min(jobs, len(body_chunks) + 1)  # no more workers than there is work: the chunks and the front
    with _Renderer(jobs, _ChunkCache(cache_dir), result) as renderer:
        chunk_done = Counter("PDF", len(body_chunks))
        cover_uri = f"data:{cover.media_type};base64,{base64.b64encode(cover.data).decode('ascii')}" \
            if cover else None

        def front_job(page_of: dict[str, str]) -> _Job:
            html = env.get_template("pdf-front.html.j2").render(cover=cover_uri, outline=outline,
                                                                 page_of=page_of, **context)
            return _Job(html, chunk_sheets, roots, margin_boxes=False)

        def overlay_job(pages: list[dict[str, str]]) -> _Job:
            return _Job(env.get_template("pdf-overlay.html.j2").render(meta=meta, pages=pages),
                        _stylesheets(theme), roots)

        # The body chunks, with a contents page whose numbers have the right number of digits. As
        # each chunk comes back (in order), its place in the book is known, so the overlay with its
        # running heads and page numbers is queued at once and fills the pool while chunks finish.
        digits = len(str(max(10, sum(len(b.text) for c in book.chapters for b in c.blocks) // 1200)))
        placeholder = renderer.submit(front_job({e.anchor: "8" * digits for e in sequence}))
        pending = _Ahead(lambda chunk: renderer.submit(_Job(env.get_template("pdf-chunk.html.j2").render(
            entries=chunk, endnote_hrefs={}, page_of={}, **context), chunk_sheets, roots, margin_boxes=False),
            chunk_done),
            body_chunks, jobs + 1)
        has_cover = cover is not None
        endnotes_entry = next((e for e in sequence if e.kind == "endnotes"), None)
        front = placeholder.result()
        for _ in range(3):  # the front's length can change with the digits of its page numbers
            parts, starts, plans, overlays = [front], [0], [], []
            plans.append(_overlay_plan(front, 0, 0, [], has_cover, 0))
            overlays.append(renderer.submit(overlay_job(plans[0][0])))
            first = _opening(front.pages, True)  # page 1, where the body begins: always a recto
            for chunk, waiting in zip(body_chunks, pending):
                rendered = waiting.result()
                end = starts[-1] + parts[-1].pages
                starts.append(first if len(starts) == 1 else _opening(end, theme.recto))
                parts.append(rendered)
                plans.append(_overlay_plan(rendered, starts[-1], end, chunk, has_cover, first))
                overlays.append(renderer.submit(overlay_job(plans[-1][0])))
            page_of, position = _positions(parts, starts, first)
            endnotes_start = _opening(starts[-1] + parts[-1].pages, theme.recto)
            endnotes = None
            if endnotes_entry is not None:  # their back links give the body's pages
                page_of[endnotes_entry.anchor] = endnotes_start + 1 - first
                endnote_hrefs = {i: LINK_PREFIX for i in chapter_names} | {-1: None}
                endnotes = renderer.submit(_Job(env.get_template("pdf-chunk.html.j2").render(
                    entries=[endnotes_entry], endnote_hrefs=endnote_hrefs,
                    page_of={k: str(v) for k, v in page_of.items()}, **context), chunk_sheets, roots,
                    margin_boxes=False))
            final = renderer.submit(front_job({k: str(v) for k, v in page_of.items()}))
            # While the front is laid out, the body is put together: it stays as it is when the
            # front keeps its length (as it almost always does).
            merger = _Merger(geometry.shift_points, has_cover, shift_overlays)
            merger.reserve(front.pages)
            for number in range(1, len(parts)):
                merger.add(number, parts[number], starts[number], starts[number - 1] + parts[number - 1].pages,
                           overlays[number].result(), plans[number][1])
            final_front = final.result()
            if _opening(final_front.pages, True) == first:  # the body begins where it was laid out for
                parts[0] = front = final_front
                plans[0] = _overlay_plan(front, 0, 0, [], has_cover, 0)
                merger.add(0, front, 0, 0, renderer.submit(overlay_job(plans[0][0])).result(), plans[0][1])
                break
            front = final_front
            pending = [_Done(part) for part in parts[1:]]
        else:  # the front never settled: the book keeps the one its pages were counted with
            merger.add(0, parts[0], 0, 0, overlays[0].result(), plans[0][1])
        if endnotes is not None:
            rendered = endnotes.result()
            for name, (index, y) in rendered.anchors.items():
                position[name] = (endnotes_start + index, y)
            end = starts[-1] + parts[-1].pages
            plans.append(_overlay_plan(rendered, endnotes_start, end, [endnotes_entry], has_cover, first))
            merger.add(len(parts), rendered, endnotes_start, end,
                       renderer.submit(overlay_job(plans[-1][0])).result(), plans[-1][1])
            parts.append(rendered)
    for part in parts:
        result.refused_urls.extend(part.refused)
    for name, (index, y) in front.anchors.items():
        position.setdefault(name, (index, y))
    report("merging")
    result.data = merger.finish(position, outline, book, modified, first)
    result.pages = len(merger.pdf.pages)
    return result


class _Ahead:
    """The chunks, each sent to the workers `ahead` chunks before it is wanted: enough to keep every
    worker busy, and few enough that a chunk's overlay, queued as soon as the chunk comes back, is laid
    out between the chunks rather than after all of them."""

    def __init__(self, submit: Callable[[list[Entry]], _Done | _Pending], chunks: list[list[Entry]], ahead: int):
        self.submit, self.chunks, self.ahead = submit, chunks, ahead
        self.sent: list[_Done | _Pending] = []

    def __iter__(self) -> Iterator[_Done | _Pending]:
        for index in range(len(self.chunks)):
            while len(self.sent) < min(len(self.chunks), index + self.ahead):
                self.sent.append(self.submit(self.chunks[len(self.sent)]))
            yield self.sent[index]


@dataclass
class _Done:
    """A rendering already at hand, with the same face as a pending one."""

    rendered: _Rendered

    def result(self) -> _Rendered:
        return self.rendered


class _Pending:
    """A rendering under way in a worker; stored in the cache when it comes back."""

    def __init__(self, future, renderer: _Renderer, key: str):
        self.future, self.renderer, self.key = future, renderer, key
        self.rendered: _Rendered | None = None

    def result(self) -> _Rendered:
        if self.rendered is None:
            self.rendered = self.future.result()
            raise_if_stopped()
            self.renderer.cache.put(self.key, self.rendered)
            self.renderer.result.rendered_chunks += 1
        return self.rendered


class _Renderer:
    """Renders documents from the cache where it can, the rest in one pool of worker processes kept
    for the whole book (when jobs > 1) or at once in this process."""

    def __init__(self, jobs: int, cache: _ChunkCache, result: PdfResult):
        self.jobs, self.cache, self.result = jobs, cache, result
        self.pool: ProcessPoolExecutor | None = None
        self.sent: dict[str, _Done | _Pending] = {}  # a document asked for twice is rendered once

    def __enter__(self) -> _Renderer:
        if self.jobs > 1:  # start the workers now, while this process writes the chunks' HTML
            self._pool()
        return self

    def __exit__(self, kind, *exc) -> None:
        if self.pool is None:
            return
        if kind is None:
            self.pool.shutdown()
        else:  # Ctrl-C, or a chunk that failed: stop the others now, not when they end
            _stop_workers(self.pool)

    def submit(self, job: _Job, on_done: Callable[[], None] | None = None) -> _Done | _Pending:
        """`on_done` is called once the document is rendered (or found in the cache)."""
        key = job.key
        if key in self.sent:  # the same overlay, planned again when the front changed length
            if on_done:
                on_done()
            return self.sent[key]
        self.sent[key] = self._submit(job, key, on_done)
        return self.sent[key]

    def _submit(self, job: _Job, key: str, on_done: Callable[[], None] | None) -> _Done | _Pending:
        hit = self.cache.get(key)
        if hit is not None:
            self.result.cached_chunks += 1
            if on_done:
                on_done()
            return _Done(hit)
        if self.jobs <= 1:
            rendered = _render(job)
            raise_if_stopped()
            self.cache.put(key, rendered)
            self.result.rendered_chunks += 1
            if on_done:
                on_done()
            return _Done(rendered)
        with _interrupts_held():  # a submission may start a worker
            future = self._pool().submit(_render, job)
        if on_done:
            future.add_done_callback(lambda done: done.cancelled() or done.exception() or on_done())
        return _Pending(future, self, key)

    def _pool(self) -> ProcessPoolExecutor:
        """Even a single document goes to a worker: this process keeps only the book. Workers fork
        from a small server that has only WeasyPrint loaded, not from this process with the whole book
        in memory: each holds just the chunk it lays out."""
        if self.pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["packager.processes", "weasyprint", "packager.render.pdf"])
            with fork_server_started():
                self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                                initializer=worker_start)
                for _ in range(self.jobs):
                    self.pool.submit(_ready)
        return self.pool


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C while the worker processes start, and take it right after: a worker half-started
    when it came would be missed by _stop_workers. Processes started meanwhile (the fork server, hence
    every worker) keep it blocked for good, and leave it to this process."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:  # not on Windows
        yield
        return
    previous = block(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, previous)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers at once (a chunk can take a minute to lay out) and wait for them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=10)


def _font_warnings(book: Book) -> list[str]:
    """A warning for each script of the book (its text, titles and metadata) that no installed font
    can draw."""
    from packager.render.scripts import missing_font_warnings

    meta = book.metadata
    texts = [meta.title or "", *meta.authors, *(b.text for c in book.chapters for b in c.blocks),
             *(c.display_title or "" for c in book.chapters), *(b.text for b in book.front_matter),
             *(n.block.text for n in book.endnotes)]
    return missing_font_warnings(texts)


def print_cover(cover: CoverImage | None, theme: Theme) -> CoverImage | None:
    """The cover as the PDF prints it. A generated cover is drawn again with the page's proportions
    and in the theme's faces, so the whole of it shows at the trim size; a user's image is shown
    whole (print.css), never cropped."""
    if cover is None or cover.recipe is None:
        return cover
    title, authors, series, series_index, seed = cover.recipe
    faces = CoverFaces(*theme.cover_faces) if theme.cover_faces else CoverFaces()
    height = round(COVER_SIZE[0] * theme.geometry.height / theme.geometry.width)
    return generate_cover(title, list(authors), series, series_index, seed, height=height, faces=faces)


def _build_whole(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime, jobs: int,
                 cache_dir: Path | None, variant: str) -> PdfResult:
    """The book as one WeasyPrint document: page numbers, running heads, contents page numbers and
    bookmarks come from CSS (margin boxes, target-counter, bookmark-level) instead of the merge."""
    sequence, outline = plan(book)
    chapter_names = note_group_names(book, sequence)
    cover_uri = f"data:{cover.media_type};base64,{base64.b64encode(cover.data).decode('ascii')}" if cover else None
    html = environment().get_template("pdf-book.html.j2").render(
        book=book, meta=book.metadata, front_blocks=front_blocks(book), entries=sequence, outline=outline,
        story_blocks=[story_front_blocks(h) for h in book.stories],
        cover=cover_uri, chapter_names=chapter_names, endnote_hrefs={i: "" for i in chapter_names} | {-1: None},
        modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"), edition=modified.strftime("%Y-%m-%d"),
        version=__version__, ornament=theme.ornament)
    whole_css = (styles_dir() / "print-whole.css").read_text(encoding="utf-8")
    roots = tuple(str(r) for r in theme.roots or [styles_dir()])
    result = PdfResult(b"")
    with _Renderer(min(jobs, 2), _ChunkCache(cache_dir), result) as renderer:  # one document: one worker at work
        rendered = renderer.submit(_Job(html, _stylesheets(theme, extra=whole_css), roots, variant, whole=True),
                                   Counter("PDF", 1)).result()
    result.data, result.pages, result.refused_urls = rendered.data, rendered.pages, list(rendered.refused)
    if sequence and sequence[0].anchor in rendered.anchors:
        result.data = _with_page_labels(rendered.data, cover is not None, rendered.anchors[sequence[0].anchor][0])
    return result


def _with_page_labels(data: bytes, has_cover: bool, first: int) -> bytes:
    """A whole-document PDF with the page labels of the chunked render (WeasyPrint writes none)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as document:
        document.Root.PageLabels = _page_labels(has_cover, first)
        out = io.BytesIO()
        document.save(out, deterministic_id=True)
        return out.getvalue()


def _stylesheets(theme: Theme, extra: str = "") -> tuple[tuple[str, str], ...]:
    sheets = [(theme.epub_css, ""), (theme.print_css, "")]
    if theme.user_css_path is not None:
        sheets.append((theme.user_css, theme.user_css_path.as_uri()))
    if extra:
        sheets.append((extra, ""))
    return tuple(sheets)


def _opening(index: int, recto: bool) -> int:
    """The page a chunk starts on: the next one, or with right-hand openings the next recto (an even
    index: the book's first page is a recto), a blank verso put before it."""
    return index + 1 if recto and index % 2 else index


def _positions(parts: list[_Rendered], starts: list[int], first: int):
    """The printed page number (page 1 at index `first`) and the position of every anchor in the
    body chunks."""
    page_of: dict[str, int] = {}
    position: dict[str, tuple[int, float]] = {}
    for rendered, start in zip(parts[1:], starts[1:]):
        for name, (index, y) in rendered.anchors.items():
            page_of[name] = start + index + 1 - first
            position[name] = (start + index, y)
    return page_of, position


_BLANK = {"kind": "plain", "head": "", "folio": ""}


def _overlay_plan(rendered: _Rendered, start: int, end: int, entries: list[Entry],
                  has_cover: bool, first: int) -> tuple[list[dict[str, str]], int]:
    """The running head and printed page number of each page of one part (the front, a chunk, the
    endnotes) and of the blank versos put before it (from `end`, where the previous part ended), as
    one small overlay document, so that overlays render in parallel and are cached like chunks.
    Openings, part pages and blank pages carry neither. A part that starts on a verso gets a leading
    dummy page (`lead` = 1) so that its overlay pages fall on the same sides as in the book. Pages
    are numbered from the body's first page (`first`, page 1); the front carries no numbers."""
    lead = end % 2
    pages = [_BLANK] * (lead + start - end)
    if start == 0:  # the front
        return pages + [dict(_BLANK, kind="cover" if has_cover and i == 0 else "plain")
                        for i in range(rendered.pages)], lead
    openings = sorted(((rendered.anchors[e.anchor][0], e) for e in entries if e.anchor in rendered.anchors),
                      key=lambda opening: opening[0])  # stable: a story and its first chapter share a page
    for index in range(rendered.pages):
        current = [e for first, e in openings if first <= index]
        entry = current[-1] if current else None
        opening = any(first == index and e.kind != "continued" for first, e in openings)
        plain = opening or entry is None or entry.kind in ("part", "story") or index in rendered.blanks
        pages.append(_BLANK if plain else {"kind": "text", "head": entry.title, "folio": str(start + index + 1 - first)})
    return pages, lead


# WeasyPrint writes the text's positions and kerning with up to 16 decimals (-0.4091090691170595):
# three are a thousandth of a point, or of a thousandth of an em, and make the book 6% smaller.
# A number is a token of its own: never the digits inside a name (`/a0.33333`, a graphics state).
_NUMBER = re.compile(rb"(?<![^\s\[\]<>()])-?\d*\.\d{4,}(?![^\s\[\]<>()/])")


def _shortened(match: re.Match) -> bytes:
    number = f"{float(match.group()):.3f}".rstrip("0").rstrip(".")
    return b"0" if number in ("", "-0") else number.encode("ascii")


_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]+")  # a name in a content stream (WeasyPrint writes text as <hex>)
_STATE_OPERATORS = {"q", "Q", "cm", "gs", "w", "J", "j", "M", "d", "ri", "i"}  # they draw nothing


def _renamed(name: bytes, renamed: dict) -> bytes:
    new = renamed.get(name.decode("latin-1"))
    return name if new is None else str(new).encode("latin-1")


def _add_overlay(merged, page, source, overlay, document: int) -> None:
    """Draw an overlay page (its running head and number) over a book page: its content appended to
    the page's own, its resources added to the page's under names of their own (`/O<document>…`,
    the same for every page of one overlay document, since the pages of a chunk share one resource
    dictionary). Drawn in the page's own content (joined into one stream by the merge), rather than
    as a form for each page: 60 KB less for a 400-page book. An overlay page that draws nothing (no
    running head, no number) adds nothing."""
    import pikepdf

    instructions = pikepdf.parse_content_stream(overlay)
    if all(str(operator) in _STATE_OPERATORS for _, operator in instructions):
        return  # a page with no running head and no number: nothing to draw
    resources = page.obj.get("/Resources")
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    renamed: dict[str, pikepdf.Name] = {}
    theirs = overlay.obj.get("/Resources", pikepdf.Dictionary())
    for category in sorted(theirs.keys()):  # sorted: pikepdf gives keys as a set, in no fixed order
        if category == "/ProcSet":
            continue
        if category not in resources:
            resources[category] = pikepdf.Dictionary()
        for name in sorted(theirs[category].keys()):
            value = theirs[category][name]
            new = pikepdf.Name(f"/O{document}{name[1:]}")
            resources[category][new] = merged.copy_foreign(value if value.is_indirect else source.make_indirect(value))
            renamed[name] = new
    # WeasyPrint's own bytes with the resources' names changed, as compact as it writes them
    # (pikepdf's unparse_content_stream spaces every operand out: 2% more for the book).
    contents = overlay.obj.Contents
    data = b"\n".join(part.read_bytes() for part in (contents if isinstance(contents, pikepdf.Array) else [contents]))
    data = _NAME.sub(lambda name: _renamed(name.group(), renamed), data)
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\nq\n" + data + b"\nQ\n", prepend=False)


def _page_labels(has_cover: bool, first: int):
    """The page labels a viewer shows, as printed: the cover by name, the front matter in roman
    numerals (half-title i), the body from 1."""
    import pikepdf

    ranges = []
    if has_cover:
        ranges += [0, pikepdf.Dictionary(P=pikepdf.String("Cover")),
                   1, pikepdf.Dictionary(P=pikepdf.String("Inside cover"))]
    front = 2 if has_cover else 0
    if front < first:
        ranges += [front, pikepdf.Dictionary(S=pikepdf.Name.r)]
    ranges += [first, pikepdf.Dictionary(S=pikepdf.Name.D)]
    return pikepdf.Dictionary(Nums=pikepdf.Array(ranges))


def _retag_fonts(document, salt: int) -> None:
    """Give each document's font subsets their own tag. WeasyPrint names a subset after its font
    (`ABCDEF+DejaVu-Serif`) whatever glyphs it holds, so merged documents would carry different
    subsets under one name, and text extraction (pdftotext) may read one through the other's map."""
    import pikepdf

    for obj in document.objects:
        if not isinstance(obj, pikepdf.Dictionary):
            continue
        for key in ("/BaseFont", "/FontName"):
            name = str(obj.get(key, ""))
            if len(name) > 8 and name[7] == "+":
                digest = hashlib.sha256(f"{salt}{name}".encode()).digest()
                tag = "".join(chr(65 + b % 26) for b in digest[:6])
                obj[key] = pikepdf.Name(f"/{tag}{name[7:]}")


PDF_MIN_UNITS, PDF_MAX_UNITS = 3, 14400  # a PDF page's side, in points (ISO 32000)


class _Merger:
    """The book put together (with pikepdf, which is qpdf) part by part as the parts come: the body
    while the front, which needs the body's page numbers, is still being laid out. Each part's pages
    are moved to their side's margins (a blank verso put before a part that must open on a recto),
    with its overlay set over them; `finish` adds bookmarks, cross-chunk links, page labels and
    metadata."""

    def __init__(self, shift: float, has_cover: bool, shift_overlays: bool = False):
        import pikepdf

        self.pdf = pikepdf.Pdf.new()
        self.shift, self.has_cover, self.shift_overlays = shift, has_cover, shift_overlays
        self.documents: list = []  # the parts' and overlays' PDFs, open while the book is made
        self.reserved = 0

    def _open(self, data: bytes, salt: str):
        import pikepdf

        document = pikepdf.open(io.BytesIO(data))
        _retag_fonts(document, salt)
        self.documents.append(document)
        return document

    def reserve(self, pages: int) -> None:
        """Keep places for the first `pages` pages (the front, laid out last)."""
        self.reserved = pages

    def add(self, number: int, part: _Rendered, start: int, end: int, overlay: _Rendered, lead: int) -> None:
        """Part `number`, starting on page `start`, after the part before it ended at page `end`: the
        pages from `end` on are laid out, blank ones first, each with its page of `overlay` (after
        `lead` dummy pages)."""
        source = self._open(part.data, f"part {number}")
        box = source.pages[0].mediabox
        size = (float(box[2]), float(box[3]))
        if not all(PDF_MIN_UNITS <= side <= PDF_MAX_UNITS for side in size):
            raise PackagerError(f"the stylesheet's page size ({size[0] / 72:.2f} x {size[1] / 72:.2f} in) "
                                "is outside what a PDF allows (0.04 to 200 in a side)")
        pages = self.pdf.pages
        while len(pages) < max(self.reserved, end):
            self.pdf.add_blank_page(page_size=size)
        for _ in range(end, start):
            self.pdf.add_blank_page(page_size=size)
        for index, page in enumerate(source.pages, start):
            if index < len(pages):  # a place kept for the front
                pages[index] = page
            else:
                pages.append(page)
        overlays = self._open(overlay.data, f"overlay {number}")
        for index in range(end, start + len(source.pages)):
            self._finish_page(pages[index], index, overlays, overlays.pages[lead + index - end], number)

    def _finish_page(self, page, number: int, overlays, overlay, document: int) -> None:
        import pikepdf

        if self.shift_overlays:
            _add_overlay(self.pdf, page, overlays, overlay, document)
        if not (self.has_cover and number == 0):
            dx = self.shift if number % 2 == 0 else -self.shift  # even index: a recto
            page.contents_add(f"q 1 0 0 1 {dx:.3f} 0 cm ".encode(), prepend=True)
            page.contents_add(b" Q", prepend=False)
            for annotation in page.obj.get("/Annots", []):
                x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
                annotation.Rect = pikepdf.Array([x1 + dx, y1, x2 + dx, y2])
        if not self.shift_overlays:
            _add_overlay(self.pdf, page, overlays, overlay, document)
        page.contents_coalesce()  # one content stream a page, as a book laid out in one process has
        # compressed here as hard as WeasyPrint compresses its own (zlib's level 9): while the front
        # is still being laid out, rather than all at once when the book is saved
        page.obj.Contents.write(zlib.compress(page.obj.Contents.read_bytes(), 9), filter=pikepdf.Name.FlateDecode)

    def finish(self, position: dict[str, tuple[int, float]], outline: list[Entry], book: Book,
               modified: datetime, first: int) -> bytes:
        """The book's PDF: links, bookmarks, page labels, metadata, each face's font once."""
        return _finish(self.pdf, position, outline, book, modified, self.has_cover, first)


def _finish(merged, position: dict[str, tuple[int, float]], outline: list[Entry], book: Book,
            modified: datetime, has_cover: bool, first: int) -> bytes:
    import pikepdf

    from packager.render.fontmerge import merge_fonts

    height = float(merged.pages[0].mediabox[3]) if len(merged.pages) else 0.0

    def destination(anchor: str) -> pikepdf.Array:
        index, y = position[anchor]
        top = height - y * 0.75  # CSS px from the top to PDF points from the bottom
        return pikepdf.Array([merged.pages[index].obj, pikepdf.Name.XYZ, None, top, None])

    for page in merged.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            uri = str(action.get("/URI", "")) if action is not None else ""
            if uri.startswith(LINK_PREFIX):
                anchor = uri[len(LINK_PREFIX):].lstrip("#")
                del annotation["/A"]
                if anchor in position:
                    annotation.Dest = destination(anchor)
                annotation.Border = pikepdf.Array([0, 0, 0])

    def bookmarks(entries: list[Entry]) -> list:
        items = []
        for entry in entries:
            if entry.anchor in position:
                item = pikepdf.OutlineItem(entry.title, position[entry.anchor][0])
                item.children.extend(bookmarks(entry.children))
                items.append(item)
        return items

    with merged.open_outline() as tree:
        if "toc" in position:
            tree.root.append(pikepdf.OutlineItem("Contents", position["toc"][0]))
        tree.root.extend(bookmarks(outline))
    meta = book.metadata
    stamp = modified.strftime("D:%Y%m%d%H%M%SZ")
    info = {"/Title": meta.title or "", "/Creator": f"packager {__version__}",
            "/Producer": "packager (WeasyPrint, qpdf)", "/CreationDate": stamp, "/ModDate": stamp}
    if meta.authors:  # no author is none at all, never an empty or made-up one
        info["/Author"] = ", ".join(meta.authors)
    if meta.description:
        info["/Subject"] = meta.description
    if meta.subjects:
        info["/Keywords"] = ", ".join(meta.subjects)
    for key, value in info.items():
        merged.docinfo[key] = value
    merged.Root.Lang = pikepdf.String(meta.language)
    merged.Root.PageLabels = _page_labels(has_cover, first)
    merged.Root.PageMode = pikepdf.Name.UseOutlines
    merge_fonts(merged)  # each face once, not once per chunk and overlay
    out = io.BytesIO()
    # New streams (the merged fonts; the pages' were compressed as they were added) are compressed as
    # hard as WeasyPrint compresses its own (zlib's level 9), or the book is larger than one laid
    # out whole.
    pikepdf.settings.set_flate_compression_level(9)
    try:
        merged.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                    deterministic_id=True)
    finally:
        pikepdf.settings.set_flate_compression_level(-1)
    return out.getvalue()
