"""EPUB 3 through ebooklib, with the known traps of ebooklib 0.20 worked around:

- language, authors with their own ids, an explicit UTC `dcterms:modified`;
- a cover page of our own in the spine (ebooklib's `set_cover` page is non-linear and unlinked);
- TOC sections always with an href, never an empty label;
- body fragments only (ebooklib re-parses chapters and drops <head>); CSS attached as an item;
- `raise_exceptions=True`, NCX `playOrder`, and a final pass that adds `xml:lang` to <package> and
  rewrites the zip with fixed entry times and `mimetype` first and stored, so rebuilds are
  byte-identical.
"""

from __future__ import annotations

import html
import io
import logging
import re
import zipfile
from datetime import datetime
from pathlib import Path

from ebooklib import epub

from packager.model import Book
from packager.render.assets import FontFile, Theme, environment, styles_dir
from packager.render.cover import CoverImage
from packager.render.layout import Entry, front_blocks, note_group_names, plan, story_front_blocks

_W3C_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def file_as(name: str) -> str:
    """`Leo Tolstoy` -> `Tolstoy, Leo`; a single name stays as it is."""
    parts = name.split()
    if len(parts) < 2:
        return name
    return f"{parts[-1]}, {' '.join(parts[:-1])}"


_MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"), 1)}
_WORDED_DATE = re.compile(r"^(?:(?P<d1>\d{1,2})\s+)?(?P<month>[A-Za-z]+)\.?(?:\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?)?"
                          r",?\s+(?P<year>\d{4})$")
_SLASHED_DATE = re.compile(r"^(?P<year>\d{4})[/.](?P<month>\d{1,2})[/.](?P<day>\d{1,2})$")


def w3c_date(text: str | None) -> str | None:
    """A date as the OPF holds it (`2004-08-11`, `1998-06`, `2004`), from what stories and headers
    write: `2004-08-11`, `2004/08/11`, `August 11, 2004`, `11 August 2004`, `June, 1998`; None when
    it is none of these."""
    text = (text or "").strip()
    if _W3C_DATE.match(text):
        return text
    match = _SLASHED_DATE.match(text)
    if match:
        return f"{match['year']}-{int(match['month']):02d}-{int(match['day']):02d}"
    match = _WORDED_DATE.match(text)
    if match:
        month = _MONTHS.get(match["month"].lower()) or next(
            (n for name, n in _MONTHS.items() if len(match["month"]) >= 3 and name.startswith(match["month"].lower())),
            None)
        day = match["d1"] or match["d2"]
        if month is not None:
            return f"{match['year']}-{month:02d}" + (f"-{int(day):02d}" if day else "")
    return None


def _metadata(eb: epub.EpubBook, book: Book, has_cover: bool, modified: datetime, theme: Theme) -> None:
    """What a library sorts and shows, and nothing made up: no "Unknown Author", no generated
    description, no tool as the publisher; the date the text gives, else the day its files were last
    changed (so a reader never stamps its own import time as the publication date)."""
    meta = book.metadata
    eb.set_identifier(meta.identifier or "")
    eb.set_title(meta.title or "")
    eb.set_language(meta.language)
    for k, author in enumerate(meta.authors):
        uid = f"creator{k + 1}"
        eb.add_metadata("DC", "creator", author, {"id": uid})
        eb.add_metadata(None, "meta", file_as(author), {"refines": f"#{uid}", "property": "file-as"})
        eb.add_metadata(None, "meta", "aut", {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"})
    for k, translator in enumerate(meta.translators):
        uid = f"translator{k + 1}"
        eb.add_metadata("DC", "contributor", translator, {"id": uid})
        eb.add_metadata(None, "meta", "trl", {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"})
    if meta.description:
        eb.add_metadata("DC", "description", meta.description)
    for subject in meta.subjects:
        eb.add_metadata("DC", "subject", subject)
    if meta.publisher:
        eb.add_metadata("DC", "publisher", meta.publisher)
    if meta.source:
        eb.add_metadata("DC", "source", meta.source)
    if meta.rights:
        eb.add_metadata("DC", "rights", meta.rights)
    eb.add_metadata("DC", "date", w3c_date(meta.date) or modified.strftime("%Y-%m-%d"))
    if meta.series:
        eb.add_metadata(None, "meta", meta.series, {"property": "belongs-to-collection", "id": "series"})
        eb.add_metadata(None, "meta", "series", {"refines": "#series", "property": "collection-type"})
        eb.add_metadata(None, "meta", "", {"name": "calibre:series", "content": meta.series})
        if meta.series_index is not None:
            position = f"{meta.series_index:g}"
            eb.add_metadata(None, "meta", position, {"refines": "#series", "property": "group-position"})
            eb.add_metadata(None, "meta", "", {"name": "calibre:series_index", "content": position})
    if theme.fonts:  # Apple Books sets its own font over embedded ones unless told otherwise
        eb.add_prefix("ibooks", "http://vocabulary.itunes.apple.com/rdf/ibooks/vocabulary-extensions-1.0/")
        eb.add_metadata(None, "meta", "true", {"property": "ibooks:specified-fonts"})
    _accessibility(eb, has_cover, conforms=not theme.user_css)


ACCESSIBILITY_CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"


def _accessibility(eb: epub.EpubBook, has_cover: bool, conforms: bool) -> None:
    """EPUB Accessibility 1.1. Every book packager writes meets WCAG 2 AA as the EPUB Accessibility
    spec applies it (text with a language, headings and landmarks in reading order, a contents page,
    alternative text, no hazards, the theme's contrast), checked by DAISY Ace; a user's stylesheet
    could change colours or hide text, so a book with one makes no claim."""
    for mode in ["textual"] + (["visual"] if has_cover else []):
        eb.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    eb.add_metadata(None, "meta", "textual", {"property": "schema:accessModeSufficient"})
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
    for feature in features + (["alternativeText"] if has_cover else []):
        eb.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    eb.add_metadata(None, "meta", "none", {"property": "schema:accessibilityHazard"})
    summary = "A reflowable text with a navigable table of contents; every chapter is a heading in reading order"
    summary += ", and the cover image has a text alternative." if has_cover else "."
    eb.add_metadata(None, "meta", summary, {"property": "schema:accessibilitySummary"})
    if conforms:
        eb.add_metadata(None, "meta", ACCESSIBILITY_CONFORMANCE, {"property": "dcterms:conformsTo"})
        eb.add_metadata(None, "meta", "packager", {"property": "a11y:certifiedBy"})


def _html(uid: str, file_name: str, title: str, lang: str, body: str, css: epub.EpubItem) -> epub.EpubHtml:
    item = epub.EpubHtml(uid=uid, file_name=file_name, title=title or "Untitled", lang=lang)
    item.content = body
    item.add_item(css)
    return item


def build_epub(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime,
               soft_hyphens: bool = False) -> bytes:
    """The EPUB file's bytes; the same book, theme, cover and date always give the same bytes. With
    `soft_hyphens`, its running text carries soft hyphens (see `softhyphens`)."""
    env = environment()
    meta = book.metadata
    lang = meta.language
    eb = epub.EpubBook()
    _metadata(eb, book, cover is not None, modified, theme)
    css = epub.EpubItem(uid="style", file_name="styles/book.css", media_type="text/css")  # content below
    eb.add_item(css)
    documents: list[str] = [meta.title or "", "Contents"]  # what the book shows, for the fonts' subsets
    embedded: list[FontFile] = []
    spine: list = []
    guide: list[dict[str, str]] = []
    if cover is not None:
        image_name = f"images/cover.{cover.extension}"
        eb.set_cover(image_name, cover.data, create_page=False)
        cover_css = epub.EpubItem(uid="cover-style", file_name="styles/cover.css", media_type="text/css",
                                  content=(styles_dir() / "cover.css").read_bytes())
        eb.add_item(cover_css)
        page = _html("cover", "cover.xhtml", "Cover", lang, env.get_template("cover.xhtml.j2").render(
            src=image_name, meta=meta, width=cover.width, height=cover.height), cover_css)
        page.properties.append("svg")
        eb.add_item(page)
        spine.append(page)
        guide.append({"type": "cover", "href": "cover.xhtml", "title": "Cover"})
    title_page = _html("titlepage", "titlepage.xhtml", meta.title or "Title page", lang,
                       env.get_template("titlepage.xhtml.j2").render(meta=meta), css)
    eb.add_item(title_page)
    documents.append(title_page.content)
    spine.append(title_page)
    nav = epub.EpubNav(uid="nav", file_name="nav.xhtml")
    nav.add_item(css)
    eb.add_item(nav)
    eb.add_item(epub.EpubNcx())
    spine.append("nav")
    guide.append({"type": "toc", "href": "nav.xhtml", "title": "Contents"})

    sequence, outline = plan(book)
    chapter_files = {e.index: e.file for e in sequence if e.kind == "chapter"}
    chapter_names = note_group_names(book, sequence)
    backlinks = {i: f for i, f in chapter_files.items()} | {-1: None}
    for entry in sequence:
        if entry.kind == "front":
            body = env.get_template("front.xhtml.j2").render(blocks=front_blocks(book), heading=entry.title,
                                                              anchor=entry.anchor, partition="frontmatter",
                                                              ornament=theme.ornament)
        elif entry.kind == "back":
            body = env.get_template("front.xhtml.j2").render(blocks=book.back_matter, heading=entry.title,
                                                              anchor=entry.anchor, partition="backmatter",
                                                              ornament=theme.ornament)
        elif entry.kind == "part":
            body = env.get_template("part.xhtml.j2").render(anchor=entry.anchor, title=entry.title)
        elif entry.kind == "story":
            head = book.stories[entry.index]
            body = env.get_template("story.xhtml.j2").render(head=head, blocks=story_front_blocks(head),
                                                              anchor=entry.anchor, notes_href="endnotes.xhtml",
                                                              ornament=theme.ornament)
        elif entry.kind == "chapter":
            body = env.get_template("chapter.xhtml.j2").render(
                chapter=entry.chapter, anchor=entry.anchor, fallback=entry.title,
                notes_href="endnotes.xhtml", running_title=entry.title, ornament=theme.ornament)
        else:
            body = env.get_template("endnotes.xhtml.j2").render(book=book, chapter_hrefs=backlinks,
                                                                  chapter_names=chapter_names)
        item = _html(entry.anchor, entry.file, entry.title, lang, body, css)
        eb.add_item(item)
        spine.append(item)
        documents += [body, entry.title]
    first_text = next((e for e in sequence if e.kind in ("chapter", "part", "story")), None)
    if first_text is not None:
        guide.append({"type": "text", "href": first_text.file, "title": "Start of the story"})
    for font, data in embedded_fonts(theme.fonts, documents):
        eb.add_item(epub.EpubItem(uid=f"font-{font.path.stem}", file_name=f"fonts/{font.path.name}",
                                  media_type=font.media_type, content=data))
        embedded.append(font)
    font_faces = env.get_template("font-face.css.j2").render(fonts=embedded) if embedded else ""
    css.content = (font_faces + theme.epub_css +
                   ("\n/* the user's stylesheet */\n" + theme.user_css_epub if theme.user_css else "")).encode("utf-8")
    eb.toc = [_toc_item(entry) for entry in outline]
    eb.spine = spine
    eb.guide = guide

    buffer = io.BytesIO()
    epub.write_epub(buffer, eb, {
        "mtime": modified,
        "play_order": {"enabled": True, "start_from": 1},
        "raise_exceptions": True,
        "epub3_pages": False,
        "landmark_title": "Landmarks",
        "compresslevel": 0,  # the normalising pass compresses once
    })
    depth = 2 if any(entry.children for entry in outline) else 1
    data = _normalised_zip(buffer.getvalue(), lang, depth)
    if soft_hyphens:
        from packager.render.softhyphens import soft_hyphenated_epub
        data = soft_hyphenated_epub(data, lang)
    return data


_BOLD = re.compile(r"<(?:strong|b)\b")  # headings are set in the regular weight
_TAG = re.compile(r"<[^>]*>")
# Characters a reader may draw that the text does not hold: its own hyphens when it hyphenates, list
# numbers, and both cases of every letter (themes set labels in capitals or small caps).
_ALWAYS = " \u00a0-\u2010\u00ad0123456789.,:;!?()[]'\"\u2018\u2019\u201c\u201d\u2026\u2013\u2014*"


def embedded_fonts(fonts: list[FontFile], documents: list[str]) -> list[tuple[FontFile, bytes]]:
    """The theme's font files as the book needs them: each face the text uses (the bold face only when
    the text has bold), subset to the characters the book shows, with their OpenType features (small
    caps, ligatures) kept. EB Garamond's two faces are about 400 KB whole, some 60 KB subset."""
    markup = "".join(documents)
    text = html.unescape(_TAG.sub(" ", markup)) + _ALWAYS
    characters = set(text) | {c.upper() for c in text} | {c.lower() for c in text}
    uses_bold = bool(_BOLD.search(markup))
    return [(font, subset_font(font.path, characters)) for font in fonts
            if uses_bold or font.weight not in ("bold", "700", "800", "900")]


def subset_font(path: Path, characters: set[str]) -> bytes:
    """A font file with only the glyphs for `characters` (and the glyphs the features a reader applies
    reach from them: ligatures, kerning, small caps);
    the same input always gives the same bytes (the file's own timestamp is kept)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = [*options.layout_features, "smcp", "c2sc"]  # the defaults and small caps
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    font = TTFont(str(path), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={ord(c) for c in characters})
    # fontTools warns of each table it drops as unknown (`FFTM NOT subset`): nothing a reader needs,
    # and nothing for the user to act on
    logger = logging.getLogger("fontTools.subset")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        subsetter.subset(font)
    finally:
        logger.setLevel(level)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _toc_item(entry: Entry):
    if entry.children:
        return (epub.Section(entry.title, href=entry.file), [_toc_item(child) for child in entry.children])
    return epub.Link(entry.file, entry.title, entry.anchor)


def _normalised_zip(data: bytes, lang: str, depth: int) -> bytes:
    """Rewrite the archive reproducibly: `mimetype` first and stored, fixed times and permissions,
    entries in a fixed order; add `xml:lang` to the package element ebooklib leaves without it, the
    NCX's real depth (ebooklib writes 0), and a contents page a reader can show (see `_readable_nav`)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    order = ["mimetype"] + sorted(n for n in names if n != "mimetype")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in order:
            content = source.read(name)
            if name.endswith(".opf"):
                content = _with_package_lang(content, lang)
            elif name.endswith(".ncx"):
                content = re.sub(rb'<meta content="0" name="dtb:depth"/>',
                                 b'<meta content="%d" name="dtb:depth"/>' % depth, content, count=1)
            elif name.endswith("/nav.xhtml"):
                content = _readable_nav(content)
            elif name.endswith("/cover.xhtml"):  # ebooklib's HTML parser lowercases SVG attribute names
                content = content.replace(b" viewbox=", b" viewBox=").replace(
                    b" preserveaspectratio=", b" preserveAspectRatio=")
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def _readable_nav(nav: bytes) -> bytes:
    """The nav document is the book's contents page, in the reading order: headed "Contents" (ebooklib
    heads it with the book's title), its landmarks list `hidden` (it is for the reading system's
    menus, not a page to read)."""
    from lxml import etree

    root = etree.fromstring(nav)
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    for heading in root.xpath("//x:nav[@epub:type='toc']/x:h2", namespaces=ns):
        heading.text = "Contents"
        heading.set("class", "contents-heading")
    for landmarks in root.xpath("//x:nav[@epub:type='landmarks']", namespaces=ns):
        landmarks.set("hidden", "hidden")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def _with_package_lang(opf: bytes, lang: str) -> bytes:
    text = opf.decode("utf-8")
    if "xml:lang=" not in text.split("<metadata", 1)[0]:
        text = re.sub(r"<package\b", f'<package xml:lang="{lang}"', text, count=1)
    return text.encode("utf-8")
