"""Soft hyphens (U+00AD) in an EPUB's running text, for reading systems that do not hyphenate.

The EPUB's stylesheet asks for `hyphens: auto` with the book's language, which Apple Books, Kobo's
kepub reader, KOReader and Readium-based readers honour with their own dictionaries. Others break
lines only where the text itself allows it: a Kindle book converted to AZW3, Adobe's RMSDK (Kobo's
reader for plain `.epub`), small e-ink readers. For them `--soft-hyphens` marks the break points
with the dictionary and rules the PDF uses (`hyphenation.BookHyphenator`: US patterns for English,
capitalised words left whole), at least 3 letters on each side. It is not the default: a soft hyphen
is a character of the text, and screen readers (JAWS, VoiceOver), dictionary look-ups and some
readers' searches stumble over it. So only what needs it gets one:

- words of 7 letters or more, in lower case (never a name or a sentence's capitalised first word);
- in the paragraphs of the story, its notes and end notes (`<p>` without a class, or the chapter's
  `p.opening`); never in headings, the title page, the contents, link text, or a token that reads as
  an address (`://`, `www.`, `@`, a dot between letters: `example.com`).

Made from the EPUB's bytes, entry for entry, so the book stays as valid and reproducible as before.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyphen
from lxml import etree

from packager.render.hyphenation import BookHyphenator, _dictionary
from packager.render.kepub import rewrite_documents

XHTML = "http://www.w3.org/1999/xhtml"
SOFT_HYPHEN = "\u00ad"
MIN_LETTERS = 7
_UNTOUCHED = ("nav.xhtml", "cover.xhtml", "titlepage.xhtml")
_HYPHENATED_CLASSES = {None, "opening"}  # story paragraphs; the others are labels, ornaments, title lines
_SKIPPED = {"a", "code", "kbd", "samp", "pre", "script", "style", "abbr"}
_TOKEN = re.compile(r"\S+")
_ADDRESS = re.compile(r"://|^www\.|@|[^\W\d_]\.[^\W\d_]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{%d,}" % MIN_LETTERS)


@lru_cache(maxsize=8)
def hyphenator(lang: str) -> BookHyphenator | None:
    """The book's hyphenator, or None for a language pyphen has no patterns for."""
    if pyphen.language_fallback(_dictionary(lang).replace("-", "_")) is None:
        return None
    return BookHyphenator(lang=lang, left=3, right=3)


def soft_hyphenate(text: str, dictionary: BookHyphenator) -> str:
    """`text` with soft hyphens at the break points of its long lower-case words; addresses whole."""
    def token(match: re.Match) -> str:
        if _ADDRESS.search(match.group()):
            return match.group()
        return _WORD.sub(lambda word: dictionary.inserted(word.group(), SOFT_HYPHEN), match.group())

    return _TOKEN.sub(token, text)


def soft_hyphenated_epub(data: bytes, lang: str) -> bytes:
    """The EPUB with soft hyphens in its running text; unchanged for a language with no patterns."""
    dictionary = hyphenator(lang)
    if dictionary is None:
        return data
    return rewrite_documents(data, lambda content: _document(content, dictionary), _UNTOUCHED)


def _document(document: bytes, dictionary: BookHyphenator) -> bytes:
    root = etree.fromstring(document)
    for paragraph in root.iter(f"{{{XHTML}}}p"):
        if paragraph.get("class") in _HYPHENATED_CLASSES:
            _paragraph(paragraph, dictionary)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def _paragraph(element: etree._Element, dictionary: BookHyphenator) -> None:
    if element.text:
        element.text = soft_hyphenate(element.text, dictionary)
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname not in _SKIPPED:
            _paragraph(child, dictionary)
        if child.tail:
            child.tail = soft_hyphenate(child.tail, dictionary)
