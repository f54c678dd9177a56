"""PDF through WeasyPrint, from the same chapter markup and theme as the EPUB plus the print layer.

The renderer only reads the book's own files (theme folders, the user's stylesheet folder) and data:
URIs: a stylesheet or story pointing at a remote address gets nothing fetched.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import datetime

from packager import __version__
from packager.model import Book
from packager.render.assets import Theme, environment, styles_dir
from packager.render.cover import CoverImage
from packager.render.fetcher import LocalOnlyFetcher
from packager.render.layout import front_blocks, plan


@dataclass
class PdfResult:
    data: bytes
    refused_urls: list[str] = field(default_factory=list)


def book_html(book: Book, cover: CoverImage | None, modified: datetime) -> str:
    """The whole book as one HTML document: cover, title page, contents, chapters, endnotes."""
    sequence, outline = plan(book)
    cover_uri = None
    if cover is not None:
        cover_uri = f"data:{cover.media_type};base64,{base64.b64encode(cover.data).decode('ascii')}"
    chapter_names = {e.index: e.title for e in sequence if e.kind == "chapter"} | {-1: "Before the story"}
    endnote_hrefs = {e.index: "" for e in sequence if e.kind == "chapter"} | {-1: None}
    return environment().get_template("book.html.j2").render(
        book=book, meta=book.metadata, cover=cover_uri, sequence=sequence, outline=outline,
        front_blocks=front_blocks(book), chapter_names=chapter_names, endnote_hrefs=endnote_hrefs,
        modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"), version=__version__,
    )


def build_pdf(book: Book, theme: Theme, cover: CoverImage | None, modified: datetime) -> PdfResult:
    import weasyprint  # imported here: it is slow to import and only the PDF needs it

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = LocalOnlyFetcher(theme.roots or [styles_dir()])
    base_url = styles_dir().as_uri() + "/"
    html = weasyprint.HTML(string=book_html(book, cover, modified), base_url=base_url, url_fetcher=fetcher)
    stylesheets = [weasyprint.CSS(string=theme.epub_css, base_url=base_url, url_fetcher=fetcher),
                   weasyprint.CSS(string=theme.print_css, base_url=base_url, url_fetcher=fetcher)]
    if theme.user_css_path is not None:
        stylesheets.append(weasyprint.CSS(string=theme.user_css, base_url=theme.user_css_path.as_uri(),
                                          url_fetcher=fetcher))
    data = html.write_pdf(stylesheets=stylesheets, uncompressed_pdf=False)
    return PdfResult(data, list(fetcher.refused))
