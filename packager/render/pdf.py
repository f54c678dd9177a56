"""PDF through WeasyPrint, rendered in chunks and merged into one book.

WeasyPrint lays out one document on one core and keeps it all in memory. So the body is cut into
chunks at chapter boundaries, each rendered alone (in worker processes when `jobs` > 1) with the same
text width on every page and no running heads or page numbers; then the chunks are merged with pypdf,
each page moved to its side's margins, and an overlay rendered from the theme's own page rules sets
the running heads and page numbers of the whole book, so numbering runs on without a gap. The front
(cover, title page, contents) is rendered last, with the page numbers the chunks turned out to have;
bookmarks and cross-chunk links are made from the book's outline and the anchors each chunk reports.

Chunks are cached by their content and stylesheets (not by where they land: their layout does not
depend on it), so a rebuild re-renders only the chunks that changed.

The renderer only reads the book's own files (theme folders, the user's stylesheet folder) and data:
URIs: a stylesheet or story pointing at a remote address gets nothing fetched.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

from packager import __version__
from packager.model import Book
from packager.render.assets import Theme, environment, styles_dir
from packager.render.cover import CoverImage
from packager.render.layout import Entry, front_blocks, plan

LINK_PREFIX = "packager-anchor:"  # a cross-chunk link, resolved to its page when the chunks are merged
CHUNK_CHARACTERS = 120_000  # about 60 A5 pages: big enough to amortise start-up, small enough to spread


@dataclass
class PdfResult:
    data: bytes
    pages: int = 0
    refused_urls: list[str] = field(default_factory=list)
    rendered_chunks: int = 0
    cached_chunks: int = 0


@dataclass(frozen=True)
class _Job:
    """One document for WeasyPrint: picklable, so it can travel to a worker process."""

    html: str
    stylesheets: tuple[tuple[str, str], ...]  # (css text, base url)
    roots: tuple[str, ...]

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"packager {__version__}\n".encode())
        for part in (self.html, *(css for css, _ in self.stylesheets), *self.roots):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()


@dataclass
class _Rendered:
    data: bytes
    pages: int
    anchors: dict[str, tuple[int, float]]  # anchor -> (page index in the chunk, CSS px from the top)
    refused: list[str]


_PARSED_CSS: dict[tuple[str, str, tuple[str, ...]], object] = {}


def _render(job: _Job) -> _Rendered:
    """Lay out and write one chunk (in a worker process when rendering in parallel)."""
    import weasyprint  # imported here: it is slow to import and only the PDF needs it

    from packager.render.fetcher import LocalOnlyFetcher

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
    document = weasyprint.HTML(string=job.html, base_url=base_url, url_fetcher=fetcher).render(stylesheets=sheets)
    anchors: dict[str, tuple[int, float]] = {}
    for index, page in enumerate(document.pages):
        for name, (_, y, *_) in page.anchors.items():
            anchors.setdefault(name, (index, y))  # a box split over pages starts on the first
    return _Rendered(document.write_pdf(), len(document.pages), anchors, list(fetcher.refused))


class _ChunkCache:
    """Rendered chunks on disk, keyed by everything that decides their layout."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, key: str) -> _Rendered | None:
        if self.folder is None:
            return None
        pdf, meta = self.folder / f"{key}.pdf", self.folder / f"{key}.json"
        try:
            info = json.loads(meta.read_text())
            return _Rendered(pdf.read_bytes(), info["pages"], {k: tuple(v) for k, v in info["anchors"].items()},
                             info["refused"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, rendered: _Rendered) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # a cache that cannot be written only costs time
        # The PDF goes in last: a chunk counts as cached only once both files are whole.
        for suffix, data in ((".json", json.dumps(
                {"pages": rendered.pages, "anchors": rendered.anchors, "refused": rendered.refused}).encode()),
                             (".pdf", rendered.data)):
            temporary = self.folder / f".{key}{suffix}.{os.getpid()}"
            try:
                temporary.write_bytes(data)
                os.replace(temporary, self.folder / f"{key}{suffix}")
            except OSError:
                return
            finally:  # also when interrupted half-way
                temporary.unlink(missing_ok=True)


def default_cache_dir() -> Path:
    base = os.environ.get("PACKAGER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "packager")
    return Path(base) / "pdf-chunks"


def _chunks(sequence: list[Entry], whole: bool) -> list[list[Entry]]:
    """The body cut at chapter boundaries into chunks of about CHUNK_CHARACTERS; a part's title page
    goes with the chapter after it. Boundaries depend only on the text, so they stay put when a
    chapter is appended. Endnotes are left out: they are rendered last."""
    body = [e for e in sequence if e.kind not in ("endnotes",)]
    if whole:
        return [body] if body else []
    chunks: list[list[Entry]] = [[]]
    size = 0
    for entry in body:
        if size >= CHUNK_CHARACTERS and chunks[-1] and chunks[-1][-1].kind != "part":
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        if entry.chapter is not None:
            size += sum(len(b.text) for b in entry.chapter.blocks)
    return [c for c in chunks if c]


def build_pdf(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime, jobs: int = 1,
              cache_dir: Path | None = None) -> PdfResult:
    """The whole book as a PDF. `jobs` > 1 renders chunks in that many processes; `cache_dir` keeps
    rendered chunks for the next build."""
    env = environment()
    sequence, outline = plan(book)
    meta = book.metadata
    geometry = theme.geometry
    chunk_sheets = _stylesheets(theme, extra=geometry.chunk_css())
    roots = tuple(str(r) for r in theme.roots or [styles_dir()])
    chapter_names = {e.index: e.title for e in sequence if e.kind == "chapter"} | {-1: "Before the story"}
    context = dict(book=book, meta=meta, front_blocks=front_blocks(book), link_prefix=LINK_PREFIX,
                   chapter_names=chapter_names)
    cache = _ChunkCache(cache_dir)
    result = PdfResult(b"")

    # The same chunks whatever `jobs` is (rendered one after another when it is 1), so that the number
    # of processes never changes a byte of the book.
    body_chunks = _chunks(sequence, whole=False)
    body_jobs = [_Job(env.get_template("pdf-chunk.html.j2").render(entries=chunk, endnote_hrefs={}, page_of={},
                                                                    **context), chunk_sheets, roots)
                 for chunk in body_chunks]
    cover_uri = f"data:{cover.media_type};base64,{base64.b64encode(cover.data).decode('ascii')}" if cover else None
    all_anchors = [e.anchor for e in sequence]

    def front_job(page_of: dict[str, str]) -> _Job:
        html = env.get_template("pdf-front.html.j2").render(cover=cover_uri, outline=outline, page_of=page_of,
                                                             **context)
        return _Job(html, chunk_sheets, roots)

    digits = len(str(max(10, sum(len(b.text) for c in book.chapters for b in c.blocks) // 1200)))
    placeholder_front = front_job({anchor: "8" * digits for anchor in all_anchors})
    rendered = _render_all([placeholder_front, *body_jobs], jobs, cache, result)
    front, bodies = rendered[0], rendered[1:]

    endnotes_entry = next((e for e in sequence if e.kind == "endnotes"), None)
    for _ in range(3):  # the front's length can change with the digits of its page numbers
        offsets, page_of, position = _positions(front.pages, bodies, body_chunks)
        endnotes = None
        if endnotes_entry is not None:
            endnote_hrefs = {i: LINK_PREFIX for i in chapter_names} | {-1: None}
            html = env.get_template("pdf-chunk.html.j2").render(
                entries=[endnotes_entry], endnote_hrefs=endnote_hrefs,
                page_of={k: str(v) for k, v in page_of.items()}, **context)
            endnotes = _render_all([_Job(html, chunk_sheets, roots)], jobs, cache, result)[0]
            start = offsets[-1] + bodies[-1].pages if bodies else front.pages
            for name, (index, y) in endnotes.anchors.items():
                page_of[name] = start + index + 1
                position[name] = (start + index, y)
        final_front = _render_all([front_job({k: str(v) for k, v in page_of.items()})], jobs, cache, result)[0]
        if final_front.pages == front.pages:
            front = final_front
            break
        front = final_front

    parts = [front, *bodies] + ([endnotes] if endnotes is not None else [])
    for part in parts:
        result.refused_urls.extend(part.refused)
    for name, (index, y) in front.anchors.items():
        position.setdefault(name, (index, y))
    overlay_pages = _overlay_pages(parts, body_chunks, endnotes_entry, cover is not None, front.pages)
    overlay_html = env.get_template("pdf-overlay.html.j2").render(meta=meta, pages=overlay_pages)
    overlay = _render_all([_Job(overlay_html, _stylesheets(theme), roots)], jobs, cache, result)[0]
    result.data = _merge(parts, overlay, position, outline, book, modified, geometry.shift_points,
                         has_cover=cover is not None)
    result.pages = sum(p.pages for p in parts)
    return result


def _stylesheets(theme: Theme, extra: str = "") -> tuple[tuple[str, str], ...]:
    sheets = [(theme.epub_css, ""), (theme.print_css, "")]
    if theme.user_css_path is not None:
        sheets.append((theme.user_css, theme.user_css_path.as_uri()))
    if extra:
        sheets.append((extra, ""))
    return tuple(sheets)


def _render_all(jobs_list: list[_Job], jobs: int, cache: _ChunkCache, result: PdfResult) -> list[_Rendered]:
    """Render every job, from the cache where it can; in worker processes when jobs > 1."""
    keys = [job.key for job in jobs_list]
    done: dict[int, _Rendered] = {}
    todo = []
    for index, key in enumerate(keys):
        hit = cache.get(key)
        if hit is not None:
            done[index] = hit
            result.cached_chunks += 1
        else:
            todo.append(index)
    if jobs > 1 and todo:  # even a single document goes to a worker: this process keeps only the book
        # Workers fork from a small server that has only WeasyPrint loaded, not from this process
        # with the whole book in memory: each holds just the chunk it lays out.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["weasyprint", "packager.render.pdf"])
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                   initializer=_ignore_interrupts)
        try:
            with _interrupts_held():
                results = pool.map(_render, [jobs_list[i] for i in todo])
            for index, rendered in zip(todo, results):
                done[index] = rendered
        except BaseException:  # Ctrl-C, or a chunk that failed: stop the others now, not when they end
            _stop_workers(pool)
            raise
        pool.shutdown()
    else:
        for index in todo:
            done[index] = _render(jobs_list[index])
    for index in todo:
        cache.put(keys[index], done[index])
        result.rendered_chunks += 1
    return [done[i] for i in range(len(jobs_list))]


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


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which stops them: one message, not one per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers at once (a chunk can take a minute to lay out) and wait for them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=10)


def _positions(front_pages: int, bodies: list[_Rendered], chunks: list[list[Entry]]):
    """Where each chunk starts, and the printed page number and position of every anchor."""
    offsets = []
    start = front_pages
    page_of: dict[str, int] = {}
    position: dict[str, tuple[int, float]] = {}
    for rendered in bodies:
        offsets.append(start)
        for name, (index, y) in rendered.anchors.items():
            page_of[name] = start + index + 1
            position[name] = (start + index, y)
        start += rendered.pages
    return offsets, page_of, position


def _overlay_pages(parts: list[_Rendered], chunks: list[list[Entry]],
                   endnotes_entry: Entry | None, has_cover: bool, front_pages: int) -> list[dict[str, str]]:
    """For every page of the merged book: whether it carries a running head and number, and which."""
    pages: list[dict[str, str]] = []
    for index in range(front_pages):
        pages.append({"kind": "cover" if has_cover and index == 0 else "plain", "head": ""})
    bodies = parts[1:]
    entry_lists = [*chunks] + ([[endnotes_entry]] if endnotes_entry is not None else [])
    for rendered, entries in zip(bodies, entry_lists):
        starts = sorted((rendered.anchors[e.anchor][0], e) for e in entries if e.anchor in rendered.anchors)
        for index in range(rendered.pages):
            current = [e for start, e in starts if start <= index]
            entry = current[-1] if current else None
            opening = any(start == index for start, _ in starts)
            plain = opening or entry is None or entry.kind == "part"
            pages.append({"kind": "plain" if plain else "text", "head": entry.title if entry else ""})
    return pages


def _add_overlay(page, overlay, number: int) -> None:
    """pikepdf's Page.add_overlay, but naming the overlay's XObject after the page where pikepdf picks a
    random name, so that the same book gives the same bytes (and --jobs 1 the same as --jobs 2). The
    name is the page's own: pages of a chunk can share one resource dictionary."""
    import pikepdf

    form = overlay.as_form_xobject()
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(f"/PackagerOverlay{number}"))
    placement = page.calc_form_xobject_placement(form, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n", prepend=False)
    page.contents_add(placement, prepend=False)
    page.contents_coalesce()


def _merge(parts: list[_Rendered], overlay: _Rendered, position: dict[str, tuple[int, float]],
           outline: list[Entry], book: Book, modified: datetime, shift: float,
           has_cover: bool) -> bytes:
    """One PDF (with pikepdf, which is qpdf): chunk pages moved to their side's margins, the overlay
    set over them, bookmarks, cross-chunk links, metadata."""
    import pikepdf

    merged = pikepdf.Pdf.new()
    sources = [pikepdf.open(io.BytesIO(part.data)) for part in parts]
    for source in sources:
        merged.pages.extend(source.pages)
    overlay_pdf = pikepdf.open(io.BytesIO(overlay.data))
    for number, page in enumerate(merged.pages):
        if not (has_cover and number == 0):
            dx = shift if number % 2 == 0 else -shift  # even index: a recto
            page.contents_add(f"q 1 0 0 1 {dx:.3f} 0 cm ".encode(), prepend=True)
            page.contents_add(b" Q", prepend=False)
            for annotation in page.obj.get("/Annots", []):
                x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
                annotation.Rect = pikepdf.Array([x1 + dx, y1, x2 + dx, y2])
        _add_overlay(page, overlay_pdf.pages[number], number)
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

    with merged.open_outline() as tree:
        if "toc" in position:
            tree.root.append(pikepdf.OutlineItem("Contents", position["toc"][0]))
        for entry in outline:
            if entry.anchor not in position:
                continue
            item = pikepdf.OutlineItem(entry.title, position[entry.anchor][0])
            for child in entry.children:
                if child.anchor in position:
                    item.children.append(pikepdf.OutlineItem(child.title, position[child.anchor][0]))
            tree.root.append(item)
    meta = book.metadata
    stamp = modified.strftime("D:%Y%m%d%H%M%SZ")
    info = {"/Title": meta.title or "", "/Author": ", ".join(meta.authors), "/Creator": f"packager {__version__}",
            "/Producer": "packager (WeasyPrint, qpdf)", "/CreationDate": stamp, "/ModDate": stamp}
    if meta.description:
        info["/Subject"] = meta.description
    if meta.subjects:
        info["/Keywords"] = ", ".join(meta.subjects)
    for key, value in info.items():
        merged.docinfo[key] = value
    merged.Root.Lang = pikepdf.String(meta.language)
    merged.Root.PageMode = pikepdf.Name.UseOutlines
    out = io.BytesIO()
    merged.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                deterministic_id=True)
    return out.getvalue()
