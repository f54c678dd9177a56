"""Bad input, as a specification: every case gets ONE line on stderr, `error: PATH: problem`, exit
status 1 (2 for usage errors), no traceback, and nothing (not even a `.*.part` temp file) in the
output folder. And the build never reaches the network, nor reads local files outside its folders.

Every test runs the real CLI in a subprocess so exit codes and stderr are what a user sees.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

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


def test_empty_folder_is_one_line_error_and_exit_1(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = build(tmp_path, "nothing")
    assert_one_line_error(result, 1, "nothing", tmp_path / "out")


def test_non_story_suffix_is_usage_error_exit_2(tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.7\n")
    result = build(tmp_path, "notes.pdf")
    assert_one_line_error(result, 2, "notes.pdf", tmp_path / "out")


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

@pytest.fixture
def loopback_server():
    """An HTTP server on 127.0.0.1 that records every connection and request it receives."""
    connections: list[tuple] = []
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            requests.append(f"{self.command} {self.path}")
            body = b"body { color: red }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = _answer

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request, client_address):
            connections.append(client_address)
            return True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # Prove the server answers, so that "zero requests" below means "nothing was fetched".
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base + "/probe", timeout=5) as response:
        assert response.status == 200
    assert requests == ["GET /probe"]
    requests.clear()
    connections.clear()
    try:
        yield SimpleNamespace(base=base, address=base.removeprefix("http://"),
                              requests=requests, connections=connections)
    finally:
        server.shutdown()
        server.server_close()


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
