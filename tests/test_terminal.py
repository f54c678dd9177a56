"""What `packager` shows on a terminal (progress, help, the summary, inspect) and what it leaves out
when its output is not one."""

from __future__ import annotations

import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import fcntl
from pathlib import Path

import pytest
import typer.main

from conftest import ROOT, inspect_json, run_packager, shared
from packager.cli import app
from packager.render.assets import theme_names

COLUMNS = 80


def on_terminal(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None
                ) -> tuple[int, str, str]:
    """Run packager with stderr on a pseudo-terminal of 80 columns and stdout on a pipe; returns the
    exit status, stdout, and everything the terminal received (escape sequences removed)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environment |= {"TERM": "xterm-256color"} | (env or {})
    process = subprocess.Popen([sys.executable, "-m", "packager", *map(str, args)], cwd=cwd, env=environment,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    received = bytearray()
    while True:
        ready, _, _ = select.select([controller], [], [], 600)
        if not ready:
            process.kill()
            raise AssertionError("packager stopped answering")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other side closed: the process has ended
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    stdout = process.stdout.read().decode("utf-8")
    process.stdout.close()
    status = process.wait(timeout=60)
    text = re.sub(r"\x1b\[[0-9;]*m", "", received.decode("utf-8", "replace"))  # colours
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", "\n", text)  # cursor moves
    return status, stdout, plain


def two_story_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, title in (("first.txt", "The First Tale"), ("second.txt", "The Second Tale")):
        (folder / name).write_text(f"{title}\n\nChapter 1\n\nIt began.\n\nIt ended.\n", encoding="utf-8")
    return folder


# --- progress -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_single_book_on_a_terminal_shows_reading_epub_each_pdf_chunk_and_merging(tmp_path):
    book = shared("corpus", "gutenberg", "a-christmas-carol.txt")  # two chunks of the PDF
    status, stdout, terminal = on_terminal("build", book, "--out-dir", tmp_path / "out", "--jobs", "2",
                                           env={"PACKAGER_CACHE_DIR": str(tmp_path / "cache")})
    assert status == 0, terminal
    steps = [line.split("· ", 1)[1].split()[0] for line in terminal.splitlines()
             if "a-christmas-carol.txt · " in line]
    assert list(dict.fromkeys(steps)) == ["reading", "EPUB", "PDF", "merging"]
    assert "0/2 chunks" in terminal and "1/2 chunks" in terminal and "2/2 chunks" in terminal
    assert stdout.startswith("built ")


def test_a_single_book_shows_no_progress_when_stderr_is_not_a_terminal(tmp_path):
    result = run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "epub",
                          "--out-dir", tmp_path)
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.slow
def test_a_batch_progress_bar_gives_the_time_taken_then_the_time_left(tmp_path):
    folder = two_story_folder(tmp_path / "stories")
    status, _, terminal = on_terminal("build", folder, "--to", "epub", "--out-dir", tmp_path / "out", "--jobs", "1")
    assert status == 0, terminal
    assert re.search(r"\d:\d\d:\d\d elapsed, (\d:\d\d:\d\d|-:--:--) left", terminal), terminal


@pytest.mark.slow
def test_a_rerun_with_every_book_unchanged_shows_no_progress_bar(tmp_path):
    folder = two_story_folder(tmp_path / "stories")
    run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    status, stdout, terminal = on_terminal("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert status == 0, terminal
    assert "0/0" not in terminal and "elapsed" not in terminal
    assert "0 built, 2 unchanged" in stdout


# --- the result of a build -------------------------------------------------------------------------

@pytest.mark.slow
def test_a_single_build_says_how_many_notes_it_found_and_stripped(tmp_path):
    story = shared("seeds", "003_c873871c6bd971e6.txt")
    seen = inspect_json(story)
    found = sum(1 for block in seen["front_matter"] + [b for c in seen["chapters"] for b in c["blocks"]]
                if block["kind"] == "note")
    kept = run_packager("build", story, "--to", "epub", "--out-dir", tmp_path / "kept")
    stripped = run_packager("build", story, "--to", "epub", "--notes", "strip", "--out-dir", tmp_path / "stripped")
    [report] = (tmp_path / "stripped").glob("*.notes.txt")
    removed = len(re.findall(r"^\[.*, rule \w+\]$", report.read_text(encoding="utf-8"), re.M))
    assert found > 0 and removed > 0
    assert kept.stdout.strip().endswith(f"notes: {found} found, 0 stripped")
    assert stripped.stdout.strip().endswith(f"notes: {found} found, {removed} stripped")


@pytest.mark.slow
def test_a_batch_leaves_no_lock_file_in_the_output_folder(tmp_path):
    folder = two_story_folder(tmp_path / "stories")
    run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")) == \
        [".packager-manifest.json"]


# --- at 80 columns --------------------------------------------------------------------------------

def build_help() -> str:
    result = subprocess.run([sys.executable, "-m", "packager", "build", "--help"], capture_output=True, text=True,
                            env=os.environ | {"COLUMNS": str(COLUMNS)}, check=True)
    return result.stdout


def test_the_build_help_at_80_columns_names_every_option_whole():
    text = build_help()
    command = typer.main.get_command(app).commands["build"]
    names = [name for param in command.params for name in (*param.opts, *param.secondary_opts)
             if name.startswith("--")]
    assert "--any-page-openings" in names and "--no-smart-typography" in names
    assert [name for name in names if not re.search(rf"(^|[\s/]){re.escape(name)}([\s,=]|$)", text, re.M)] == []
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= COLUMNS


def test_the_build_description_wraps_whole_sentences_at_80_columns():
    lines = build_help().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("A folder of stories is a batch"))
    paragraph = lines[start:lines.index("", start)]
    assert " ".join(line.strip() for line in paragraph).endswith("an OPDS catalogue (catalog.xml).")
    # every line but the last runs to the width: none stops mid-sentence where the source broke it
    assert all(len(line) > COLUMNS - 15 for line in paragraph[:-1])


def test_the_style_help_lists_every_theme_and_the_page_size_help_a_custom_size():
    text = " ".join(build_help().split())
    assert len(theme_names()) >= 3
    for name in theme_names():
        assert re.search(rf"--style NAME\|FILE\.css A theme \([^)]*\b{name}\b", text)
    assert re.search(r"--page-size SIZE PDF page size: .*WIDTHxHEIGHT", text)


@pytest.mark.slow
def test_the_summary_at_80_columns_splits_no_file_name_and_names_the_output_folder(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "packager", "build", ROOT / "stories", "--to", "epub",
                             "--out-dir", out], capture_output=True, text=True, env=os.environ | {"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Books in {out}{os.sep}"
    assert max(len(line) for line in lines) <= COLUMNS
    stems = sorted(p.stem for p in out.glob("*.epub"))
    assert "salt-and-starlight" in stems and "the-lighthouse-keeper" in stems
    for stem in stems:  # under its title, whole, with its extensions
        assert re.search(rf"^{re.escape(stem)} \.epub\s", result.stdout, re.M), stem


def test_inspect_at_80_columns_ends_a_line_that_does_not_fit_with_an_ellipsis():
    story = shared("seeds", "003_c873871c6bd971e6.txt")
    result = subprocess.run([sys.executable, "-m", "packager", "inspect", story], capture_output=True,
                            text=True, env=os.environ | {"COLUMNS": str(COLUMNS)}, check=True)
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= COLUMNS
    full = [line for line in lines if len(line) == COLUMNS]
    assert full and all(line.endswith("…") for line in full)
