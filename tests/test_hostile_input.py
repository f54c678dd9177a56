"""Hostile input, as a specification: markup, entities, quotes, control characters, right-to-left text
and emoji in titles, authors, chapter titles and text come out escaped and well-formed; stylesheets
and story folders that point outside read nothing outside the story's folder, the theme folders and
the given cover; and nothing is ever fetched from the network.

Builds run the real CLI in a subprocess (as a user runs it); the network guard of conftest.py covers
what runs in this process, and a loopback HTTP server counts what a subprocess would have fetched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import NetworkGuard, is_loopback
from test_bad_input import GOOD_STORY, assert_one_line_error, build, output_files, png_bytes, run, warnings_in
from test_epub import epubcheck_messages

# Everything a title or a line of text can hold that markup cares about, and what fonts and XML find
# hard: a script element, an entity, both quotes, control characters (which no XML can hold), an
# override to right-to-left, Arabic and Hebrew, emoji with a skin tone and a zero-width joiner.
HOSTILE = ("<script>alert('x')</script> & \"Tom\" & 'Jerry' \x01\x08\x1b[31m "
           "\u202eevil\u202c \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd "
           "\U0001F600\U0001F44D\U0001F3FD \U0001F469\u200d\U0001F4BB &amp; &#x26; ]]> <!-- -->")
VISIBLE = HOSTILE.replace("\x01", "").replace("\x08", "").replace("\x1b", "")


# A chapter heading is at most 100 characters, so chapter titles get a shorter share of the same.
SHORT = "<script>x</script> & \"Q\" 'q' \x01 \u202eRTL\u202c \u0645\u0631\u062d\u0628\u0627 \U0001F600"


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly, control characters as escapes."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 32 or c in '"\\' else c for c in text)
    return f'"{escaped}"'


def hostile_story(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    story = folder / "hostile.txt"
    story.write_text(
        f"Chapter 1: {SHORT}\n\n"
        f"She wrote {HOSTILE} on the wall, and the wall kept it.\n\n"
        f"A/N: {HOSTILE}\n\n"
        "Chapter 2: <img src=x onerror=alert(1)>\n\n"
        "The second chapter is <b>plain</b> text &c., with a <a href='http://127.0.0.1:9/'>link</a>.\n",
        encoding="utf-8")
    # a sidecar can put control characters into metadata through TOML escapes
    (folder / "hostile.toml").write_text(
        f"title = {toml_string(HOSTILE)}\n"
        'description = "Blurb <b>bold</b> & \\u0007bell"\nsubjects = ["<tag>", "R&D"]\n'
        'series = "Saga \\"quoted\\" <s>"\nseries_index = 2\npublisher = "A & B <Press>"\n',
        encoding="utf-8")
    return story


def xml_parts(epub: Path) -> dict[str, etree._Element]:
    """Every XHTML, OPF and NCX file of the EPUB, parsed as XML (a parse error fails the test)."""
    parsed = {}
    with zipfile.ZipFile(epub) as archive:
        for name in archive.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                parsed[name] = etree.fromstring(archive.read(name))
    return parsed


@pytest.fixture(scope="module")
def hostile_books(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    story = hostile_story(tmp)
    # typography off, so that the text can be compared with what was written, quotes and all
    result = run(tmp, "build", story.name, "--to", "epub,pdf", "--out-dir", "out", "--jobs", "1",
                 "--no-smart-typography", "--author", f"Second {HOSTILE}", "--author", "Ada Lane")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return tmp / "out"


@pytest.mark.slow
def test_hostile_metadata_and_text_give_a_well_formed_epub(hostile_books):
    [epub] = hostile_books.glob("*.epub")
    parts = xml_parts(epub)
    assert len([n for n in parts if n.endswith(".xhtml")]) >= 4
    for name, root in parts.items():
        made_by_the_story = root.xpath("//*[local-name()='script'] | //@onerror | //@*[contains(., '127.0.0.1')]"
                                       " | //*[local-name()='img'][not(starts-with(@src, 'images/cover.'))]")
        assert made_by_the_story == [], f"{name} holds markup from the story"


@pytest.mark.slow
def test_hostile_text_is_printed_as_written_without_control_characters(hostile_books):
    [epub] = hostile_books.glob("*.epub")
    parts = xml_parts(epub)
    chapter = " ".join(parts["EPUB/chapter-001.xhtml"].itertext())
    assert SHORT.replace("\x01 ", "") in chapter
    assert "alert('x')" in chapter and "\u202eevil\u202c" in chapter and "\U0001F469\u200d\U0001F4BB" in chapter
    assert "&amp; &#x26; ]]> <!-- -->" in chapter  # entities in the text stay text
    assert not any(c in chapter for c in "\x01\x08\x1b")
    second = " ".join(parts["EPUB/chapter-002.xhtml"].itertext())
    assert "<img src=x onerror=alert(1)>" in second and "<b>plain</b>" in second


@pytest.mark.slow
def test_hostile_metadata_is_kept_as_text_in_the_package(hostile_books):
    [epub] = hostile_books.glob("*.epub")
    opf = next(root for name, root in xml_parts(epub).items() if name.endswith(".opf"))
    ns = {"dc": "http://purl.org/dc/elements/1.1/"}
    assert opf.findtext(".//dc:title", namespaces=ns) == VISIBLE.strip()
    assert [c.text for c in opf.findall(".//dc:creator", ns)] == [f"Second {VISIBLE}".strip(), "Ada Lane"]
    assert opf.findtext(".//dc:description", namespaces=ns) == "Blurb <b>bold</b> & bell"
    assert [s.text for s in opf.findall(".//dc:subject", ns)] == ["<tag>", "R&D"]


@pytest.mark.slow
def test_hostile_book_passes_epubcheck(hostile_books):
    [epub] = hostile_books.glob("*.epub")
    assert epubcheck_messages(epub) == []


@pytest.mark.slow
def test_hostile_metadata_reaches_the_pdf_as_text(hostile_books):
    [pdf] = hostile_books.glob("*.pdf")
    info = PdfReader(pdf).metadata
    assert info.title == VISIBLE.strip()
    assert info.author.startswith("Second <script>")


def test_jinja_autoescaping_is_on():
    from packager.render.assets import environment

    env = environment()
    assert env.autoescape is True
    assert env.from_string("{{ t }}").render(t="<script>&") == "&lt;script&gt;&amp;"


def test_a_file_name_with_markup_is_named_as_it_is(tmp_path):
    """Rich reads `[...]` as markup; a file called `[/bold] <i>.txt` must be printed as it is."""
    name = "[/bold] [red]draft[/red] <i>.txt"
    result = build(tmp_path, name)
    line = assert_one_line_error(result, 1, name, tmp_path / "out")
    assert line == f"error: {name}: no such file or folder"


# --- stylesheets that point outside -------------------------------------------------------------

def hostile_stylesheet(folder: Path, base: str) -> Path:
    css = folder / "hostile.css"
    css.write_text(f"@import url({base}/import.css);\n"
                   "@import url(file:///etc/passwd);\n"
                   f"body {{ background: url({base}/bg.png) }}\n"
                   "h1 { background-image: url(file:///etc/passwd) }\n"
                   f"@font-face {{ font-family: Evil; src: url({base}/evil.woff) }}\n"
                   "p { color: #222 }\n", encoding="utf-8")
    return css


@pytest.mark.slow
def test_stylesheet_imports_and_file_urls_are_neither_fetched_nor_read(tmp_path, loopback_server):
    (tmp_path / "story.txt").write_text(GOOD_STORY, encoding="utf-8")
    hostile_stylesheet(tmp_path, loopback_server.base)
    result = build(tmp_path, "story.txt", "--style", "hostile.css", to="epub,pdf")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert loopback_server.requests == [] and loopback_server.connections == []
    warnings = warnings_in(result)
    assert any("not fetched" in w and "file:///etc/passwd" in w for w in warnings), result.stderr
    assert any("left out of the EPUB" in w for w in warnings), result.stderr
    out = tmp_path / "out"
    with zipfile.ZipFile(out / "the-quiet-harbour.epub") as archive:
        css = archive.read("EPUB/styles/book.css").decode()
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert "@import" not in css and "passwd" not in css and loopback_server.address not in css
    assert b"root:x:0:0" not in everything
    assert "color: #222" in css  # the rest of the stylesheet is kept
    assert b"root:x:0:0" not in (out / "the-quiet-harbour.pdf").read_bytes()
    assert epubcheck_messages(out / "the-quiet-harbour.epub") == []


def test_the_fetcher_refuses_remote_and_outside_files_and_serves_its_own(tmp_path):
    from packager.render.fetcher import LocalOnlyFetcher

    inside = tmp_path / "theme"
    inside.mkdir()
    (inside / "paper.png").write_bytes(png_bytes())
    (inside / "link.png").symlink_to("/etc/passwd")
    fetcher = LocalOnlyFetcher([inside])
    for url in ("http://127.0.0.1:9/x.css", "https://example.org/x.css", "file:///etc/passwd",
                (inside / "link.png").as_uri(), (inside / ".." / ".." / "etc" / "passwd").as_uri(),
                "ftp://example.org/x", "//example.org/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 7
    fetched = fetcher.fetch((inside / "paper.png").as_uri())
    assert fetched is not None


# --- story folders that link outside --------------------------------------------------------------

def test_symlink_in_a_story_folder_pointing_outside_is_skipped_with_a_warning(tmp_path):
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("Chapter 9\n\nTHE SECRET TEXT that must never be read.\n", encoding="utf-8")
    folder = tmp_path / "saga"
    folder.mkdir()
    (folder / "01-arrival.txt").write_text(GOOD_STORY, encoding="utf-8")
    (folder / "02-leak.txt").symlink_to(secret)
    (folder / "cover.png").symlink_to(tmp_path / "elsewhere" / "nothing.png")  # dangling, outside
    result = build(tmp_path, "saga")
    assert result.returncode == 0, result.stderr
    warnings = warnings_in(result)
    assert any("02-leak.txt" in w and "symbolic link" in w for w in warnings), result.stderr
    assert any("cover.png" in w and "symbolic link" in w for w in warnings), result.stderr
    [epub] = (tmp_path / "out").glob("*.epub")
    with zipfile.ZipFile(epub) as archive:
        assert not any(b"THE SECRET TEXT" in archive.read(n) for n in archive.namelist())


def test_symlink_inside_the_story_folder_is_read(tmp_path):
    folder = tmp_path / "saga"
    (folder / "drafts").mkdir(parents=True)
    (folder / "drafts" / "real.txt").write_text(GOOD_STORY.replace("Arrival", "Departure"), encoding="utf-8")
    (folder / "01-one.txt").write_text(GOOD_STORY, encoding="utf-8")
    (folder / "02-two.txt").symlink_to(folder / "drafts" / "real.txt")
    (folder / "story.toml").write_text('title = "Saga"\n', encoding="utf-8")  # one story, not a shelf
    result = build(tmp_path, "saga")
    assert result.returncode == 0, result.stderr
    assert not [w for w in warnings_in(result) if "symbolic link" in w], result.stderr
    [epub] = (tmp_path / "out").glob("*.epub")
    with zipfile.ZipFile(epub) as archive:
        assert any(b"Departure" in archive.read(n) for n in archive.namelist())


@pytest.mark.slow
def test_a_folder_link_looping_back_up_is_skipped_not_followed_forever(tmp_path):
    library = tmp_path / "library"
    (library / "one").mkdir(parents=True)
    (library / "one" / "story.txt").write_text(GOOD_STORY, encoding="utf-8")
    (library / "two.txt").write_text(GOOD_STORY.replace("The Quiet Harbour", "The Loud Harbour"),
                                     encoding="utf-8")
    (library / "one" / "loop").symlink_to(library)
    (library / "outside").symlink_to("/etc")
    result = build(tmp_path, "library")
    assert result.returncode == 0, result.stderr
    warnings = warnings_in(result)
    assert any("outside" in w and "symbolic link to a folder" in w for w in warnings), result.stderr
    books = [name for name in output_files(tmp_path / "out") if name.endswith(".epub")]
    assert books == ["the-loud-harbour.epub", "the-quiet-harbour.epub"]


# --- no network ---------------------------------------------------------------------------------

def test_the_network_guard_refuses_outside_addresses_and_lets_loopback_through(monkeypatch):
    """The guard itself: an outside address is refused before anything is sent (the real connect is
    a recorder here, so even a broken guard sends nothing), loopback goes through."""
    guard = NetworkGuard(monkeypatch)
    reached = []
    guard.real["connect"] = lambda sock, address: reached.append(address)
    with socket.socket() as sock:
        with pytest.raises(ConnectionRefusedError):
            guard._guarded_method("connect")(sock, ("192.0.2.1", 80))
        guard._guarded_method("connect")(sock, ("127.0.0.1", 9))
    assert reached == [("127.0.0.1", 9)]
    with pytest.raises(ConnectionRefusedError):
        guard._getaddrinfo("example.org", 80)
    assert len(guard.attempts) == 2
    assert is_loopback(("::1", 80, 0, 0)) and is_loopback("localhost") and not is_loopback(("10.0.0.1", 1))


def test_an_svg_cover_with_external_references_is_refused_and_fetches_nothing(tmp_path, loopback_server):
    (tmp_path / "story.txt").write_text(GOOD_STORY, encoding="utf-8")
    (tmp_path / "cover.svg").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100" height="160">'
        f'<image xlink:href="{loopback_server.base}/pixel.png" width="100" height="160"/>'
        f'<style>@import url({loopback_server.base}/svg.css);</style><text>&xxe;</text></svg>\n',
        encoding="utf-8")
    result = build(tmp_path, "story.txt", "--cover", "cover.svg", to="epub,pdf")
    line = assert_one_line_error(result, 1, "cover.svg", tmp_path / "out")
    assert "SVG" in line and "JPEG or PNG" in line
    assert loopback_server.requests == [] and loopback_server.connections == []


def test_a_build_in_process_opens_no_socket(tmp_path, no_network):
    """The same build in this process, under the guard: a story full of addresses, a stylesheet
    importing one, both formats. The guard fails the test on any attempt; none is made."""
    from packager.build import BuildOptions, build_story
    from packager.read.sources import find_stories

    story = tmp_path / "story.txt"
    story.write_text(GOOD_STORY + "\nSee https://example.org/harbour and http://10.0.0.1/x.\n", encoding="utf-8")
    css = hostile_stylesheet(tmp_path, "https://example.org")
    options = BuildOptions(out_dir=tmp_path / "out", style=str(css), jobs=1, cache_dir=tmp_path / "cache")
    result = build_story(find_stories(story)[0], options)
    assert sorted(p.name for p in result.outputs) == ["the-quiet-harbour.epub", "the-quiet-harbour.pdf"]
    assert no_network.attempts == []
    assert any("example.org" in w for w in result.warnings)


@pytest.mark.slow
def test_a_build_behind_a_proxy_sends_the_proxy_nothing(tmp_path, loopback_server):
    """With a proxy pointing at the loopback server, a build still sends it nothing: nothing is
    fetched at all, not merely fetched through a proxy."""
    (tmp_path / "story.txt").write_text(GOOD_STORY + f"\nAt {loopback_server.base}/page, yes.\n",
                                        encoding="utf-8")
    hostile_stylesheet(tmp_path, "http://example.org")
    env = dict(os.environ, http_proxy=loopback_server.base, https_proxy=loopback_server.base,
               HTTP_PROXY=loopback_server.base, HTTPS_PROXY=loopback_server.base, NO_COLOR="1")
    result = subprocess.run([sys.executable, "-m", "packager", "build", "story.txt", "--style", "hostile.css",
                             "--out-dir", "out", "--jobs", "1"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert loopback_server.requests == [] and loopback_server.connections == []
