"""EPUBs every reader shows right, and metadata a library can sort (issue 14; issue 11's metadata):
languages from a registry, no made-up author, description, publisher or date, Gutenberg's own facts,
the NCX's real depth, accessibility conformance, a contents page a reader shows, the cover fitted to
the screen, ornaments in the markup, hyphenation, subset fonts, and Kobo's kepub."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import run_packager, shared
from test_epub import NS, epubcheck_messages, opf

from packager.detect.frontmatter import language_code

pytestmark = pytest.mark.slow  # builds books (PDF or EPUB) in every test

OPS_TYPE = "{http://www.idpf.org/2007/ops}type"


def read(book: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(book) as archive:
        return etree.fromstring(archive.read(name))


def properties(book: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in opf(book).find("opf:metadata", NS).findall("opf:meta", NS):
        if meta.get("property") and not meta.get("refines"):
            found.setdefault(meta.get("property"), []).append(meta.text)
    return found


def story(folder: Path, text: str, sidecar: str | None = None, name: str = "tale") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    if sidecar is not None:
        (folder / f"{name}.toml").write_text(sidecar, encoding="utf-8")
    return path


AUTHORLESS = "The Quiet Harbour\n\nChapter 1\n\nThe boats came in at dusk.\n\nChapter 2\n\nThe tide went out.\n"


# --- languages: a maintained registry, no guessing ---------------------------------------------------

@pytest.mark.parametrize("name, code", [("Esperanto", "eo"), ("Welsh", "cy"), ("Deutsch", "de"),
                                        ("English", "en"), ("español", "es"), ("EN", "en"), ("pt-br", "pt-BR")])
def test_a_language_name_or_tag_becomes_the_registry_code(name, code):
    assert language_code(name) == code  # the autouse guard fails this test if the registry goes online


@pytest.mark.parametrize("name", ["klingonish", "Englishxyz", "xx"])
def test_a_name_the_registry_does_not_know_is_not_cut_to_two_letters(name):
    assert language_code(name) == name


def test_a_sidecar_language_name_gives_its_code(tmp_path):
    source = story(tmp_path, AUTHORLESS, 'language = "Esperanto"\n')
    run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out")
    assert opf(tmp_path / "out" / "the-quiet-harbour.epub").findtext(".//dc:language", namespaces=NS) == "eo"


def test_an_unknown_sidecar_language_is_a_warning_and_english(tmp_path):
    source = story(tmp_path, AUTHORLESS, 'language = "klingonish"\n')
    result = run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out")
    assert "language 'klingonish' is neither a language code nor a language's name" in result.stderr
    assert opf(tmp_path / "out" / "the-quiet-harbour.epub").findtext(".//dc:language", namespaces=NS) == "en"


def test_a_language_name_on_the_command_line_gives_its_code(tmp_path):
    source = story(tmp_path, AUTHORLESS)
    run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out", "--language", "Welsh")
    assert opf(tmp_path / "out" / "the-quiet-harbour.epub").findtext(".//dc:language", namespaces=NS) == "cy"


def test_an_unknown_language_on_the_command_line_is_a_usage_error(tmp_path):
    source = story(tmp_path, AUTHORLESS)
    result = run_packager("build", source, "--out-dir", tmp_path / "out", "--language", "klingonish", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --language: 'klingonish' is neither a language code nor a language's name (en, fr, pt-BR, Welsh, …)"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_anthologys_language_by_name_gives_its_code(tmp_path):
    folder = tmp_path / "tales"
    story(folder, AUTHORLESS, name="one")
    story(folder, AUTHORLESS.replace("Quiet Harbour", "Second Tide"), name="two")
    (folder / "collection.toml").write_text('anthology = true\ntitle = "Tales"\nlanguage = "French"\n',
                                            encoding="utf-8")
    run_packager("build", folder, "--to", "epub", "--out-dir", tmp_path / "out")
    assert opf(tmp_path / "out" / "tales.epub").findtext(".//dc:language", namespaces=NS) == "fr"


# --- metadata a library can sort ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def authorless(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("authorless")
    source = story(folder, AUTHORLESS)
    run_packager("build", source, "--out-dir", folder / "out", "--jobs", "1")
    return folder / "out"


def test_a_book_without_an_author_has_no_creator_and_no_made_up_description_or_publisher(authorless):
    meta = opf(authorless / "the-quiet-harbour.epub").find("opf:metadata", NS)
    assert meta.findall("dc:creator", NS) == []
    assert meta.findall("dc:description", NS) == []
    assert meta.findall("dc:publisher", NS) == []


def test_a_book_without_an_author_has_no_author_line_on_its_title_page_or_cover(authorless):
    book = authorless / "the-quiet-harbour.epub"
    title_page = read(book, "EPUB/titlepage.xhtml")
    assert title_page.findall(".//x:p[@class='book-author']", NS) == []
    cover = read(book, "EPUB/cover.xhtml").find(".//{http://www.w3.org/2000/svg}svg")
    assert cover.get("aria-label") == cover.findtext("{http://www.w3.org/2000/svg}title") == "Cover of The Quiet Harbour"
    with zipfile.ZipFile(book) as archive:
        assert not [n for n in archive.namelist() if b"Unknown Author" in archive.read(n)]


def test_a_book_without_an_author_prints_none_in_its_pdf(authorless):
    import subprocess
    text = subprocess.run(["pdftotext", str(authorless / "the-quiet-harbour.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "the quiet harbour" in text.lower() and "unknown" not in text.lower()  # the title is in small caps
    import pikepdf
    with pikepdf.open(authorless / "the-quiet-harbour.pdf") as pdf:
        assert "/Author" not in pdf.docinfo


def test_a_book_without_a_date_is_dated_by_its_files_never_left_to_the_reader(tmp_path, monkeypatch):
    source = story(tmp_path, AUTHORLESS)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14, the build's date of the sources
    run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out")
    assert opf(tmp_path / "out" / "the-quiet-harbour.epub").findtext(".//dc:date", namespaces=NS) == "2023-11-14"


def test_gutenberg_release_date_ebook_number_and_translator_are_kept(tmp_path):
    run_packager("build", shared("corpus", "gutenberg", "war-and-peace.txt"), "--to", "epub", "--out-dir", tmp_path)
    book = tmp_path / "war-and-peace.epub"
    meta = opf(book).find("opf:metadata", NS)
    assert meta.findtext("dc:date", namespaces=NS) == "2009-01-10"  # "Posting Date: January 10, 2009 [EBook #2600]"
    assert meta.findtext("dc:source", namespaces=NS) == "https://www.gutenberg.org/ebooks/2600"
    translator = meta.find("dc:contributor", NS)
    assert translator.text == "Louise and Aylmer Maude"
    roles = {m.text for m in meta.findall("opf:meta", NS) if m.get("refines") == f"#{translator.get('id')}"}
    assert roles == {"trl"}
    title_page = read(book, "EPUB/titlepage.xhtml")
    assert title_page.findtext(".//x:p[@class='book-translator']", namespaces=NS) == \
        "Translated by Louise and Aylmer Maude"


def test_gutenberg_first_release_date_wins_over_its_posting_date(built_pride_and_prejudice):
    assert opf(built_pride_and_prejudice).findtext(".//dc:date", namespaces=NS) == "1998-06"  # "June, 1998"


@pytest.fixture(scope="module")
def built_pride_and_prejudice(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pride")
    run_packager("build", shared("corpus", "gutenberg", "pride-and-prejudice.txt"), "--to", "epub", "--out-dir", out)
    return out / "pride-and-prejudice.epub"


def test_the_ncx_depth_is_the_contents_depth(tmp_path, built_pride_and_prejudice):
    def depth(book: Path) -> str:
        return read(book, "EPUB/toc.ncx").find(".//ncx:meta[@name='dtb:depth']", NS).get("content")

    assert depth(built_pride_and_prejudice) == "1"
    run_packager("build", shared("corpus", "gutenberg", "war-and-peace.txt"), "--to", "epub", "--out-dir", tmp_path)
    assert depth(tmp_path / "war-and-peace.epub") == "2"  # books, then their chapters


def test_a_book_claims_epub_accessibility_conformance_with_its_certifier(built_pride_and_prejudice):
    found = properties(built_pride_and_prejudice)
    assert found["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert found["a11y:certifiedBy"] == ["packager"]


def test_a_book_with_a_users_stylesheet_makes_no_conformance_claim(tmp_path):
    source = story(tmp_path, AUTHORLESS)
    (tmp_path / "mine.css").write_text("p { color: #ccc; }\n", encoding="utf-8")
    run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out", "--style", tmp_path / "mine.css")
    found = properties(tmp_path / "out" / "the-quiet-harbour.epub")
    assert "dcterms:conformsTo" not in found and "schema:accessibilitySummary" in found


# --- what every reader shows ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    run_packager("build", Path(__file__).resolve().parents[1] / "stories", "--to", "epub", "--out-dir", out,
                 "--jobs", "1")
    return out


def test_the_cover_is_a_picture_scaled_to_the_screen_without_distortion(samples):
    book = samples / "the-night-ferry.epub"
    page = read(book, "EPUB/cover.xhtml")
    svg = page.find(".//{http://www.w3.org/2000/svg}svg")
    image = svg.find("{http://www.w3.org/2000/svg}image")
    assert (svg.get("width"), svg.get("height"), svg.get("preserveAspectRatio")) == ("100%", "100%", "xMidYMid meet")
    assert svg.get("viewBox") == f"0 0 {image.get('width')} {image.get('height')}" == "0 0 1600 2560"
    assert svg.get("role") == "img" and svg.get("aria-label") == "Cover of The Night Ferry by Ottoline Marsh"
    items = {i.get("href"): i for i in opf(book).find("opf:manifest", NS)}
    assert items["cover.xhtml"].get("properties") == "svg"
    with zipfile.ZipFile(book) as archive:
        css = archive.read("EPUB/styles/cover.css").decode()
    assert "height: 100%" in css.split("html, body {")[1].split("}")[0]  # the page is the screen's height


def test_the_contents_page_is_headed_contents_and_its_landmarks_are_hidden(samples):
    nav = read(samples / "the-lighthouse-keeper.epub", "EPUB/nav.xhtml")
    assert nav.findtext(".//x:nav[@epub:type='toc']/x:h2", namespaces=NS) == "Contents"
    assert nav.find(".//x:nav[@epub:type='landmarks']", NS).get("hidden") == "hidden"


def test_a_scene_break_is_an_ornament_in_the_text_with_a_name_for_screen_readers(samples):
    chapter = read(samples / "the-night-ferry.epub", "EPUB/chapter-001.xhtml")
    breaks = chapter.findall(".//x:p[@class='scene-break']", NS)
    assert breaks and all(b.text == "\u2042" for b in breaks)  # the classic theme's asterism
    assert all((b.get("role"), b.get("aria-label")) == ("separator", "Scene break") for b in breaks)
    assert chapter.findall(".//x:hr", NS) == []


def test_each_theme_sets_its_own_ornament_and_rule_gives_a_plain_rule(tmp_path):
    source = shared("seeds", "004_01959ef59ffa0e27.txt")
    run_packager("build", source, "--to", "epub", "--style", "garamond", "--out-dir", tmp_path / "g")
    run_packager("build", source, "--to", "epub", "--scene-break", "rule", "--out-dir", tmp_path / "r")

    def chapters(folder: Path) -> str:
        with zipfile.ZipFile(next(folder.glob("*.epub"))) as archive:
            return "".join(archive.read(n).decode() for n in archive.namelist() if "chapter-" in n)

    assert '<p class="scene-break" role="separator" aria-label="Scene break">\u2767</p>' in chapters(tmp_path / "g")
    ruled = chapters(tmp_path / "r")
    assert '<hr class="scene-break scene-break-rule"/>' in ruled and 'class="scene-break"' not in ruled


def test_every_note_region_of_a_chapter_has_its_own_name(samples):
    chapter = read(samples / "the-night-ferry.epub", "EPUB/chapter-001.xhtml")
    names = [s.get("aria-label") for s in chapter.iterfind(".//x:section[@role='doc-notice']", NS)]
    # the legend with the note under it is one note (issue 11), then the closing note
    assert names == ["Author’s note", "Author’s note 2"]


def test_justified_paragraphs_hyphenate_in_the_books_language(samples):
    book = samples / "the-lighthouse-keeper.epub"
    with zipfile.ZipFile(book) as archive:
        css = archive.read("EPUB/styles/book.css").decode()
    paragraph = css.split("\np {", 1)[1].split("}", 1)[0]
    for declaration in ("text-align: justify", "hyphens: auto", "-webkit-hyphens: auto", "-epub-hyphens: auto"):
        assert declaration in paragraph
    page = read(book, "EPUB/chapter-001.xhtml")
    assert page.get("lang") == page.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


# --- fonts: the faces the text uses, subset to what it shows --------------------------------------------

LIGHTHOUSE = Path(__file__).resolve().parents[1] / "stories" / "the-lighthouse-keeper.txt"  # has **bold**


@pytest.fixture(scope="module")
def garamond(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("garamond")
    run_packager("build", LIGHTHOUSE, shared("seeds", "002_70d5451547c23a5a.txt"), "--style", "garamond",
                 "--to", "epub", "--out-dir", out, "--jobs", "1")
    return out


def embedded(book: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as archive:
        return {n.rsplit("/", 1)[1]: archive.read(n) for n in archive.namelist() if n.startswith("EPUB/fonts/")}


def book_text(book: Path) -> str:
    with zipfile.ZipFile(book) as archive:
        return "".join("".join(read(book, n).itertext()) for n in archive.namelist()
                       if n.endswith(".xhtml") and n != "EPUB/cover.xhtml")


def test_a_book_with_bold_embeds_the_bold_face_and_one_without_does_not(garamond):
    assert set(embedded(garamond / "the-lighthouse-keeper.epub")) == {
        "EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf", "EBGaramond12-Bold.otf"}
    assert set(embedded(garamond / "walk-with-me.epub")) == {"EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf"}
    with zipfile.ZipFile(garamond / "the-lighthouse-keeper.epub") as archive:
        css = archive.read("EPUB/styles/book.css").decode()
    assert 'font-weight: bold;\n  src: url("../fonts/EBGaramond12-Bold.otf")' in css


def test_embedded_fonts_are_subset_yet_draw_every_character_of_the_book(garamond):
    from fontTools.ttLib import TTFont
    import io

    book = garamond / "the-lighthouse-keeper.epub"
    fonts = embedded(book)
    whole = sum(Path("/usr/share/fonts/opentype/ebgaramond", name).stat().st_size for name in fonts)
    assert sum(map(len, fonts.values())) < whole / 4  # 163 KB of 765 KB
    text = {c for c in book_text(book) if not c.isspace()}
    for name in ("EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf"):
        cmap = TTFont(io.BytesIO(fonts[name])).getBestCmap()
        whole_cmap = TTFont(Path("/usr/share/fonts/opentype/ebgaramond", name)).getBestCmap()
        assert {c for c in text if ord(c) in whole_cmap and ord(c) not in cmap} == set(), name
        assert len(cmap) < 300 < len(whole_cmap), name


def test_the_small_caps_survive_the_subset(garamond):
    from fontTools.ttLib import TTFont
    import io

    font = TTFont(io.BytesIO(embedded(garamond / "the-lighthouse-keeper.epub")["EBGaramond12-Regular.otf"]))
    assert "smcp" in {record.FeatureTag for record in font["GSUB"].table.FeatureList.FeatureRecord}


def test_subsetting_a_font_says_nothing_to_the_user(capsys):
    """fontTools notes each table it drops (EB Garamond's FontForge timestamp, `FFTM NOT subset`):
    nothing a reader needs, nothing for the user to act on."""
    from packager.render.epub import subset_font

    subset_font(Path("/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Regular.otf"), set("Marley was dead"))
    assert capsys.readouterr().err == ""


def test_apple_books_is_told_to_use_the_embedded_fonts(garamond, samples):
    root = opf(garamond / "the-lighthouse-keeper.epub")
    assert "ibooks: http://vocabulary.itunes.apple.com/rdf/ibooks/vocabulary-extensions-1.0/" in root.get("prefix")
    assert properties(garamond / "the-lighthouse-keeper.epub")["ibooks:specified-fonts"] == ["true"]
    assert "ibooks:specified-fonts" not in properties(samples / "the-lighthouse-keeper.epub")  # no fonts embedded


def test_a_garamond_book_with_subset_fonts_rebuilds_byte_identical_and_passes_epubcheck(garamond, tmp_path):
    run_packager("build", LIGHTHOUSE, "--style", "garamond", "--to", "epub", "--out-dir", tmp_path)
    again = tmp_path / "the-lighthouse-keeper.epub"
    assert again.read_bytes() == (garamond / "the-lighthouse-keeper.epub").read_bytes()
    assert epubcheck_messages(again) == []


# --- soft hyphens, for readers that do not hyphenate -------------------------------------------------

SHY = "\u00ad"


def documents(book: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(book) as archive:
        names = [n for n in archive.namelist() if n.endswith(".xhtml")]
    return {name: read(book, name) for name in names}


def text_of(book: Path) -> dict[str, str]:
    return {name: "".join(page.itertext()) for name, page in documents(book).items()}


@pytest.fixture(scope="module")
def soft_hyphenated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("soft")
    run_packager("build", shared("corpus", "gutenberg", "pride-and-prejudice.txt"), "--to", "epub,kepub",
                 "--soft-hyphens", "--out-dir", out)
    return out


def test_an_epub_has_no_soft_hyphen_unless_asked_for(samples):
    for book in samples.glob("*.epub"):
        assert all(SHY not in text for text in text_of(book).values()), book.name


def test_soft_hyphens_mark_the_pdfs_break_points_in_long_lower_case_words(soft_hyphenated):
    from packager.render.hyphenation import BookHyphenator

    text = "".join(text_of(soft_hyphenated / "pride-and-prejudice.epub").values())
    for word in ("uni\u00adver\u00adsally", "acknowl\u00adedged", "neigh\u00adbour\u00adhood",
                 "pos\u00adses\u00adsion"):  # US patterns, as the PDF has them (en_GB gives `ac-know-ledged`)
        assert word in text
    marked = set(re.findall(r"[^\W\d_]+(?:\u00ad[^\W\d_]+)+", text))
    assert len(marked) > 1000
    pdf = BookHyphenator("en", left=3, right=3)
    for word in marked:
        whole = word.replace(SHY, "")
        assert len(whole) >= 7 and whole[0].islower(), word
        pieces = word.split(SHY)
        assert len(pieces[0]) >= 3 and len(pieces[-1]) >= 3, word  # 3 letters at least on each side
        assert pdf.inserted(whole, SHY) == word


def test_names_and_capitalised_words_stay_whole(soft_hyphenated):
    text = "".join(text_of(soft_hyphenated / "pride-and-prejudice.epub").values())
    for name in ("Elizabeth", "Netherfield", "Longbourn", "Darcy", "Bingley"):
        assert name in text
    assert not re.search(r"[A-Z][^\W\d_]*\u00ad", text)


def test_soft_hyphens_are_the_only_change_to_the_text(soft_hyphenated, built_pride_and_prejudice):
    plain = text_of(built_pride_and_prejudice)
    marked = text_of(soft_hyphenated / "pride-and-prejudice.epub")
    assert marked.keys() == plain.keys()
    assert {name: text.replace(SHY, "") for name, text in marked.items()} == plain
    assert sum(text.count(SHY) for text in marked.values()) > 10000


def test_headings_contents_and_title_page_carry_no_soft_hyphen(soft_hyphenated):
    pages = documents(soft_hyphenated / "pride-and-prejudice.epub")
    for name in ("EPUB/nav.xhtml", "EPUB/titlepage.xhtml", "EPUB/cover.xhtml"):
        assert SHY not in "".join(pages[name].itertext()), name
    for name, page in pages.items():
        for heading in page.iter(*(f"{{{NS['x']}}}h{level}" for level in range(1, 7))):
            assert SHY not in "".join(heading.itertext()), name


def test_an_address_in_the_text_stays_whole_beside_hyphenated_words(tmp_path):
    run_packager("build", shared("realworld", "rentry-mha-double-date.md"), "--to", "epub", "--soft-hyphens",
                 "--out-dir", tmp_path)
    text = "".join(text_of(next(tmp_path.glob("*.epub"))).values())
    note = next(line for line in text.splitlines() if "MHAcmpl" in line)
    assert "https://rentry.org/MHAcmpl#provisional-hero-license-exams" in note
    assert f"fol{SHY}low{SHY}ing" in note


def test_a_sidecar_asks_for_soft_hyphens(tmp_path):
    source = story(tmp_path / "src", "The Quiet Harbour\n\nChapter 1\n\nThe fishermen remembered everything.\n",
                   sidecar="soft_hyphens = true\n")
    run_packager("build", source, "--to", "epub", "--out-dir", tmp_path / "out")
    text = "".join(text_of(tmp_path / "out" / "the-quiet-harbour.epub").values())
    assert f"fish{SHY}er{SHY}men remem{SHY}bered every{SHY}thing" in text


def test_a_language_without_hyphenation_patterns_gets_no_soft_hyphens(tmp_path):
    source = story(tmp_path / "src", "Y Porthladd Tawel\n\nPennod 1\n\nRoedd y pysgotwyr yn cofio popeth ynglŷn "
                   "â'r storm fawr.\n")  # Welsh: pyphen has no patterns for it
    run_packager("build", source, "--to", "epub", "--language", "cy", "--soft-hyphens", "--out-dir", tmp_path / "out")
    text = "".join(text_of(next((tmp_path / "out").glob("*.epub"))).values())
    assert "pysgotwyr" in text and SHY not in text


def test_soft_hyphenated_epub_and_kepub_pass_epubcheck(soft_hyphenated):
    books = sorted(soft_hyphenated.glob("*.epub"))
    assert [b.name for b in books] == ["pride-and-prejudice.epub", "pride-and-prejudice.kepub.epub"]
    assert {b.name: epubcheck_messages(b) for b in books} == {b.name: [] for b in books}


# --- Kobo: kepub ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kepubs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kepub")
    run_packager("build", Path(__file__).resolve().parents[1] / "stories", "--to", "epub,kepub", "--out-dir", out,
                 "--jobs", "1")
    return out


def test_kepub_is_written_beside_the_epub_and_passes_epubcheck(kepubs):
    books = sorted(p.name for p in kepubs.glob("*.kepub.epub"))
    assert books == ["a-small-kindness.kepub.epub", "harbour-tales.kepub.epub", "salt-and-starlight.kepub.epub",
                     "the-lighthouse-keeper.kepub.epub", "the-night-ferry.kepub.epub"]
    assert {name: epubcheck_messages(kepubs / name) for name in books} == {name: [] for name in books}


def test_kepub_wraps_each_body_in_kobos_columns_and_sets_every_sentence_in_a_kobo_span(kepubs):
    page = read(kepubs / "the-night-ferry.kepub.epub", "EPUB/chapter-001.xhtml")
    body = page.find("x:body", NS)
    assert [(e.tag.split("}")[1], e.get("id")) for e in body.iter() if e.get("id", "").startswith("book-")] == [
        ("div", "book-columns"), ("div", "book-inner")]
    assert body[0].get("id") == "book-columns" and len(body) == 1
    opening = page.find(".//x:p[@class='opening']", NS)
    assert [(s.get("id"), s.text) for s in opening.iter(f"{{{NS['x']}}}span") if s.get("class") == "koboSpan"] == [
        ("kobo.4.1", "The ticket office"),
        ("kobo.4.2", " at Carrick Pier closed at six, but the woman behind the glass did not seem to know it. "),
        ("kobo.4.3", "She was still there at a quarter to midnight, knitting something grey and endless, when Tomas "
                     "came down the hill with his collar up.")]
    style = page.find(".//x:head/x:style[@class='kobostylehacks']", NS)
    assert "div#book-inner" in style.text


def test_kepub_keeps_every_word_and_numbers_each_paragraphs_sentences_from_one(kepubs):
    with zipfile.ZipFile(kepubs / "the-lighthouse-keeper.epub") as archive:
        documents = [n for n in archive.namelist() if n.endswith(".xhtml") and "chapter-" in n]
    assert documents
    for name in documents:
        plain = read(kepubs / "the-lighthouse-keeper.epub", name).find("x:body", NS)
        kobo = read(kepubs / "the-lighthouse-keeper.kepub.epub", name).find("x:body", NS)
        assert "".join(kobo.itertext()) == "".join(plain.itertext()), name
        ids = [s.get("id") for s in kobo.iter(f"{{{NS['x']}}}span") if s.get("class") == "koboSpan"]
        assert len(ids) == len(set(ids)) > 10
        numbers = [tuple(map(int, i.split(".")[1:])) for i in ids]
        for (para, seg), (next_para, next_seg) in zip(numbers, numbers[1:]):
            assert (next_para, next_seg) in ((para, seg + 1), (para + 1, 1)), (name, para, seg, next_para, next_seg)


def test_kepub_alone_builds_no_plain_epub(tmp_path):
    run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "kepub", "--out-dir", tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.epub")) == ["walk-with-me.kepub.epub"]


def test_an_unknown_format_names_the_known_ones(tmp_path):
    result = run_packager("build", shared("seeds", "002_70d5451547c23a5a.txt"), "--to", "mobi", "--out-dir",
                          tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --to: unknown format 'mobi' (epub, pdf, kepub)"
