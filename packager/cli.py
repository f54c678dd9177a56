"""The command line: `packager build` and `packager inspect`. The only module that knows terminals.

Errors are one line on stderr naming the file and the problem, with exit status 1 (2 for usage
errors); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from packager import __version__
from packager.build import FORMATS, BuildOptions, build_story, check_options
from packager.errors import PackagerError
from packager.model import Block, Book
from packager.read.sources import StorySource, find_stories
from packager.report import book_to_json
from packager.story import load_story

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn stories kept as plain text or Markdown into EPUB 3 and typeset PDF books.",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _error(message: object) -> None:
    """One line on stderr; the message is printed as it is (a file may be named `[draft].txt`)."""
    err.print(f"[bold red]error:[/] {escape(str(message))}")


def _warning(message: object) -> None:
    err.print(f"[yellow]warning:[/] {escape(str(message))}")


def _fail(error: PackagerError, debug: bool) -> None:
    if debug:
        raise error
    _error(error)
    raise typer.Exit(error.exit_code)


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise PackagerError(f"--to: unknown format '{','.join(unknown) or value}' (epub, pdf)", usage=True)
    return formats


def _sources(paths: list[Path]) -> list[StorySource]:
    stories: list[StorySource] = []
    for path in paths:
        stories.extend(find_stories(path))
    return stories


@app.command()
def build(
    sources: List[Path] = typer.Argument(..., metavar="SOURCE...",
                                         help="Story files (.txt, .md), story folders, or folders of stories."),
    to: str = typer.Option("epub,pdf", "--to", help="Formats to build: epub, pdf or both (epub,pdf)."),
    out_dir: Path = typer.Option(Path("dist"), "--out-dir", help="Where the books are written."),
    notes: Optional[str] = typer.Option(None, "--notes",
                                        help="Author's notes: keep (default), strip, or endnotes."),
    style: Optional[str] = typer.Option(None, "--style", help="A theme from styles/ (classic, modern) "
                                        "or a .css file laid over the default theme."),
    cover: Optional[str] = typer.Option(None, "--cover", help="A JPEG or PNG, 'auto' (a generated cover, "
                                        "the default) or 'none'."),
    title: Optional[str] = typer.Option(None, "--title", help="Book title (overrides text and sidecar)."),
    author: Optional[List[str]] = typer.Option(None, "--author", help="Author; repeat for several."),
    language: Optional[str] = typer.Option(None, "--language", help="Language code, e.g. en, fr."),
    page_size: Optional[str] = typer.Option(None, "--page-size",
                                            help="PDF page size: a5 (default), 6x9in, a4, letter."),
    scene_break: Optional[str] = typer.Option(None, "--scene-break", help="Scene-break ornament: a text "
                                              "such as '~ ~ ~', or 'rule' for a plain rule."),
    keep_licence: Optional[bool] = typer.Option(None, "--keep-licence/--drop-licence",
                                                help="Keep a Project Gutenberg licence as back matter."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", min=1,
                             help="Processes for the PDF (default: the number of cores)."),
    smart_typography: bool = typer.Option(True, "--smart-typography/--no-smart-typography",
                                          help="Curly quotes, real dashes and ellipses."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Build an EPUB and a PDF of every story given, into the output folder (default dist/)."""
    try:
        options = BuildOptions(
            formats=_formats(to), out_dir=out_dir, notes=notes, style=style, cover=cover,
            page_size=page_size, smart_typography=smart_typography, keep_licence=keep_licence,
            scene_break=scene_break, jobs=jobs,
            metadata={"title": title, "authors": author or None, "language": language},
        )
        check_options(options)
        stories = _sources(sources)
    except PackagerError as error:
        _fail(error, debug)
        return
    failures = 0
    for source in stories:
        try:
            result = build_story(source, options)
        except PackagerError as error:
            if debug:
                raise
            failures = max(failures, error.exit_code)
            _error(error)
            continue
        for warning in result.warnings:
            _warning(warning)
        chapters = len(result.story.book.chapters)
        outputs = ", ".join(str(p) for p in result.outputs)
        out.print(escape(f"built {outputs} ({chapters} chapter{'s' if chapters != 1 else ''})"))
    if failures:
        raise typer.Exit(failures)


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
        sys.stdout.write(json.dumps(book_to_json(story.book), ensure_ascii=False) + "\n")
        return
    out.print(_tree(story.book))


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
    """Story text and file names printed as they are, never read as Rich markup."""
    return escape(text)


def _tree(book: Book) -> Tree:
    meta = book.metadata
    tree = Tree(f"[bold]{_escape(meta.title or '')}[/] by {_escape(', '.join(meta.authors))} [dim]({meta.language})[/]")
    if book.front_matter:
        front = tree.add("front matter")
        for block in book.front_matter:
            front.add(_block_label(block))
    part_node = None
    current_part = None
    for chapter in book.chapters:
        if chapter.part != current_part:
            current_part = chapter.part
            part_node = tree.add(f"[bold]{_escape(chapter.part)}[/]") if chapter.part else None
        parent = part_node or tree
        label = _escape(chapter.display_title or "(untitled)")
        node = parent.add(f"[bold]{label}[/] [dim]lines {chapter.lines[0]}–{chapter.lines[1]}"
                          f"{' in ' + _escape(chapter.file) if chapter.file else ''}, rule {chapter.rule}[/]")
        paragraphs = sum(1 for b in chapter.blocks if b.kind == "paragraph")
        node.add(f"{paragraphs} paragraphs")
        for block in chapter.blocks:
            if block.kind in ("note", "scene_break"):
                node.add(_block_label(block))
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


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# The status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def main() -> None:
    """The `packager` command. Ctrl-C (or SIGTERM) stops it with one line and status 130: a file being
    written is removed on the way out (see build.write_outputs), and PDF workers are stopped, so
    nothing half-written and no stray temporary file stays behind."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
        return
    except KeyboardInterrupt:
        pass
    except SystemExit as stop:
        if stop.code != INTERRUPTED:  # Typer turns Ctrl-C into status 130, without a word
            raise
    err.print("[bold red]error:[/] interrupted")
    sys.exit(INTERRUPTED)
