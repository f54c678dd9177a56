"""Bad input, as a specification: every case gets ONE line on stderr, `error: PATH: problem`, exit
status 1 (2 for usage errors), no traceback, and nothing (not even a `.*.part` temp file) in the
output folder. And the build never reaches the network, nor reads local files outside its folders.

Every test runs the real CLI in a subprocess so exit codes and stderr are what a user sees (but the
full disk, whose write error must be injected, which runs the same CLI in this process).
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from conftest import shared

GOOD_STORY = """\
The Quiet Harbour
by Ada Lane

Chapter 1: Arrival

The boat came in at dawn, grey on grey, and nobody on the quay looked up from their nets.

Mara watched it from the lighthouse steps, her coat pulled tight against the wind.

"Another one," her father said. "They keep coming, and the sea keeps taking them back."
"""

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


# --- helpers ------------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    """No colour codes in stderr, and no proxy: a fetch must go straight to our loopback server."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS and k != "FORCE_COLOR"}
    env["NO_COLOR"] = "1"
    return env


def run(cwd: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "packager", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=_env())


def build(cwd: Path, *args: object, to: str = "epub", out: str = "out") -> subprocess.CompletedProcess:
    return run(cwd, "build", *args, "--to", to, "--out-dir", out)


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def output_files(out: Path) -> list[str]:
    """Everything in the output folder, hidden temp files included; [] when it does not exist."""
    return sorted(p.name for p in out.iterdir()) if out.is_dir() else []


def assert_one_line_error(result: subprocess.CompletedProcess, status: int, names: str,
                          out: Path) -> str:
    """The contract for bad input; returns the error line."""
    lines = stderr_lines(result)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == status, f"exit {result.returncode}, expected {status}:\n{result.stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert names in line, f"the error does not name {names!r}: {line}"
    assert output_files(out) == [], f"left behind in {out}: {output_files(out)}"
    return line


def warnings_in(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in stderr_lines(result) if line.startswith("warning:")]


@pytest.fixture
def story(tmp_path: Path) -> Path:
    path = tmp_path / "story.txt"
    path.write_text(GOOD_STORY, encoding="utf-8")
    return path


def png_bytes(size: tuple[int, int] = (8, 8), colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    import io
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


# --- input files and folders ----------------------------------------------------------------------

def test_missing_path_is_one_line_error_and_exit_1(tmp_path):
    result = build(tmp_path, "no-such-story.txt")
    assert_one_line_error(result, 1, "no-such-story.txt", tmp_path / "out")


def test_empty_file_is_one_line_error_and_exit_1(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = build(tmp_path, "empty.txt")
    assert_one_line_error(result, 1, "empty.txt", tmp_path / "out")


def test_whitespace_only_file_is_one_line_error_and_exit_1(tmp_path):
    (tmp_path / "blank.txt").write_bytes(b"   \n\t\n\r\n  \n")
    result = build(tmp_path, "blank.txt")
    assert_one_line_error(result, 1, "blank.txt", tmp_path / "out")


def test_binary_file_of_random_bytes_is_one_line_error_and_exit_1(tmp_path):
    data = random.Random(7).randbytes(4096)
    (tmp_path / "story.txt").write_bytes(data)
    result = build(tmp_path, "story.txt")
    assert_one_line_error(result, 1, "story.txt", tmp_path / "out")


def test_png_renamed_to_story_txt_is_one_line_error_and_exit_1(tmp_path):
    (tmp_path / "story.txt").write_bytes(png_bytes((64, 64)))
    result = build(tmp_path, "story.txt")
    assert_one_line_error(result, 1, "story.txt", tmp_path / "out")


def test_folder_holding_only_an_image_is_one_line_error_and_exit_1(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = build(tmp_path, "pictures")
    assert_one_line_error(result, 1, "pictures", tmp_path / "out")


def test_a_fifo_named_like_a_story_is_one_line_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "story.txt")
    result = build(tmp_path, "story.txt")
    assert_one_line_error(result, 1, "story.txt", tmp_path / "out")


def test_a_file_too_large_for_a_story_is_refused_before_it_is_read(tmp_path):
    with (tmp_path / "huge.txt").open("wb") as sparse:  # 300 MB that take no disk space
        sparse.truncate(300 * 1024 * 1024)
    result = build(tmp_path, "huge.txt")
    line = assert_one_line_error(result, 1, "huge.txt", tmp_path / "out")
    assert "too large" in line


def test_empty_folder_is_one_line_error_and_exit_1(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = build(tmp_path, "nothing")
    assert_one_line_error(result, 1, "nothing", tmp_path / "out")


def test_non_story_suffix_is_usage_error_exit_2(tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.7\n")
    result = build(tmp_path, "notes.pdf")
    assert_one_line_error(result, 2, "notes.pdf", tmp_path / "out")


# --- what editors and downloaders save: decoded, never rejected ----------------------------------

def epub_words(epub: Path) -> list[str]:
    """The words of every chapter file of an EPUB, in reading order."""
    with zipfile.ZipFile(epub) as archive:
        names = sorted(n for n in archive.namelist() if re.search(r"chapter-\d+\.xhtml$", n))
        text = " ".join(" ".join(etree.fromstring(archive.read(n)).itertext()) for n in names)
    return words(text)


def words(text: str) -> list[str]:
    """Lower-cased runs of letters and digits, apostrophes of either shape dropped."""
    return re.findall(r"[^\W_]+", text.lower().replace("\u2019", "").replace("'", ""))


STORY_WORDS = words(GOOD_STORY.split("Chapter 1: Arrival", 1)[1])


def test_nul_bytes_inside_text_are_removed_with_a_warning_naming_the_line(tmp_path):
    data = GOOD_STORY.encode("utf-8").replace(b"grey on grey", b"grey\x00 on\x00\x00 grey")
    (tmp_path / "story.txt").write_bytes(data + b"\x00" * 64)
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    assert [w for w in warnings_in(result) if "story.txt:6:" in w and "NUL" in w], result.stderr
    assert epub_words(tmp_path / "out" / "the-quiet-harbour.epub")[-len(STORY_WORDS):] == STORY_WORDS


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_a_bom_is_decoded_not_rejected(tmp_path, encoding, bom):
    (tmp_path / "story.txt").write_bytes(bom + GOOD_STORY.replace("\n", "\r\n").encode(encoding))
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    assert warnings_in(result) == []
    assert epub_words(tmp_path / "out" / "the-quiet-harbour.epub")[-len(STORY_WORDS):] == STORY_WORDS


def test_utf8_with_a_few_invalid_bytes_is_decoded_with_a_warning_naming_the_line(tmp_path):
    text = GOOD_STORY.replace("Mara watched", "Mára watched, naïve,")  # valid UTF-8 beside the damage
    data = text.encode("utf-8").replace(b"nobody on", b"nobody\xff on")
    (tmp_path / "story.txt").write_bytes(data)
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    assert [w for w in warnings_in(result) if "story.txt:6:" in w and "invalid UTF-8" in w], result.stderr
    assert "nobody" in epub_words(tmp_path / "out" / "the-quiet-harbour.epub")


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_windows_1252_and_latin_1_stories_keep_their_accents(tmp_path, encoding):
    text = GOOD_STORY.replace("Mara", "Maïa").replace("nets.", "nets \u2014 Café Jürgen\u2019s.")
    if encoding == "latin-1":
        text = text.replace("\u2014", "-").replace("\u2019", "'")
    (tmp_path / "story.txt").write_bytes(text.encode(encoding))
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    assert warnings_in(result) == []
    found = epub_words(tmp_path / "out" / "the-quiet-harbour.epub")
    assert "maïa" in found and "café" in found and "jürgens" in found


def test_mixed_line_ends_give_the_line_numbers_an_editor_shows(tmp_path):
    lines = GOOD_STORY.split("\n")
    ends = ["\r\n", "\n", "\r"]  # (a CR before an empty line's LF would make one CRLF)
    (tmp_path / "story.txt").write_bytes("".join(line + ends[k % 3] for k, line in enumerate(lines[:-1])).encode())
    result = run(tmp_path, "inspect", "story.txt", "--json")
    assert result.returncode == 0, result.stderr
    chapter = json.loads(result.stdout)["chapters"][0]
    assert chapter["lines"] == [4, 10]
    assert [b["lines"][0] for b in chapter["blocks"]] == [4, 6, 8, 10]
    assert build(tmp_path, "story.txt").returncode == 0


# --- huge input: one line of 10 MB, 50 MB, 10,000 chapters ---------------------------------------

def war_and_peace_paragraphs() -> list[str]:
    """War and Peace's paragraphs (hard-wrapped lines joined), without its headings."""
    text = shared("corpus", "gutenberg", "war-and-peace.txt").read_text(encoding="utf-8-sig")
    body = text[text.index("BOOK ONE: 1805"):text.index("*** END OF THIS PROJECT GUTENBERG")]
    return [p for p in (" ".join(block.split()) for block in body.split("\n\n")) if len(p) > 200]


@pytest.mark.slow
def test_a_10_mb_story_on_one_line_builds_without_losing_a_word(tmp_path):
    paragraphs = war_and_peace_paragraphs()
    line = " ".join(paragraphs * (10_000_000 // sum(len(p) + 1 for p in paragraphs) + 1))
    (tmp_path / "story.txt").write_text(f"The Long Line\n\n{line}\n", encoding="utf-8")
    assert (tmp_path / "story.txt").stat().st_size > 10_000_000
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    [epub] = (tmp_path / "out").glob("*.epub")
    expected = words(line)
    assert epub_words(epub)[-len(expected):] == expected  # after the chapter's heading and first line


@pytest.mark.slow
def test_a_50_mb_story_builds_its_epub_in_under_1_gb_of_memory(tmp_path):
    text = shared("corpus", "gutenberg", "war-and-peace.txt").read_text(encoding="utf-8-sig")
    body = text[text.index("BOOK ONE: 1805"):text.index("*** END OF THIS PROJECT GUTENBERG")]
    volumes = 50_000_000 // len(body.encode("utf-8")) + 1
    with (tmp_path / "story.txt").open("w", encoding="utf-8") as story:
        story.write("The Longest Book\nby Many Hands\n\n")
        for volume in range(1, volumes + 1):
            story.write(re.sub(r"^BOOK (\w+)", rf"BOOK \1 OF VOLUME {volume}", body, flags=re.MULTILINE))
    assert (tmp_path / "story.txt").stat().st_size > 50_000_000
    chapters = body.count("\nCHAPTER ") * volumes
    # a parent that only waits reports the build's own peak memory (ru_maxrss of its children)
    measure = ("import resource, subprocess, sys; "
               "code = subprocess.call([sys.executable, '-m', 'packager', *sys.argv[1:]]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", measure, "build", "story.txt", "--to", "epub",
                             "--out-dir", "out"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=_env())
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split()[-1]) / 1024
    assert peak_mb < 1024, f"peak memory {peak_mb:.0f} MB"
    with zipfile.ZipFile(tmp_path / "out" / "the-longest-book.epub") as archive:
        files = [n for n in archive.namelist() if re.search(r"chapter-\d+\.xhtml$", n)]
        last = " ".join(etree.fromstring(archive.read(sorted(files, key=len)[-1])).itertext())
    assert len(files) == chapters
    assert words(body.rstrip().rsplit("\n\n", 1)[-1])[-12:] == words(last)[-12:]


@pytest.mark.slow
def test_10000_chapters_give_10000_chapter_files_in_the_contents(tmp_path):
    paragraphs = war_and_peace_paragraphs()
    with (tmp_path / "story.txt").open("w", encoding="utf-8") as story:
        story.write("Ten Thousand Chapters\nby Someone Patient\n")
        for number in range(1, 10_001):
            story.write(f"\nChapter {number}\n\n{paragraphs[number % len(paragraphs)][:300]}\n")
    result = build(tmp_path, "story.txt")
    assert result.returncode == 0, result.stderr
    assert "(10000 chapters)" in result.stdout
    with zipfile.ZipFile(tmp_path / "out" / "ten-thousand-chapters.epub") as archive:
        chapter_files = [n for n in archive.namelist() if re.search(r"chapter-\d+\.xhtml$", n)]
        nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        last = etree.fromstring(archive.read("EPUB/chapter-10000.xhtml"))
    assert len(chapter_files) == 10_000
    links = nav.xpath("//*[local-name()='nav'][@*[local-name()='type']='toc']//*[local-name()='a']/@href")
    assert [link.split("#")[0] for link in links] == [f"chapter-{n:03d}.xhtml" for n in range(1, 10_001)]
    assert "Chapter 10000" in " ".join(last.itertext())


# --- options ----------------------------------------------------------------------------------------

def test_unknown_theme_is_usage_error_exit_2(tmp_path, story):
    result = build(tmp_path, story.name, "--style", "nosuch")
    assert_one_line_error(result, 2, "nosuch", tmp_path / "out")


def test_missing_stylesheet_is_one_line_error_and_exit_1(tmp_path, story):
    result = build(tmp_path, story.name, "--style", "my.css")
    assert_one_line_error(result, 1, "my.css", tmp_path / "out")


def test_missing_cover_is_one_line_error_and_exit_1(tmp_path, story):
    result = build(tmp_path, story.name, "--cover", "nosuch.png")
    assert_one_line_error(result, 1, "nosuch.png", tmp_path / "out")


def test_corrupt_cover_is_one_line_error_and_exit_1(tmp_path, story):
    (tmp_path / "cover.png").write_text("this is text, not a picture\n")
    result = build(tmp_path, story.name, "--cover", "cover.png")
    assert_one_line_error(result, 1, "cover.png", tmp_path / "out")


def test_gif_cover_is_one_line_error_and_exit_1(tmp_path, story):
    Image.new("RGB", (16, 16), (0, 90, 200)).save(tmp_path / "cover.gif", format="GIF")
    result = build(tmp_path, story.name, "--cover", "cover.gif")
    line = assert_one_line_error(result, 1, "cover.gif", tmp_path / "out")
    assert "GIF" in line


def test_truncated_cover_is_one_line_error_and_exit_1(tmp_path, story):
    data = png_bytes((400, 400))
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    result = build(tmp_path, story.name, "--cover", "cut.png")
    assert_one_line_error(result, 1, "cut.png", tmp_path / "out")


def test_decompression_bomb_cover_is_one_line_error_and_exit_1(tmp_path, story):
    """A PNG of a few bytes claiming 30,000 x 30,000 pixels (3.6 GB decoded) is refused unread."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0))
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                                        + chunk(b"IEND", b""))
    result = build(tmp_path, story.name, "--cover", "bomb.png", to="epub,pdf")
    line = assert_one_line_error(result, 1, "bomb.png", tmp_path / "out")
    assert "too large" in line


def test_unwritable_output_folder_is_one_line_error_and_exit_1(tmp_path, story):
    # A read-only folder stops a normal user; root writes anyway, so then use a path whose parent is
    # a regular file, which nobody can create.
    out = tmp_path / "readonly"
    out.mkdir()
    out.chmod(0o500)
    try:
        if os.access(out, os.W_OK):  # running as root
            out.chmod(0o700)
            (tmp_path / "afile").write_text("I am a file, not a folder\n")
            out = tmp_path / "afile" / "out"
        relative = str(out.relative_to(tmp_path))
        result = build(tmp_path, story.name, out=relative)
        assert_one_line_error(result, 1, relative, out)
    finally:
        if (tmp_path / "readonly").exists():
            (tmp_path / "readonly").chmod(0o700)


def test_full_disk_is_one_line_error_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    """The disk fills up while the second of two outputs is written (the EPUB, then the notes file of
    --notes strip): one line naming the folder, status 1, and neither file, whole or partial."""
    from typer.testing import CliRunner

    from packager.cli import app

    story = tmp_path / "story.txt"
    story.write_text(GOOD_STORY + "\nA/N: thanks for reading, please review!\n", encoding="utf-8")
    real_fdopen = os.fdopen
    writes = []

    class FullDisk:
        """A file whose write stores half of the data, then finds no space left."""

        def __init__(self, stream):
            self.stream = stream

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def write(self, data):
            writes.append(len(data))
            if len(writes) == 2:
                self.stream.write(data[: len(data) // 2])
                self.stream.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.stream.write(data)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.setattr(os, "fdopen", lambda fd, *args, **kwargs: FullDisk(real_fdopen(fd, *args, **kwargs)))
    result = CliRunner().invoke(app, ["build", str(story), "--to", "epub", "--notes", "strip",
                                      "--out-dir", str(tmp_path / "out")])
    assert len(writes) == 2
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {tmp_path / 'out'}: cannot write output: No space left on device"]
    assert output_files(tmp_path / "out") == []


@pytest.mark.parametrize("sidecar, problem", [
    ('cover = 5\n', "'cover' must be a string"),
    ('keep_licence = "yes"\n', "'keep_licence' must be true or false"),
    ('detect = "strict"\n', "'detect' must be a table"),
    ('[detect]\nheading_patterns = 5\n', "detect.heading_patterns must be a string or a list of strings"),
    ('[detect]\ndisable = [1, 2]\n', "detect.disable must be a string or a list of strings"),
    ('[detect]\nchapter_titles = "The Storm"\n', "detect.chapter_titles must be a table"),
    ('[detect]\nnote_patterns = ["(unclosed"]\n', "detect.note_patterns: bad pattern"),
    ('authors = [1, 2]\n', "'authors' must be a string or a list of strings"),
    ('series = "Saga"\nseries_index = nan\n', "'series_index' must be a number"),
])
def test_sidecar_value_of_the_wrong_type_is_one_line_error_naming_the_file(tmp_path, story, sidecar, problem):
    (tmp_path / "story.toml").write_text(sidecar, encoding="utf-8")
    result = build(tmp_path, story.name)
    line = assert_one_line_error(result, 1, "story.toml", tmp_path / "out")
    assert problem in line


def test_unknown_key_in_the_detect_table_warns_naming_it(tmp_path, story):
    (tmp_path / "story.toml").write_text('[detect]\nheading_pattern = ["^Part"]\n', encoding="utf-8")
    result = build(tmp_path, story.name)
    assert result.returncode == 0, result.stderr
    assert any("detect.heading_pattern" in w and "story.toml" in w for w in warnings_in(result)), result.stderr


def test_a_language_that_is_not_a_code_is_a_usage_error(tmp_path, story):
    result = build(tmp_path, story.name, "--language", '"><script>')
    assert_one_line_error(result, 2, "--language", tmp_path / "out")


def test_unknown_output_format_is_usage_error_exit_2(tmp_path, story):
    result = build(tmp_path, story.name, to="mobi")
    assert_one_line_error(result, 2, "mobi", tmp_path / "out")


def test_unknown_page_size_is_usage_error_exit_2(tmp_path, story):
    result = build(tmp_path, story.name, "--page-size", "b9")
    assert_one_line_error(result, 2, "b9", tmp_path / "out")


def test_unknown_notes_mode_is_usage_error_exit_2(tmp_path, story):
    result = build(tmp_path, story.name, "--notes", "bogus")
    assert_one_line_error(result, 2, "bogus", tmp_path / "out")


# --- sidecar metadata ---------------------------------------------------------------------------

def test_sidecar_syntax_error_names_file_and_line_and_exits_1(tmp_path, story):
    (tmp_path / "story.toml").write_text('title = "The Quiet Harbour"\nauthor = "Ada Lane"\n'
                                         'language = = "en"\n', encoding="utf-8")
    result = build(tmp_path, story.name)
    assert_one_line_error(result, 1, "story.toml:3", tmp_path / "out")


def test_sidecar_nested_too_deeply_is_one_line_error(tmp_path, story):
    (tmp_path / "story.toml").write_text("subjects = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    result = build(tmp_path, story.name)
    assert_one_line_error(result, 1, "story.toml", tmp_path / "out")


def test_unknown_sidecar_key_warns_naming_the_key_and_still_builds(tmp_path, story):
    (tmp_path / "story.toml").write_text('title = "The Quiet Harbour"\nfavourite_colour = "blue"\n',
                                         encoding="utf-8")
    result = build(tmp_path, story.name)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert any("favourite_colour" in w and "story.toml" in w for w in warnings_in(result)), result.stderr
    assert output_files(tmp_path / "out") == ["the-quiet-harbour.epub"]


# --- several stories at once --------------------------------------------------------------------

def test_one_bad_story_among_several_fails_alone_and_exits_1(tmp_path, story):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = build(tmp_path, story.name, "empty.txt")
    lines = stderr_lines(result)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "empty.txt" in lines[0], result.stderr
    assert "built" in result.stdout
    assert output_files(tmp_path / "out") == ["the-quiet-harbour.epub"]  # and no .part file


# --- the build never reaches the network, nor files outside its folders -------------------------

@pytest.mark.slow
def test_remote_urls_in_user_stylesheet_are_not_fetched_and_warned(tmp_path, story, loopback_server):
    base = loopback_server.base
    (tmp_path / "that.css").write_text(f"@import url({base}/evil.css);\n"
                                       f"body {{ background: url({base}/x.png) }}\n", encoding="utf-8")
    result = build(tmp_path, story.name, "--style", "that.css", to="pdf")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "the-quiet-harbour.pdf").is_file()
    warnings = warnings_in(result)
    assert any(loopback_server.address in w or "remote address" in w or "not fetched" in w
               for w in warnings), result.stderr
    assert loopback_server.requests == []
    assert loopback_server.connections == []


@pytest.mark.slow
def test_remote_url_in_story_text_is_not_fetched_and_warned(tmp_path, loopback_server):
    text = GOOD_STORY + f"\nThe harbour has a page at {loopback_server.base}/harbour.html if you want it.\n"
    (tmp_path / "story.txt").write_text(text, encoding="utf-8")
    result = build(tmp_path, "story.txt", to="epub,pdf")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert output_files(tmp_path / "out") == ["the-quiet-harbour.epub", "the-quiet-harbour.pdf"]
    warnings = warnings_in(result)
    assert any("story.txt" in w and ("remote address" in w or loopback_server.address in w)
               for w in warnings), result.stderr
    assert loopback_server.requests == []
    assert loopback_server.connections == []


@pytest.mark.slow
def test_local_file_outside_allowed_folders_is_not_read_and_warned(tmp_path, story):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    secret = elsewhere / "secret.png"
    secret.write_bytes(png_bytes((40, 40)))
    styles = tmp_path / "css"
    styles.mkdir()
    (styles / "user.css").write_text(f"body {{ background: url({secret.as_uri()}) }}\n", encoding="utf-8")
    result = build(tmp_path, story.name, "--style", "css/user.css", "--cover", "none", to="pdf")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "the-quiet-harbour.pdf").is_file()
    assert any("not fetched" in w and secret.as_uri() in w for w in warnings_in(result)), result.stderr


@pytest.mark.slow
def test_stylesheet_relative_url_to_file_beside_it_is_allowed(tmp_path, story):
    """The counterpart: the folder of the user's stylesheet is an allowed folder (Theme.roots), so
    `url(paper.png)` next to the .css must be read, not refused."""
    styles = tmp_path / "css"
    styles.mkdir()
    (styles / "paper.png").write_bytes(png_bytes((40, 40), (240, 230, 200)))
    (styles / "user.css").write_text("body { background: url(paper.png) }\n", encoding="utf-8")
    result = build(tmp_path, story.name, "--style", "css/user.css", "--cover", "none", to="pdf")
    assert result.returncode == 0, result.stderr
    assert not [w for w in warnings_in(result) if "not fetched" in w], result.stderr
