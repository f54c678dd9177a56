"""Building many books at once: every story of a folder (or an anthology bound from it), in parallel,
skipping what has not changed, one failure never stopping the rest.

The coordinator (this process) finds the books, hashes their inputs and skips those the output
folder's manifest already holds. Each book left to build becomes a task carrying its files as bytes,
so a worker needs to see nothing of this machine's disk: it lays the files out in a temporary
folder, renders the book and returns its files as bytes. The same task function runs in local
processes and on a Dask cluster. Only the coordinator writes into the output folder, each book
atomically, and records it in the manifest.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

from packager import __version__
from packager.build import BuildOptions, PdfFailed, RenderedBook, render_book, source_date_epoch, write_outputs
from packager.errors import PackagerError
from packager.processes import fork_server_started, worker_start
from packager.manifest import BookFacts, Entry, read_manifest, update_manifest
from packager.read.sidecar import load_sidecar
from packager.read.sources import BookSource, StorySource
from packager.render.assets import styles_dir, templates_dir
from packager.render.cover import CoverImage, thumbnail

# Files beside a user's stylesheet that it may refer to, sent along with it.
STYLESHEET_ASSETS = (".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ttf", ".otf", ".woff", ".woff2")
MANIFEST_FLUSH_SECONDS = 2.0
MAX_SENT_BYTES = 256 * 1024 * 1024  # a story's limit, and a cover's: a bigger file is never read whole
COVERS_FOLDER = "covers"


# --- what travels to a worker and back ----------------------------------------------------------

@dataclass(frozen=True)
class BookTask:
    """One book's inputs. With `base` set, its files travel as bytes (`blobs`: path relative to `base`,
    bytes, modification time) and the worker lays them out afresh; with `base` None the worker reads
    the paths in `book` directly (a build in this process)."""

    source_id: str
    label: str
    book: BookSource
    options: BuildOptions
    base: str | None = None
    blobs: tuple[tuple[str, bytes, float], ...] = ()
    thumbnail: bool = False
    debug: bool = False
    version: str = __version__  # the coordinator's packager; a worker with another one refuses the task


@dataclass
class BookOutcome:
    """What a worker sends back: the book's files and facts, or a one-line reason it failed."""

    source_id: str
    slug: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    cover: CoverImage | None = None  # a thumbnail, for the library page
    facts: BookFacts = field(default_factory=BookFacts)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0
    lost: bool = False  # the worker itself was lost, not the book's fault


def build_task(task: BookTask) -> BookOutcome:
    """Build one book (in a worker). Never raises for a bad book: the reason comes back as one line."""
    started = time.perf_counter()
    if task.version != __version__:
        return BookOutcome(task.source_id, error=f"{task.label}: the worker runs packager {__version__}, "
                                                 f"this build packager {task.version}", exit_code=1)
    try:
        if task.base is None:
            return _outcome(task, render_book(task.book, task.options), started, lambda text: text)
        with tempfile.TemporaryDirectory(prefix="packager-book-") as folder:
            root = Path(folder)
            for relative, data, mtime in task.blobs:
                path = root / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                os.utime(path, (mtime, mtime))
            base = Path(task.base)
            shown = _shown(base)
            restore = lambda text: text.replace(str(root), shown)  # noqa: E731
            book = _moved(task.book, base, root)
            options = _moved_options(task.options, base, root)
            try:
                return _outcome(task, render_book(book, options), started, restore)
            except PdfFailed as error:
                return _half(task, error, started, restore)
            except PackagerError as error:
                return BookOutcome(task.source_id, error=restore(str(error)), exit_code=error.exit_code,
                                   seconds=time.perf_counter() - started)
    except PdfFailed as error:
        if task.debug:
            raise
        return _half(task, error, started, lambda text: text)
    except PackagerError as error:
        if task.debug:
            raise
        return BookOutcome(task.source_id, error=str(error), exit_code=error.exit_code,
                           seconds=time.perf_counter() - started)
    except Exception as error:  # a bug must not take the batch down: one line, the rest go on
        if task.debug:
            raise
        reason = " ".join(str(error).split()) or "no message"
        return BookOutcome(task.source_id, error=f"{task.label}: unexpected {type(error).__name__}: {reason}",
                           exit_code=1, seconds=time.perf_counter() - started)


def _half(task: BookTask, error: PdfFailed, started: float, restore: Callable[[str], str]) -> BookOutcome:
    """A book whose EPUB was rendered and whose PDF failed: the EPUB is written, the book reported failed."""
    return BookOutcome(task.source_id, error.slug, error.files, warnings=[restore(w) for w in error.warnings],
                       seconds=time.perf_counter() - started, error=restore(str(error)), exit_code=1)


def _outcome(task: BookTask, rendered: RenderedBook, started: float, restore: Callable[[str], str]) -> BookOutcome:
    meta = rendered.book.metadata
    cover = thumbnail(rendered.cover) if task.thumbnail and rendered.cover is not None else None
    facts = BookFacts(meta.title or "", list(meta.authors), meta.language, meta.identifier or "", meta.description,
                      meta.series, meta.series_index, rendered.chapters, rendered.words, rendered.notes_found,
                      rendered.notes_removed, len(rendered.book.stories))
    return BookOutcome(task.source_id, rendered.slug, rendered.files, cover, facts,
                       [restore(w) for w in rendered.warnings], time.perf_counter() - started)


def _shown(base: Path) -> str:
    """How the coordinator's folder appears in messages: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(base)
    except ValueError:
        return str(base)
    return str(base) if relative.startswith("..") else relative


def _moved(value: Any, base: Path, root: Path) -> Any:
    """`value` with every path under `base` moved under `root` (dataclasses, tuples, lists, dicts)."""
    if isinstance(value, Path):
        try:
            return root / value.relative_to(base)
        except ValueError:
            return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _moved(getattr(value, f.name), base, root) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_moved(v, base, root) for v in value)
    if isinstance(value, list):
        return [_moved(v, base, root) for v in value]
    if isinstance(value, dict):
        return {k: _moved(v, base, root) for k, v in value.items()}
    return value


def _moved_options(options: BuildOptions, base: Path, root: Path) -> BuildOptions:
    style = options.style
    if style and style.lower().endswith(".css"):
        style = str(_moved(Path(style), base, root))
    cover = options.cover
    if cover not in (None, "auto", "none"):
        cover = str(_moved(Path(cover), base, root))  # type: ignore[arg-type]
    return dataclasses.replace(options, style=style, cover=cover)


# --- what a book is made of, and its key -----------------------------------------------------------

def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def absolute_book(book: BookSource) -> BookSource:
    """The same book with every path absolute, so it can be moved under a worker's folder."""
    def story(source: StorySource) -> StorySource:
        return StorySource(_absolute(source.path), tuple(_absolute(p) for p in source.files),
                           _absolute(source.sidecar) if source.sidecar else None,
                           _absolute(source.cover) if source.cover else None)
    collection = book.collection
    if collection is not None:
        options = {k: _absolute(v) if isinstance(v, Path) else v for k, v in collection.options.items()}
        collection = dataclasses.replace(
            collection, folder=_absolute(collection.folder), options=options,
            path=_absolute(collection.path) if collection.path else None,
            series_folder=_absolute(collection.series_folder) if collection.series_folder else None)
    return BookSource(tuple(story(s) for s in book.stories), collection, book.series_index)


def absolute_options(options: BuildOptions) -> BuildOptions:
    style = options.style
    if style and style.lower().endswith(".css"):
        style = str(_absolute(Path(style)))
    cover = options.cover
    if cover not in (None, "auto", "none"):
        cover = str(_absolute(Path(cover)))  # type: ignore[arg-type]
    return dataclasses.replace(options, style=style, cover=cover,
                               source_date_epoch=options.source_date_epoch if options.source_date_epoch
                               is not None else source_date_epoch())


def _stylesheet_files(css: Path) -> list[Path]:
    """A user's stylesheet and the files beside it that it may refer to: those the PDF renderer of a
    build in one process may read, so no symbolic link leading out of the stylesheet's folder (a
    worker sees the files it is sent as plain files, and could no longer tell)."""
    if not css.is_file():
        return []
    root = css.resolve().parent
    return [css] + sorted(p for p in css.parent.iterdir() if p != css and p.is_file()
                          and p.suffix.lower() in STYLESHEET_ASSETS and _inside_folder(p.resolve(), root))


def _inside_folder(path: Path, folder: Path) -> bool:
    return folder == path.parent or folder in path.parents


def _option_files(style: Any, cover: Any) -> list[Path]:
    files: list[Path] = []
    if isinstance(style, (str, Path)) and str(style).lower().endswith(".css"):
        files += _stylesheet_files(Path(style))
    if isinstance(cover, (str, Path)) and str(cover) not in ("auto", "none") and Path(cover).is_file():
        files.append(Path(cover))
    return files


def book_files(book: BookSource, options: BuildOptions) -> list[Path]:
    """Every file the book is built from: story files, sidecars, covers, stylesheets (paths as in
    `book`, which should be absolute)."""
    files: list[Path] = []
    for story in book.stories:
        files += story.files
        if story.cover:
            files.append(story.cover)
        if story.sidecar:
            files.append(story.sidecar)
            try:
                sidecar = load_sidecar(story.sidecar)
            except PackagerError:
                continue  # the worker reports it
            files += _option_files(sidecar.options.get("style"), sidecar.options.get("cover"))
    if book.collection is not None:
        files += _option_files(book.collection.options.get("style"), book.collection.options.get("cover"))
    files += _option_files(options.style, options.cover)
    unique: list[Path] = []
    for path in files:
        if path not in unique:
            unique.append(path)
    return unique


_THEME_DIGEST: str | None = None


def theme_digest() -> str:
    """The hash of every theme and template file: a change to the look rebuilds every book."""
    global _THEME_DIGEST
    if _THEME_DIGEST is None:
        digest = hashlib.sha256()
        for folder in (styles_dir(), templates_dir()):
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                               and not _library_file(p.relative_to(folder))):
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
        _THEME_DIGEST = digest.hexdigest()
    return _THEME_DIGEST


def _library_file(relative: Path) -> bool:
    """The library page's own files, which change no book."""
    return relative.parts[0] == "library" or relative.name in ("library.html.j2", "catalog.xml.j2")


def book_key(book: BookSource, options: BuildOptions, files: list[Path]) -> str:
    """The hash of everything that decides the book's files: its sources (bytes and the modification
    times that date it), sidecars, collection settings, covers, stylesheets, theme files, the build
    options and packager's version. Nothing is parsed but the sidecars' names of other files."""
    digest = hashlib.sha256()
    settings = {
        "packager": __version__, "formats": list(options.formats), "notes": options.notes, "style": options.style,
        "cover": options.cover, "page_size": options.page_size, "smart_typography": options.smart_typography,
        "keep_licence": options.keep_licence, "scene_break": options.scene_break,
        "soft_hyphens": options.soft_hyphens,
        "metadata": options.metadata, "source_date_epoch": options.source_date_epoch,
        "collection": book.collection.settings() if book.collection is not None else None,
        "series_index": book.series_index, "stories": [str(s.path) for s in book.stories],
        "theme": theme_digest(),
        "print": [options.print_service, options.paper, options.bleed],
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode("utf-8", "surrogateescape"))
    for path in files:
        try:
            info = path.stat()
            mtime = int(info.st_mtime)
            if info.st_size > MAX_SENT_BYTES:  # refused when built: never read whole, not even to hash
                content = f"{info.st_size}".encode()
            else:
                with open(path, "rb") as stream:
                    content = hashlib.file_digest(stream, "sha256").digest()
        except OSError:
            content, mtime = hashlib.sha256(b"").digest(), 0
        digest.update(f"\0{path}\0{mtime}\0".encode("utf-8", "surrogateescape"))  # a name in any encoding
        digest.update(content)
    return digest.hexdigest()


def pack(task: BookTask, files: list[Path]) -> BookTask:
    """The task with its files as bytes, relative to their common folder (which holds the book's own
    folder, so a story folder keeps its name)."""
    blobs = []
    base = Path(os.path.commonpath([str(task.book.path.parent)] + [str(p.parent) for p in files]))
    for path in files:
        try:
            if path.stat().st_size > MAX_SENT_BYTES:
                raise PackagerError(f"too large to build ({path.stat().st_size // 1024 // 1024} MB; at most "
                                    f"{MAX_SENT_BYTES // 1024 // 1024} MB)", path)
            blobs.append((str(path.relative_to(base)), path.read_bytes(), path.stat().st_mtime))
        except OSError:
            continue  # the worker reports the missing file by its name
    return dataclasses.replace(task, base=str(base), blobs=tuple(blobs))


# --- workers ------------------------------------------------------------------------------------

class WorkerPool(Protocol):
    slots: int  # how many tasks to keep in flight
    sends_bytes: bool  # whether tasks travel as bytes (else the worker reads the paths here)

    def submit(self, task: BookTask) -> Any: ...
    def wait(self, futures: list[Any]) -> list[Any]: ...  # those done (at least one)
    def close(self) -> None: ...


class InProcessPool:
    """Builds each book right here, when it is submitted: one book, or --jobs 1."""

    slots = 1
    sends_bytes = False

    def submit(self, task: BookTask) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(build_task(task))
        return future

    def wait(self, futures: list[Any]) -> list[Any]:
        return list(futures)

    def close(self) -> None:
        pass


class LocalProcessPool:
    """Worker processes on this machine, forked from a server that has the renderers loaded."""

    sends_bytes = True

    def __init__(self, workers: int, formats: tuple[str, ...] = ("epub", "pdf")):
        self.slots = workers
        self._preload = ["packager.processes", "packager.batch"] + [f"packager.render.{f}" for f in formats] + \
            (["weasyprint"] if "pdf" in formats else [])
        self._executor = self._start()

    def _start(self) -> concurrent.futures.ProcessPoolExecutor:
        import multiprocessing
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self._preload)
        with fork_server_started():
            return concurrent.futures.ProcessPoolExecutor(max_workers=self.slots, mp_context=context,
                                                          initializer=worker_start)

    def submit(self, task: BookTask) -> concurrent.futures.Future:
        with fork_server_started():  # a submission may start a worker
            try:
                return self._executor.submit(build_task, task)
            except concurrent.futures.process.BrokenProcessPool:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()  # a worker died (killed, out of memory): start afresh
                return self._executor.submit(build_task, task)

    def wait(self, futures: list[Any]) -> list[Any]:
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return list(done)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Stop at once (Ctrl-C, SIGTERM): the books in flight are not waited for."""
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        for process in processes:
            process.terminate()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join(timeout=10)


class DaskPool:
    """Workers of a Dask distributed cluster: tasks and results travel as bytes."""

    sends_bytes = True

    def __init__(self, address: str):
        try:
            import distributed
        except ImportError:
            raise PackagerError("--dask-scheduler needs the 'distributed' package: "
                                "pip install 'packager[dask]'") from None
        self._distributed = distributed
        try:
            self.client = distributed.Client(address, timeout="15s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            reason = " ".join(str(error).split())
            raise PackagerError(f"cannot reach the Dask scheduler: {reason}", address) from None
        threads = sum(self.client.nthreads().values())
        self.slots = max(2, 2 * threads)  # keep every worker fed while results come back

    def submit(self, task: BookTask) -> Any:
        return self.client.submit(build_task, task, pure=False, key=f"packager-{task.label}-{os.urandom(6).hex()}")

    def wait(self, futures: list[Any]) -> list[Any]:
        with self.client.as_current():
            return list(self._distributed.wait(futures, return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        self.client.close()


def _result(future: Any, source_id: str, label: str) -> BookOutcome:
    try:
        return future.result()
    except Exception as error:  # the worker, not the book: killed, lost, or its result not sent back
        reason = " ".join(str(error).split()) or type(error).__name__
        return BookOutcome(source_id, error=f"{label}: the worker building it was lost ({reason})", exit_code=1,
                           lost=True)


# --- the summary --------------------------------------------------------------------------------

@dataclass
class BookRow:
    """One line of the summary."""

    source: str
    status: str  # built | skipped | failed
    title: str = ""
    slug: str = ""
    chapters: int = 0
    words: int = 0
    notes_found: int = 0
    notes_removed: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0


@dataclass
class BatchReport:
    rows: list[BookRow]
    out_dir: Path
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # the collection's own (unknown keys, order)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def failures(self) -> list[BookRow]:
        return [row for row in self.rows if row.status == "failed"]

    @property
    def exit_code(self) -> int:
        return max((row.exit_code or 1 for row in self.failures), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"packager": __version__, "out_dir": str(self.out_dir), "seconds": round(self.seconds, 3),
                "built": self.count("built"), "skipped": self.count("skipped"), "failed": self.count("failed"),
                "warnings": self.warnings,
                "books": [{**dataclasses.asdict(row), "seconds": round(row.seconds, 3)} for row in self.rows]}


@dataclass
class BatchProgress:
    """What the progress display shows after every change."""

    total: int  # books to build (the skipped ones are not counted)
    done: int
    skipped: int
    in_flight: list[str]
    finished: BookRow | None = None


# --- the run ------------------------------------------------------------------------------------

@dataclass
class _Planned:
    book: BookSource  # paths made absolute, for a worker
    given: BookSource  # paths as the user gave them, for a build in this process
    source_id: str
    label: str
    key: str
    files: list[Path]


def run_batch(books: list[BookSource], options: BuildOptions, *, incremental: bool = True,
              library_title: str | None = None, dask_scheduler: str | None = None,
              warnings: list[str] | None = None, on_progress: Callable[[BatchProgress], None] | None = None,
              debug: bool = False) -> BatchReport:
    """Build every book into `options.out_dir`. With `incremental`, books whose key the manifest holds
    (and whose files are still there) are skipped, the manifest is kept, and the library page and
    catalogue are written; `library_title` heads them."""
    started = time.perf_counter()
    out_dir = options.out_dir
    given_options = options
    options = absolute_options(options)
    manifest = read_manifest(out_dir) if incremental else {}
    rows: dict[str, BookRow] = {}
    planned: list[_Planned] = []
    order: list[str] = []
    for given in books:
        book = absolute_book(given)
        files = book_files(book, options)
        source_id = str(book.path)
        label = str(given.path)
        order.append(source_id)
        plan = _Planned(book, given, source_id, label, book_key(book, options, files) if incremental else "",
                        files)
        entry = manifest.get(source_id)
        if incremental and entry is not None and entry.key == plan.key and entry.outputs_exist(out_dir):
            rows[source_id] = BookRow(label, "skipped", entry.title, entry.slug, entry.chapters, entry.words,
                                      entry.notes_found, entry.notes_removed, [], 0.0, list(entry.outputs))
        else:
            planned.append(plan)
    progress = BatchProgress(len(planned), 0, len(rows), [])
    if on_progress:
        on_progress(progress)
    if planned:
        writer = _Writer(out_dir, manifest, incremental, {p.source_id for p in planned})
        pool = _pool(len(planned), options, dask_scheduler)
        try:
            try:
                _build_all(planned, options, given_options, pool, writer, rows, progress, on_progress, debug)
            except BaseException:
                getattr(pool, "abort", pool.close)()  # interrupted: the books in flight are not waited for
                raise
            pool.close()
        finally:
            writer.flush()
    if incremental:
        from packager.library import write_library
        write_library(out_dir, read_manifest(out_dir), library_title or out_dir.resolve().name)
    return BatchReport([rows[s] for s in order if s in rows], out_dir, time.perf_counter() - started,
                       list(dict.fromkeys(warnings or [])))


def _pool(count: int, options: BuildOptions, dask_scheduler: str | None) -> WorkerPool:
    if dask_scheduler:
        return DaskPool(dask_scheduler)
    if count == 1 or options.jobs <= 1:
        return InProcessPool()
    return LocalProcessPool(min(options.jobs, count), options.formats)


def _build_all(planned: list[_Planned], options: BuildOptions, given_options: BuildOptions, pool: WorkerPool,
               writer: "_Writer", rows: dict[str, BookRow], progress: BatchProgress,
               on_progress: Callable[[BatchProgress], None] | None, debug: bool) -> None:
    sends_bytes = pool.sends_bytes
    # One book alone keeps --jobs for its PDF's chunks; in a batch every worker renders one book.
    book_options = options if sends_bytes else given_options
    if not (isinstance(pool, InProcessPool) and len(planned) == 1):
        book_options = dataclasses.replace(book_options, jobs=1)
    # The longest books first, so no worker is left with a long one at the end.
    queue = deque(sorted(planned, key=lambda p: -sum(_size(f) for f in p.files)))
    retried: set[str] = set()
    pending: dict[Any, _Planned] = {}
    while queue or pending:
        while queue and len(pending) < pool.slots:
            plan = queue.popleft()
            task = BookTask(plan.source_id, plan.label, plan.book if sends_bytes else plan.given, book_options,
                            thumbnail=writer.library, debug=debug)
            if sends_bytes:
                try:
                    task = pack(task, plan.files)
                except PackagerError as error:
                    rows[plan.source_id] = writer.write(plan, BookOutcome(plan.source_id, error=str(error),
                                                                          exit_code=1))
                    progress.done += 1
                    continue
            progress.in_flight.append(plan.label)
            if on_progress:
                on_progress(progress)
            pending[pool.submit(task)] = plan
        for future in pool.wait(list(pending)):
            plan = pending.pop(future)
            outcome = _result(future, plan.source_id, plan.label)
            progress.in_flight.remove(plan.label)
            if outcome.lost and plan.source_id not in retried:
                retried.add(plan.source_id)  # once more, in a fresh worker
                queue.appendleft(plan)
                continue
            row = writer.write(plan, outcome)
            rows[plan.source_id] = row
            progress.done += 1
            progress.finished = row
            if on_progress:
                on_progress(progress)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Writer:
    """Writes what comes back into the output folder and keeps the manifest."""

    def __init__(self, out_dir: Path, manifest: dict[str, Entry], incremental: bool, pending: set[str] = set()):
        self.out_dir = out_dir
        self.pending = set(pending)  # sources this run builds and has not written yet
        self.manifest = manifest
        self.incremental = incremental
        self.library = incremental  # the library page comes with the manifest
        self.changes: dict[str, Entry | None] = {}
        self.claimed: dict[str, str] = {}  # slug -> source written this run
        self.flushed = time.monotonic()

    def write(self, plan: _Planned, outcome: BookOutcome) -> BookRow:
        facts = outcome.facts
        row = BookRow(plan.label, "failed", facts.title, seconds=outcome.seconds, warnings=outcome.warnings)
        if outcome.error is not None and not outcome.files:
            row.error, row.exit_code = outcome.error, outcome.exit_code or 1
            self.pending.discard(plan.source_id)
            return row
        slug = self._claim(outcome.slug, plan.source_id)
        if slug != outcome.slug:
            row.warnings.append(f"{plan.label}: another book in {self.out_dir} has the title's name "
                                f"'{outcome.slug}'; written as '{slug}'")
        try:
            outputs = write_outputs(self.out_dir, slug, outcome.files)
            cover = None
            if self.library and outcome.cover is not None:
                image = {outcome.cover.extension: outcome.cover.data}
                written = write_outputs(self.out_dir / COVERS_FOLDER, slug, image)
                cover = f"{COVERS_FOLDER}/{written[0].name}"
        except PackagerError as error:
            row.error, row.exit_code = str(error), error.exit_code
            return row
        names = [p.name for p in outputs]
        self._remove_stale(plan.source_id, slug)
        if outcome.error is not None:  # the EPUB written, the PDF failed: no entry, so it is built again
            row.error, row.exit_code, row.slug, row.outputs = outcome.error, outcome.exit_code or 1, slug, names
            if self.incremental:
                self.changes[plan.source_id] = None
            return row
        row = BookRow(plan.label, "built", facts.title, slug, facts.chapters, facts.words, facts.notes_found,
                      facts.notes_removed, row.warnings, outcome.seconds, names)
        if self.incremental:
            self.changes[plan.source_id] = Entry(
                **dataclasses.asdict(facts), key=plan.key, slug=slug, outputs=names, warnings=outcome.warnings,
                seconds=round(outcome.seconds, 3), cover=cover,
                built=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            if time.monotonic() - self.flushed > MANIFEST_FLUSH_SECONDS:
                self.flush()
        return row

    def _current(self) -> dict[str, Entry]:
        """The manifest as this run has left it so far (its changes not yet flushed included)."""
        current = dict(self.manifest)
        for source, entry in self.changes.items():
            if entry is None:
                current.pop(source, None)
            else:
                current[source] = entry
        return current

    def _claim(self, slug: str, source_id: str) -> str:
        """The book's slug, or `slug-2`, `slug-3`… when another source's book already has it. A name
        held by a book this run rebuilds and has not written yet does not count: that book gets its
        new name in turn (two books that swapped titles swap names, neither ends up `-2`)."""
        holders = {e.slug: s for s, e in self._current().items() if s != source_id}
        claimed = {s for s, owner in self.claimed.items() if owner != source_id}
        candidate, number = slug, 1
        while candidate in claimed or (candidate in holders and holders[candidate] not in self.pending):
            number += 1
            candidate = f"{slug}-{number}"
        holder = holders.get(candidate)
        if holder is not None and self.incremental:
            self.changes[holder] = None  # its files are this book's now; it gets its entry back when rebuilt
        self.claimed[candidate] = source_id
        self.pending.discard(source_id)
        return candidate

    def _remove_stale(self, source_id: str, slug: str) -> None:
        """A book whose title changed leaves no files under its old name."""
        previous = self.manifest.get(source_id)
        if previous is None or previous.slug == slug:
            return
        if self.claimed.get(previous.slug, source_id) != source_id or \
                any(e.slug == previous.slug for s, e in self._current().items() if s != source_id):
            return
        for name in previous.outputs + ([previous.cover] if previous.cover else []):
            path = self.out_dir / name  # names the manifest check let through: this book's own files
            if path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)

    def flush(self) -> None:
        if self.incremental and self.changes:
            try:
                self.manifest = update_manifest(self.out_dir, self.changes)
            except OSError as error:
                raise PackagerError(f"cannot write the manifest: {error.strerror or error}", self.out_dir) from None
            self.changes = {}
        self.flushed = time.monotonic()
