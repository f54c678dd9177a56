"""Shared fixtures: the ../shared data beside the repository, and books built once per session.

Tests that take long (PDF builds, EPUBCheck over many books, long books) carry `@pytest.mark.slow`
(or `pytestmark = pytest.mark.slow` for a whole file), so that `pytest -m "not slow"` is a quick
subset; the README's test command runs them all.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared(*parts: str) -> Path:
    """A path inside ../shared; a missing file fails the test (it never skips)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the repository")
    return path


pytest_plugins = ["pytester"]  # tests of the test set-up itself run pytest on a small test file

JAVA_PACKAGE = "default-jre-headless"


def require_java() -> None:
    """EPUBCheck runs on Java: without it, one line naming the package to install, not a traceback."""
    if shutil.which("java") is None:
        pytest.fail(f"EPUBCheck needs Java, and there is no java on PATH: apt-get install {JAVA_PACKAGE}",
                    pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def test_cache_dir(tmp_path_factory) -> Path:
    """The tests' own PDF chunk cache, in the session's temporary folder: builds run by the tests (in
    this process or as `packager` subprocesses) never write into the user's ~/.cache/packager."""
    folder = tmp_path_factory.mktemp("packager-cache")
    previous = os.environ.get("PACKAGER_CACHE_DIR")
    os.environ["PACKAGER_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("PACKAGER_CACHE_DIR", None)
    else:
        os.environ["PACKAGER_CACHE_DIR"] = previous


def run_packager(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "packager", *map(str, args)], capture_output=True,
                            text=True, cwd=cwd, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"packager {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def inspect_json(path: Path) -> dict:
    return json.loads(run_packager("inspect", path, "--json").stdout)


# --- no network, ever ------------------------------------------------------------------------------
# Every test runs with the network guarded: a connection (or a name lookup) to anything but this
# machine's loopback fails the test, even when the code under test swallows the error. Loopback stays
# open for tests that start a local server on purpose (to count the requests a build makes) and for a
# local Dask cluster. Builds run in a subprocess are outside this guard: their tests count the requests
# a loopback server receives instead.

_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def is_loopback(address: object) -> bool:
    """A socket address (or host name) on this machine: 127.0.0.0/8, ::1, localhost, a Unix socket."""
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        host = address.decode() if isinstance(address, bytes) else address
        if "/" in host or host.startswith("\0"):  # a Unix socket path
            return True
    elif isinstance(address, tuple) and address:
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    else:
        return False
    host = host.strip("[]").split("%")[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


class NetworkGuard:
    """Replaces the socket functions that reach out; records and refuses every outside attempt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.attempts: list[str] = []
        self.real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}
        self.real_getaddrinfo = socket.getaddrinfo
        self.real_create_connection = socket.create_connection
        for name in self.real:
            monkeypatch.setattr(socket.socket, name, self._guarded_method(name))
        monkeypatch.setattr(socket, "getaddrinfo", self._getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", self._create_connection)

    def _refuse(self, what: str, address: object) -> None:
        self.attempts.append(f"{what} {address!r}")
        raise ConnectionRefusedError(f"the tests allow no network access ({what} {address!r})")

    def _guarded_method(self, name: str):
        real = self.real[name]
        guard = self

        def method(sock, *args):
            address = args[-1]
            if sock.family != socket.AF_UNIX and not is_loopback(address):
                guard._refuse(name, address)
            return real(sock, *args)
        return method

    def _getaddrinfo(self, host, *args, **kwargs):
        if host not in (None, "", b"") and not is_loopback((host,)):
            self._refuse("getaddrinfo", host)
        return self.real_getaddrinfo(host, *args, **kwargs)

    def _create_connection(self, address, *args, **kwargs):
        if not is_loopback(address):
            self._refuse("create_connection", address)
        return self.real_create_connection(address, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Autouse: any attempt to reach beyond loopback fails the test."""
    guard = NetworkGuard(monkeypatch)
    yield guard
    if guard.attempts:
        pytest.fail(f"the test tried to reach the network: {guard.attempts}")


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


def seed_labels() -> dict:
    labels = json.loads(shared("seeds", "labels.json").read_text())
    return {k: v for k, v in labels.items() if not k.startswith("_")}


def corpus_labels() -> dict:
    labels = json.loads(shared("corpus", "labels.json").read_text())
    return {k: v for k, v in labels.items() if not k.startswith("_")}


# The acceptance set: every seed, every CC0 story, and one Gutenberg book.
def acceptance_sources() -> list[Path]:
    seeds = sorted(shared("seeds").glob("*.txt"))
    cc0 = sorted(p for p in shared("corpus", "cc0").iterdir() if p.is_dir())
    return seeds + cc0 + [shared("corpus", "gutenberg", "a-christmas-carol.txt")]


@pytest.fixture(scope="session")
def built_books(tmp_path_factory) -> Path:
    """The acceptance set built once (EPUB and PDF) into one folder."""
    out = tmp_path_factory.mktemp("books")
    run_packager("build", *acceptance_sources(), "--out-dir", out)
    return out


@pytest.fixture(scope="session")
def built_samples(tmp_path_factory) -> Path:
    """The bundled sample stories, built as the README's quick start does."""
    out = tmp_path_factory.mktemp("samples")
    run_packager("build", ROOT / "stories", "--out-dir", out)
    return out


def copy_stories(folder: Path) -> Path:
    """A folder of stories as an archivist keeps one: the seeds as story files and the CC0 stories as
    story folders, copied from ../shared into a temporary folder (never into the repository)."""
    import shutil
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted(shared("seeds").glob("*.txt")):
        shutil.copy2(seed, folder / seed.name)
    for story in sorted(p for p in shared("corpus", "cc0").iterdir() if p.is_dir()):
        shutil.copytree(story, folder / story.name)
    return folder


def build_json(report: Path) -> dict:
    return json.loads(report.read_text(encoding="utf-8"))
