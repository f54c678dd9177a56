"""The command line: `packager build` and `packager inspect`. The only module that knows terminals.

Errors are one line on stderr naming the file and the problem, with exit status 1 (2 for usage
errors); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table
from rich.text import Text
from rich.markup import escape
from rich.tree import Tree

from packager import __version__
from packager.batch import BatchProgress, BatchReport, run_batch
from packager.processes import quiet_swallowed_stop, request_stop
from packager.build import KNOWN_FORMATS, BuildOptions, check_options
from packager.errors import PackagerError
from packager.model import Block, Book
from packager.progress import Stage, reporting
from packager.parts import part_prefix
from packager.read.sources import Discovery, find_books, find_stories
from packager.render.assets import PAGE_SIZES, theme_names
from packager.report import book_to_json
from packager.story import load_story, title_from_name

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn stories kept as plain text or Markdown into EPUB 3 and typeset PDF books.",
    pretty_exceptions_enable=False,
    # Click's own help layout: at any width it wraps the help text and keeps option names whole
    # (Rich's panels cut them to fit, `--any-page-open…`).
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _error(message: object) -> None:
    """One line on stderr; the message is printed as it is (a file may be named `[draft].txt`)."""
    err.print(f"[bold red]error:[/] {_escape(str(message))}")


def _warning(message: object) -> None:
    err.print(f"[yellow]warning:[/] {_escape(str(message))}")


def _json(value: object, indent: int | None = None) -> str:
    """JSON as UTF-8 text; with every non-ASCII character escaped when a file name is not UTF-8."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, indent=indent)
    return text


def _fail(error: PackagerError, debug: bool) -> None:
    if debug:
        raise error
    _error(error)
    raise typer.Exit(error.exit_code)


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in KNOWN_FORMATS]
    if unknown or not formats:
        raise PackagerError(f"--to: unknown format '{','.join(unknown) or value}' (epub, pdf, kepub)", usage=True)
    return formats


def _discover(paths: list[Path]) -> list[Discovery]:
    return [find_books(path) for path in paths]


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.abspath(folder)) in Path(os.path.abspath(path)).parents


def _library_title(found: list[Discovery]) -> str | None:
    """A folder of stories names its library page: its collection's title, else its own name."""
    for discovery in found:
        if discovery.collections:
            root = discovery.collections[0]
            return root.title if root.title and not root.anthology else title_from_name(root.folder.resolve().name)
    return None


@app.command()
def build(
    sources: List[Path] = typer.Argument(..., metavar="SOURCE",
                                         help="Story files (.txt, .md), story folders, or folders of stories."),
    to: str = typer.Option("epub,pdf", "--to", metavar="FORMATS",
                           help="Formats to build: epub, pdf, kepub (Kobo), comma-separated."),
    out_dir: Path = typer.Option(Path("dist"), "--out-dir", metavar="DIR", help="Where the books are written."),
    notes: Optional[str] = typer.Option(None, "--notes", metavar="MODE",
                                        help="Author's notes: keep (default), strip, or endnotes."),
    style: Optional[str] = typer.Option(None, "--style", metavar="NAME|FILE.css",
                                        help=f"A theme ({', '.join(theme_names())}; classic by default) "
                                             "or a .css file laid over the default theme."),
    cover: Optional[str] = typer.Option(None, "--cover", metavar="FILE|auto|none",
                                        help="A JPEG or PNG, 'auto' (a generated cover, the default) or 'none'."),
    title: Optional[str] = typer.Option(None, "--title", metavar="TEXT",
                                        help="Book title (overrides text and sidecar)."),
    author: Optional[List[str]] = typer.Option(None, "--author", metavar="NAME",
                                               help="Author; repeat for several."),
    language: Optional[str] = typer.Option(None, "--language", metavar="CODE", help="Language code, e.g. en, fr."),
    page_size: Optional[str] = typer.Option(None, "--page-size", metavar="SIZE",
                                            help=f"PDF page size: {', '.join(PAGE_SIZES)} (a5 by default), or "
                                                 "WIDTHxHEIGHT with a unit (140x216mm)."),
    scene_break: Optional[str] = typer.Option(None, "--scene-break", metavar="TEXT|rule", help="Scene-break "
                                              "ornament: a text such as '~ ~ ~', or 'rule' for a plain rule."),
    keep_licence: Optional[bool] = typer.Option(None, "--keep-licence/--drop-licence",
                                                help="Keep a Project Gutenberg licence as back matter."),
    soft_hyphens: Optional[bool] = typer.Option(None, "--soft-hyphens/--no-soft-hyphens",
                                                help="EPUB: soft hyphens in long words, for readers that do "
                                                     "not hyphenate (Kindle, Adobe)."),
    recto_openings: Optional[bool] = typer.Option(None, "--recto-openings/--any-page-openings",
                                                  help="PDF: open chapters and parts on right-hand pages."),
    pdf_variant: Optional[str] = typer.Option(None, "--pdf-variant", metavar="VARIANT", help="PDF: pdf/ua-1 "
                                              "(tagged, accessible) or pdf/a-3b (archival), rendered in one "
                                              "process; with --print, pdf/x-1a or pdf/x-3."),
    print_service: Optional[str] = typer.Option(None, "--print", metavar="SERVICE", help="Print on demand: kdp "
                                                "or ingram. The PDF becomes a print interior on the service's "
                                                "trim (--page-size, default 6x9in) and DIR/<slug>.cover.pdf "
                                                "its wrap cover."),
    paper: Optional[str] = typer.Option(None, "--paper", metavar="PAPER", help="With --print: white (default) "
                                        "or cream paper, for the spine width."),
    bleed: Optional[bool] = typer.Option(None, "--bleed/--no-bleed", help="With --print: interior pages with "
                                         "1/8 in of bleed."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", min=1, metavar="N",
                             help="Processes (default: the number of cores): books built side by side in a "
                                  "batch, or the PDF's chunks of a single book."),
    smart_typography: bool = typer.Option(True, "--smart-typography/--no-smart-typography",
                                          help="Curly quotes, real dashes and ellipses."),
    report: Optional[Path] = typer.Option(None, "--report", metavar="FILE.json",
                                          help="Write the build's summary as JSON to this file."),
    dask_scheduler: Optional[str] = typer.Option(None, "--dask-scheduler", metavar="ADDRESS",
                                                 help="Build on a Dask cluster (tcp://host:8786) instead of "
                                                      "local processes; needs the distributed package."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Build an EPUB and a PDF of every story given, into the output folder (default dist/).

    A folder of stories is a batch: its books are built in parallel, unchanged ones are skipped,
    and the folder gets a library page (index.html) and an OPDS catalogue (catalog.xml)."""
    try:
        options = BuildOptions(
            formats=_formats(to), out_dir=out_dir, notes=notes, style=style, cover=cover,
            page_size=page_size, smart_typography=smart_typography, keep_licence=keep_licence,
            soft_hyphens=soft_hyphens,
            scene_break=scene_break, recto_openings=recto_openings, pdf_variant=pdf_variant, jobs=jobs,
            print_service=print_service, paper=paper, bleed=bleed,
            metadata={"title": title, "authors": author or None, "language": language},
        )
        check_options(options)
        if report is not None:
            _check_report_path(report)
        found = _discover(sources)
        # An output folder inside the folder being built holds books, not stories (`.notes.txt` files).
        books = [book for discovery in found for book in discovery.books
                 if not _inside(book.path, out_dir) or len(sources) == 1 and book.path == sources[0]]
        if title and len(books) > 1:
            raise PackagerError(f"--title names one book, and this build makes {len(books)}", usage=True)
    except PackagerError as error:
        _fail(error, debug)
        return
    library_title = _library_title(found)
    batch = library_title is not None or len(books) > 1 or report is not None or dask_scheduler is not None
    warnings = [w for discovery in found for w in discovery.warnings]
    try:
        with _progress(batch, books) as on_progress:
            result = run_batch(books, options, incremental=library_title is not None, library_title=library_title,
                               dask_scheduler=dask_scheduler, warnings=warnings, on_progress=on_progress,
                               debug=debug)
        if report is not None:
            _write_report(report, result)
    except PackagerError as error:
        _fail(error, debug)
        return
    if batch:
        _show_summary(result)
    else:
        _show_single(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@contextmanager
def _progress(batch: bool, books: list) -> Iterator[Callable[[BatchProgress], None] | None]:
    """What is under way, on a terminal only (stderr; nothing is added when it is not a terminal):
    for a batch, the books done of those to build, those in flight, the time taken and the time left;
    for one book, the step it is at: reading, EPUB, the PDF's chunks done of all, merging."""
    if not err.is_terminal or not books:
        yield None
    elif batch:
        with _batch_progress() as update:
            yield update
    else:
        with _book_progress(Path(str(books[0].path)).name):
            yield None


@contextmanager
def _batch_progress() -> Iterator[Callable[[BatchProgress], None]]:
    """Shown from the first book to build on: a rerun with every book unchanged shows none."""
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left"))
    progress = Progress(*columns, console=err, transient=True)
    task = progress.add_task("building", total=None)

    def update(state: BatchProgress) -> None:
        if not state.total:
            return
        if not progress.live.is_started:
            progress.start()
        flying = ", ".join(Path(label).name for label in state.in_flight)
        flying = flying if len(flying) <= 50 else flying[:49] + "…"
        unchanged = f"{state.skipped} unchanged · " if state.skipped else ""
        progress.update(task, total=state.total, completed=state.done,
                        description=f"{unchanged}building {_escape(flying)}" if flying else unchanged + "done")

    try:
        yield update
    finally:
        if progress.live.is_started:
            progress.stop()


@contextmanager
def _book_progress(label: str) -> Iterator[None]:
    """One book's steps, told by the build through packager.progress; each step is drawn at once."""
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
               TimeElapsedColumn(), TextColumn("elapsed"))
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(_escape(label), total=None, count="")

        def show(stage: Stage) -> None:
            count = f"{stage.done}/{stage.total} chunks" if stage.total else ""
            progress.update(task, description=f"{_escape(label)} · {stage.name}", total=stage.total,
                            completed=stage.done, count=count)
            progress.refresh()

        with reporting(show):
            yield


def _check_report_path(path: Path) -> None:
    """A report replaces a regular file only: never a device, a FIFO, a socket or a folder."""
    if (path.exists() or path.is_symlink()) and not (path.is_file() and not path.is_symlink()):
        raise PackagerError("--report: not a regular file; a report is written only to a regular file or a "
                            "new one", path, usage=True)


def _write_report(path: Path, result: BatchReport) -> None:
    _check_report_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{part_prefix(path.name)}report.part")
        temporary.write_text(_json(result.to_json(), indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise PackagerError(f"cannot write the report: {error.strerror or error}", path) from None


def _show_single(result: BatchReport) -> None:
    """One book: its warnings, then `built …` or its error, as for any single build."""
    row = result.rows[0]
    for warning in row.warnings:
        err.print(f"[yellow]warning:[/] {_escape(warning)}")
    if row.status == "failed":
        err.print(f"[bold red]error:[/] {_escape(row.error or '')}")
        return
    outputs = ", ".join(str(result.out_dir / name) for name in row.outputs)
    chapters = f"{row.chapters} chapter{'s' if row.chapters != 1 else ''}"
    out.print(f"built {_escape(outputs)} ({chapters}), notes: {row.notes_found} found, {row.notes_removed} stripped")


def _show_summary(result: BatchReport) -> None:
    """The closing table, then every warning and every failure, each in one line."""
    # Each book's files (its name in the output folder, then its extensions) go under its title, where
    # the width of a whole column leaves room for them: at 80 columns a column of their own split them.
    table = Table(title=f"Books in {result.out_dir}{os.sep}", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("Book", overflow="fold")
    table.add_column("Status")
    table.add_column("Ch.", justify="right")
    table.add_column("Words", justify="right")
    table.add_column("Notes", justify="right", header_style="bold")
    table.add_column("Warn.", justify="right")
    table.add_column("Time", justify="right")
    colours = {"built": "green", "skipped": "dim", "failed": "bold red"}
    unchanged = [row for row in result.rows if row.status == "skipped"]
    for row in (row for row in result.rows if row.status != "skipped"):
        failed = row.status == "failed"
        book = _escape(row.title or row.source)
        if row.outputs:
            stem = row.outputs[0].split(".", 1)[0]
            extensions = " ".join("." + name.split(".", 1)[1] for name in row.outputs)
            book += f"\n[dim]{_escape(stem)} {_escape(extensions)}[/]"
        table.add_row(book, f"[{colours[row.status]}]{row.status}[/]",
                      "" if failed else str(row.chapters), "" if failed else f"{row.words:,}",
                      "" if failed else f"{row.notes_found}/{row.notes_removed}",
                      str(len(row.warnings)) if row.warnings else "", f"{row.seconds:.1f}s" if row.seconds else "")
    if unchanged:  # one line for the books not rebuilt: a rerun's table stays short
        books = f"{len(unchanged)} book{'s' if len(unchanged) != 1 else ''}"
        table.add_row(f"[dim]{books} not rebuilt[/]", "[dim]unchanged[/]",
                      str(sum(r.chapters for r in unchanged)), f"{sum(r.words for r in unchanged):,}",
                      f"{sum(r.notes_found for r in unchanged)}/{sum(r.notes_removed for r in unchanged)}", "", "")
    out.print(table)
    out.print(f"{result.count('built')} built, {result.count('skipped')} unchanged, {result.count('failed')} failed "
              f"in {result.seconds:.1f}s (notes: found/stripped)")
    for warning in result.warnings + [w for row in result.rows for w in row.warnings]:
        err.print(f"[yellow]warning:[/] {_escape(warning)}")
    for row in result.failures:
        err.print(f"[bold red]error:[/] {_escape(row.error or row.source)}")


@app.command()
def inspect(
    source: Path = typer.Argument(..., metavar="SOURCE", help="One story file or story folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object scripts read."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Show what a build would see: chapters, notes and scene breaks with their line numbers."""
    try:
        stories = find_stories(source)
        if len(stories) != 1:
            raise PackagerError(f"holds {len(stories)} stories; inspect takes one story", source, usage=True)
        story = load_story(stories[0])
    except PackagerError as error:
        _fail(error, debug)
        return
    for warning in story.warnings:
        _warning(warning)
    if as_json:
        sys.stdout.write(_json(book_to_json(story.book)) + "\n")
        return
    out.print(_tree(story.book), soft_wrap=False)


def _block_label(block: Block) -> str:
    span = f"{block.lines[0]}–{block.lines[1]}" if block.lines[0] != block.lines[1] else str(block.lines[0])
    where = f"{_escape(block.file)}:" if block.file else "line "
    text = block.text.replace("\n", " ")
    preview = (text[:60] + "…") if len(text) > 60 else text
    rule = f" [dim]({block.rule}" + (f", {block.confidence:.2f}" if block.confidence is not None else "") + ")[/]" \
        if block.rule else ""
    colour = {"note": "magenta", "scene_break": "cyan", "metadata": "dim", "heading": "bold"}.get(block.kind, "")
    kind = f"[{colour}]{block.kind}[/]" if colour else block.kind
    return f"{kind} {where}{span}{rule} [dim]{_escape(preview)}[/]"


def _escape(text: str) -> str:
    """Story text and file names printed as they are, never read as Rich markup, and with control
    characters (a terminal's escape sequences) and bytes that are not UTF-8 shown as escapes, never
    sent to the terminal."""
    return escape(_PRINTABLE.sub(lambda found: found[0].encode("unicode_escape", "backslashreplace")
                                 .decode("ascii"), text))


# C0 and C1 controls, DEL, lone surrogates (bytes of a file name that are not UTF-8), bidi overrides
_PRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _line(markup: str) -> Text:
    """One line of the tree: what does not fit the width ends in an ellipsis, never cut silently."""
    text = Text.from_markup(markup, overflow="ellipsis")
    text.no_wrap = True
    return text


def _tree(book: Book) -> Tree:
    meta = book.metadata
    tree = Tree(_line(f"[bold]{_escape(meta.title or '')}[/]"
                      f"{' by ' + _escape(', '.join(meta.authors)) if meta.authors else ''} "
                      f"[dim]({meta.language})[/]"))
    if book.front_matter:
        front = tree.add(_line("front matter"))
        for block in book.front_matter:
            front.add(_line(_block_label(block)))
    part_node = None
    current_part = None
    for chapter in book.chapters:
        if chapter.part != current_part:
            current_part = chapter.part
            part_node = tree.add(_line(f"[bold]{_escape(chapter.part)}[/]")) if chapter.part else None
        parent = part_node or tree
        label = _escape(chapter.display_title or "(untitled)")
        node = parent.add(_line(f"[bold]{label}[/] [dim]lines {chapter.lines[0]}–{chapter.lines[1]}"
                                f"{' in ' + _escape(chapter.file) if chapter.file else ''}, rule {chapter.rule}[/]"))
        paragraphs = sum(1 for b in chapter.blocks if b.kind == "paragraph")
        node.add(_line(f"{paragraphs} paragraphs"))
        for block in chapter.blocks:
            if block.kind in ("note", "scene_break") or block.lines_kept:
                node.add(_line(_block_label(block)))
    return tree


def version_callback(value: bool) -> None:
    if value:
        out.print(f"packager {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Turn stories kept as plain text or Markdown into EPUB 3 and typeset PDF books."""


# The status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def main() -> None:
    """The `packager` command. Ctrl-C (or SIGTERM) stops it with one line and status 130: a file being
    written is removed on the way out (see build.write_outputs), and PDF workers are stopped, so
    nothing half-written and no stray temporary file stays behind."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when started with Ctrl-C ignored
        signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    sys.unraisablehook = quiet_swallowed_stop
    try:
        app()
        _flush_stdout()
        return
    except KeyboardInterrupt:
        pass
    except SystemExit as stop:
        if stop.code != INTERRUPTED:  # Typer turns Ctrl-C into status 130, without a word
            _flush_stdout()
            raise
    except RecursionError:  # a safety net: every reader limits nesting itself
        _error("the input is nested too deeply to read")
        sys.exit(1)
    except OSError as error:  # what is printed could not be written (a full disk, a closed pipe)
        _stdout_failed(error)
    # Stopped: a second Ctrl-C or SIGTERM now would raise past this line and end the command by the
    # signal itself (status -2), after the message; the build is already stopping.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    err.print("[bold red]error:[/] interrupted")
    sys.exit(INTERRUPTED)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as error:
        _stdout_failed(error)


def _stdout_failed(error: OSError) -> None:
    """One line when standard output cannot be written (`> /dev/full`, a closed pipe), and no second
    complaint from Python's own flush at exit."""
    if error.errno != errno.EPIPE:
        _error(f"cannot write to standard output: {error.strerror or error}")
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(1)
