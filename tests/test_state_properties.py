"""Property-based tests of the state a build reads back and the settings it is handed: whatever a
manifest, a chunk-cache entry, a stylesheet folder, a stylesheet or a page size holds, the build
removes nothing outside the output folder, serves no cache entry that does not verify, reads no file
linked from outside the stylesheet's folder, and ends in a book or one PackagerError.

(`benchmarks/soak.py --signals` stops real builds at random points and compares the rebuild with a
clean build; `benchmarks/fuzz_reader.py --target manifest|sidecar` fuzzes the same readers.)
"""

from __future__ import annotations

import io
import json
import os
import string
import subprocess
import tempfile
from pathlib import Path

import pikepdf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from packager.batch import _stylesheet_files, _Writer
from packager.errors import PackagerError
from packager.manifest import MANIFEST_NAME, Entry, read_manifest
from packager.render.assets import MAX_PAGE_MM, MIN_TEXT_HEIGHT_MM, MIN_TEXT_WIDTH_MM, load_theme, page_geometry
from packager.render.pdf import _Rendered, _verified
import pytest

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

FAST = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])

# --- hostile manifests --------------------------------------------------------------------------

# Names a tampered manifest might hold: escapes, absolute paths, the folder's own files, good names.
NAMES = st.one_of(
    st.sampled_from(["../victim.txt", "/tmp/victim.txt", "..", ".", "", "covers/../../victim.txt", "index.html",
                     ".packager-manifest.json", "covers", "alpha.epub", "alpha.pdf", "alpha.notes.txt",
                     "covers/alpha.jpg", "beta.epub", "alpha/../../victim.txt", "alpha.epub\0", "ALPHA.EPUB"]),
    st.text(alphabet=string.ascii_lowercase + "./-\\\0~", max_size=20),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | NAMES,
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=4),
                    max_leaves=12)
FIELDS = ["title", "authors", "language", "identifier", "description", "series", "series_index", "chapters", "words",
          "notes_found", "notes_removed", "anthology", "key", "slug", "outputs", "warnings", "seconds", "cover",
          "built"]


@st.composite
def entries(draw) -> dict:
    """A manifest entry: a good one with some fields replaced by anything JSON can hold."""
    entry = {"title": "Alpha", "authors": ["A"], "key": "k", "slug": "alpha", "outputs": ["alpha.epub"],
             "cover": "covers/alpha.jpg"}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        entry[name] = draw(st.one_of(JSON, NAMES, st.lists(NAMES, max_size=3)))
    return entry


def owned(out: Path, entry: Entry) -> set[Path]:
    """The files an entry may name: its slug's own outputs and cover, inside the output folder."""
    names = {f"{entry.slug}.{suffix}" for suffix in ("epub", "pdf", "notes.txt")}
    names |= {f"covers/{entry.slug}.{suffix}" for suffix in ("jpg", "png")}
    return {out / name for name in names}


@settings(max_examples=150, **FAST)
@given(st.dictionaries(st.text(max_size=12), entries() | JSON, max_size=4))
def test_a_manifest_of_any_shape_gives_only_entries_that_name_their_own_files(books):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        out.mkdir()
        (out / MANIFEST_NAME).write_text(json.dumps({"format": 1, "books": books}), encoding="utf-8")
        for entry in read_manifest(out).values():
            named = {out / name for name in entry.outputs} | ({out / entry.cover} if entry.cover else set())
            assert named <= owned(out, entry)
            assert all(os.path.abspath(path).startswith(str(out) + os.sep) for path in named)


@settings(max_examples=150, **FAST)
@given(st.lists(entries(), min_size=1, max_size=4), st.sampled_from(["gamma", "alpha", "alpha-2"]))
def test_removing_a_retitled_book_never_touches_a_file_it_does_not_own(tmp_path_factory, books, new_slug):
    root = tmp_path_factory.mktemp("remove")
    out = root / "out"
    (out / "covers").mkdir(parents=True)
    sentinels = [root / "victim.txt", out / "index.html", out / "beta.epub", out / MANIFEST_NAME]
    for path in sentinels[:-1]:
        path.write_text("keep", encoding="utf-8")
    (out / MANIFEST_NAME).write_text(json.dumps({"books": {f"/s/{n}.txt": e for n, e in enumerate(books)}}),
                                     encoding="utf-8")
    manifest = read_manifest(out)
    writer = _Writer(out, manifest, True, set(manifest))
    for source in manifest:
        writer._remove_stale(source, writer._claim(new_slug, source))
    assert all(path.exists() for path in sentinels)


# --- hostile chunk-cache entries ------------------------------------------------------------------

def pdf_of(pages: int) -> bytes:
    document = pikepdf.Pdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(420, 595))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


THREE_PAGES = pdf_of(3)
META = st.fixed_dictionaries({
    "pages": st.one_of(st.integers(-2, 5), st.just(1_000_000), JSON),
    "anchors": st.one_of(st.dictionaries(st.text(max_size=6), st.one_of(
        st.lists(st.one_of(st.integers(-1, 5), st.floats()), min_size=0, max_size=3), JSON), max_size=3), JSON),
    "refused": st.one_of(st.lists(st.text(max_size=5), max_size=2), JSON),
    "blanks": st.one_of(st.lists(st.integers(-1, 5), max_size=3), JSON),
})


@settings(max_examples=150, **FAST)
@given(st.one_of(META.map(lambda m: json.dumps(m).encode()), st.binary(max_size=200)),
       st.one_of(st.just(THREE_PAGES), st.binary(max_size=300), st.just(THREE_PAGES[: len(THREE_PAGES) // 2])))
def test_a_cache_entry_is_served_only_when_it_verifies(meta, pdf):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "k.json").write_bytes(meta)
        (Path(folder) / "k.pdf").write_bytes(pdf)
        rendered = _verified(Path(folder) / "k.json", Path(folder) / "k.pdf")
    if rendered is None:
        return
    assert isinstance(rendered, _Rendered)
    assert len(pikepdf.open(io.BytesIO(rendered.data)).pages) == rendered.pages
    assert all(0 <= index < rendered.pages for index, _ in rendered.anchors.values())
    assert all(0 <= blank < rendered.pages for blank in rendered.blanks)


# --- symbolic links beside a stylesheet -----------------------------------------------------------

@settings(max_examples=100, **FAST)
@given(st.lists(st.tuples(st.sampled_from(["pic.png", "x.css", "font.ttf", "sub/pic.png", "a.jpg"]),
                          st.sampled_from(["file", "link inside", "link outside", "link to folder", "dangling"])),
                max_size=6, unique_by=lambda t: t[0]))
def test_a_worker_is_sent_no_file_linked_from_outside_the_stylesheet_folder(tmp_path_factory, layout):
    root = tmp_path_factory.mktemp("links")
    outside, styles = root / "outside", root / "styles"
    outside.mkdir()
    (styles / "sub").mkdir(parents=True)
    (outside / "secret.png").write_bytes(b"secret")
    (styles / "real.png").write_bytes(b"ours")
    css = styles / "mine.css"
    css.write_text("p { color: red }", encoding="utf-8")
    for name, kind in layout:
        path = styles / name
        if kind == "file":
            path.write_bytes(b"ours")
        elif kind == "link inside":
            path.symlink_to(styles / "real.png")
        elif kind == "link outside":
            path.symlink_to(outside / "secret.png")
        elif kind == "link to folder":
            path.symlink_to(outside)
        else:
            path.symlink_to(root / "missing.png")
    sent = _stylesheet_files(css)
    assert sent[0] == css
    for path in sent:
        assert styles.resolve() in path.resolve().parents
        assert path.read_bytes() != b"secret"


# --- stylesheets and page sizes -------------------------------------------------------------------

CSS_PIECES = st.sampled_from([
    "p { break-before: page; }", "h1, h2 { break-before: auto !important; }", "body { columns: 3; }",
    "p { float: left; width: 10%; }", "@page { size: 1mm 1mm; }", "@page { margin: 0; }", "p { font-size: 0; }",
    "body { display: flex; }", "p { position: absolute; }", "html { font-size: 80px; }",
    "@import 'x.css';", "p { background: url(../../etc/passwd); }", "p::before { content: '\\0'; }",
    "}}}{{{", "@media print { p { color: red } }", "p { white-space: pre; }", "p { hyphens: none; }",
    ":not(:not(:not(p))) { color: blue }", "@font-face { font-family: x; src: url(missing.ttf); }",
])


@settings(max_examples=200, **FAST)
@given(st.lists(st.one_of(CSS_PIECES, st.text(max_size=30)), max_size=8))
def test_any_stylesheet_gives_a_theme_or_one_packager_error(tmp_path_factory, pieces):
    sheet = tmp_path_factory.mktemp("css") / "mine.css"
    sheet.write_text("\n".join(pieces), encoding="utf-8", errors="surrogatepass")
    try:
        theme = load_theme(str(sheet))
    except PackagerError:
        return
    assert theme.user_css_path == sheet.resolve()


@settings(max_examples=6, **FAST)
@given(st.lists(CSS_PIECES, min_size=1, max_size=4))
@example(pieces=["p { break-before: page; }", "@page { size: 1mm 1mm; }", "@page { margin: 0; }"])  # too small a page
def test_a_book_with_any_stylesheet_gives_a_pdf_with_every_chapter_heading_or_one_packager_error(tmp_path_factory, pieces):
    from packager.build import BuildOptions, render_story
    from packager.read.sources import find_stories

    folder = tmp_path_factory.mktemp("book")
    story = folder / "story.txt"
    story.write_text("Story\n\n" + "".join(f"Chapter {n}\n\nThe words of chapter {n}.\n\n" for n in (1, 2, 3)),
                     encoding="utf-8")
    sheet = folder / "mine.css"
    sheet.write_text("\n".join(pieces), encoding="utf-8")
    options = BuildOptions(formats=("pdf",), style=str(sheet), jobs=1, cache_dir=folder / "cache",
                           source_date_epoch=0)
    try:
        rendered = render_story(find_stories(story)[0], options)
    except PackagerError:
        return
    pdf = folder / "story.pdf"
    pdf.write_bytes(rendered.files["pdf"])
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert all(f"Chapter{n}" in text for n in (1, 2, 3)), text[:300]


@settings(max_examples=500, **FAST)
@given(st.floats(0, 1e7, allow_nan=False), st.floats(0, 1e7, allow_nan=False), st.sampled_from(["mm", "cm", "in"]))
def test_a_page_size_is_refused_or_leaves_room_for_text_within_the_pdf_limit(width, height, unit):
    option = f"{width:.2f}x{height:.2f}{unit}"
    try:
        geometry = page_geometry(option)
    except PackagerError as error:
        assert error.usage
        return
    scale = {"mm": 1, "cm": 10, "in": 25.4}[unit]
    w, h = float(f"{width:.2f}") * scale, float(f"{height:.2f}") * scale
    assert w <= MAX_PAGE_MM and h <= MAX_PAGE_MM
    assert w - geometry.inner - geometry.outer >= MIN_TEXT_WIDTH_MM
    assert h - geometry.top - geometry.bottom >= MIN_TEXT_HEIGHT_MM
