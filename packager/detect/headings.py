"""Heading rules: each a named, pure function from one line to a HeadingMatch or None.

A match says what the line would be if it is a heading; the structure pass then decides, from the
headings around it, whether it really is one (a contents list repeats every heading with no text
between them), and whether a heading opens a part or a chapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from packager.detect.numbers import NUMBER, ordinal_to_int, parse_number
from packager.detect.options import DetectOptions

HeadingLevel = Literal["part", "chapter", "front"]

MAX_HEADING_LENGTH = 100
_SEPARATOR = r"\s*(?:[:.\-\u2013\u2014)]+\s*|\s+(?-i:(?=[A-Z\"'\u201c\u2018(])))"


@dataclass(frozen=True)
class HeadingMatch:
    """What a heading line says: its level, the numbering part as printed, the number, the title."""

    level: HeadingLevel
    label: str | None
    number: int | None
    title: str | None
    rule: str
    # Headings of one family (same rule and keyword) number one sequence; families help tell a
    # contents list and sub-sections from real chapters.
    family: str


def _clean_title(title: str | None) -> str | None:
    if title is None:
        return None
    title = title.strip().strip("*_#").strip()
    if title.startswith("(") and title.endswith(")") and "(" not in title[1:]:
        title = title[1:-1].strip()  # `Chapter 17 (Epilogue)`
    title = re.sub(r"\s+", " ", title)
    return title or None


_CHAPTER_WORDS = r"chapter|chap\.?|ch\.?|stave|adventure|episode|section|story|letter|canto|act"
_PART_WORDS = r"book|part|volume|vol\.?|season"
_NUMBERED = re.compile(
    rf"^(?P<label>(?P<word>{_CHAPTER_WORDS}|{_PART_WORDS})\s+(?P<num>{NUMBER}))\b(?:{_SEPARATOR}(?P<title>.*))?$",
    re.IGNORECASE,
)


def numbered_heading(line: str) -> HeadingMatch | None:
    """`Chapter 7`, `Chapter 1: Title`, `CHAPTER I.`, `Chapter Twenty-Three`, `Ch. 4 - Title`,
    `STAVE I: MARLEY'S GHOST`, `ADVENTURE I. A SCANDAL IN BOHEMIA`; `Book`/`Part`/`Volume` give parts."""
    match = _NUMBERED.match(line)
    if not match:
        return None
    number = parse_number(match["num"])
    if number is None:
        return None
    word = match["word"].lower().rstrip(".")
    title = _clean_title(match["title"])
    if re.match(_PART_WORDS, word, re.IGNORECASE):
        return HeadingMatch("part", match["label"].strip(), number, title, "numbered_heading",
                            f"part:{word[:4]}")
    family = "chapter" if word in ("chapter", "chap", "ch") else word
    return HeadingMatch("chapter", match["label"].strip(), number, title, "numbered_heading", family)


_NAMED = re.compile(
    r"^(?:(?P<ordinal>first|second|third|fourth|fifth|final|last)\s+)?"
    r"(?P<word>prologue|epilogue|interlude|omake|afterword|foreword|preface|introduction|intermission)"
    rf"\b(?:{_SEPARATOR}(?P<title>.*))?$",
    re.IGNORECASE,
)
_FRONT_WORDS = {"foreword", "preface", "introduction"}


def named_section(line: str) -> HeadingMatch | None:
    """`Prologue`, `Epilogue: Title`, `Interlude`, `Omake`, `SECOND EPILOGUE`; `Preface`, `Foreword`
    and `Introduction` are front matter when they stand before the first chapter."""
    match = _NAMED.match(line)
    if not match:
        return None
    word = match["word"].lower()
    title = _clean_title(match["title"])
    label = line[: match.start("title")].strip(" :.-\u2013\u2014") if match["title"] else line.strip()
    label = _clean_title(label)
    number = ordinal_to_int(match["ordinal"]) if match["ordinal"] else None
    if title is not None and re.fullmatch(r"(?:[IVXLC]{1,6}|\d{1,3})[:.]?", title):
        title = title.rstrip(":.")
        label, title = f"{label} {title}", None  # `Interlude I`: an index of its own series, not a title
    if title is None:
        title = label  # `Prologue` is the section's name: its title as much as its label
    level: HeadingLevel = "front" if word in _FRONT_WORDS else "chapter"
    return HeadingMatch(level, label, number, title, "named_section", f"named:{word}")


# Hashes with or without the space CommonMark asks for (`##Chapter 1` is common in pasted pages).
_MARKDOWN = re.compile(r"^(?P<hashes>#{1,6})\s*(?P<text>[^\s#].*?)\s*#*\s*$")


def markdown_heading(line: str) -> HeadingMatch | None:
    """Markdown `# Title` / `## Chapter 3: Title`: the text is read again by the other rules, so a
    numbered Markdown heading keeps its number."""
    match = _MARKDOWN.match(line.strip())
    if not match:
        return None
    text = unwrap(match["text"])
    first = next((c for c in text if c.isalnum()), "")  # `#...But Mostly for Revenge`: its first letter
    if not text or (not match.group(0)[len(match["hashes"]):][:1].isspace() and not (
            first.isupper() or first.isdigit() or not first.isascii())):
        return None  # `#hashtag` is a word, `#Reunion` a heading
    inner = numbered_heading(text) or named_section(text) or bare_numeral(text)
    family = f"markdown:{len(match['hashes'])}"
    if inner:
        return HeadingMatch(inner.level, inner.label, inner.number, inner.title, "markdown_heading", family)
    return HeadingMatch("chapter", None, None, _clean_title(text), "markdown_heading", family)


_BARE_NUMERAL = re.compile(r"^(?P<num>\d{1,3}|[IVXLC]{1,7})(?:\.|\.?$)(?:\s+(?P<title>\S.*))?$")


def bare_numeral(line: str) -> HeadingMatch | None:
    """`1.`, `IV.`, `12`, `3. Title`: used only when a story has no worded headings, since books
    number their sub-sections the same way."""
    match = _BARE_NUMERAL.match(line)
    if not match or (match["title"] and not (match["title"][0].isupper() or match["title"][0] in "\"'\u201c")):
        return None  # a title starts with a capital in any script (`3. Ørsted`) or a quotation mark
    number = parse_number(match["num"])
    if number is None or number == 0:
        return None
    title = _clean_title(match["title"])
    if title and (len(title) > 60 or title.endswith((".", ",", ";")) or "|" in title):
        return None
    return HeadingMatch("chapter", match["num"], number, title, "bare_numeral", "numeral")


HEADING_RULES: dict[str, Callable[[str], HeadingMatch | None]] = {
    "markdown_heading": markdown_heading,
    "numbered_heading": numbered_heading,
    "named_section": named_section,
    "bare_numeral": bare_numeral,
}


def sidecar_heading(text: str, pattern: re.Pattern[str]) -> HeadingMatch | None:
    """A heading pattern from the sidecar; its named groups `number` and `title` are read when present."""
    match = pattern.search(text)
    if not match:
        return None
    groups = match.groupdict()
    number = parse_number(groups["number"]) if groups.get("number") else None
    title = _clean_title(groups.get("title")) if "title" in groups else None
    label = text.strip() if title is None and number is None else None
    if title is None and number is None:
        title = _clean_title(text)
    return HeadingMatch("chapter", label if title is None else None, number, title, "sidecar_heading_pattern",
                        "sidecar")


_CENTRED = re.compile(r"^-+>\s*|\s*(?:<-+|-+>)$")
_WRAPPED = re.compile(r"^(?P<w>\*{1,3}|_{1,3})(?P<text>[^*_].*?)(?P=w)$")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"])")


def unwrap(text: str) -> str:
    """A heading as the page shows it: without rentry's centring arrows (`-> Title <-`), a whole-line
    bold or italic wrapper (`**Chapter 1: Title**`), or Markdown escapes (`Ace\\'s`)."""
    text = text.strip()
    # only a line that starts or ends as arrows or a wrapper do (most lines: none of them) is rewritten
    if text[:1] in ("-", "*", "_") or text[-1:] in ("-", ">"):
        for _ in range(2):
            text = _CENTRED.sub("", text).strip()
            if (match := _WRAPPED.match(text)):
                text = match["text"].strip()
    return _ESCAPED.sub(r"\1", text) if "\\" in text else text


def match_heading(line: str, options: DetectOptions = DetectOptions()) -> HeadingMatch | None:
    """The first rule that reads `line` as a heading: the sidecar's patterns, then the built-in rules
    not turned off. Long lines and sentences are never headings."""
    text = line.strip()
    if len(text) > 2 * MAX_HEADING_LENGTH:
        return None  # before any rewriting: a paragraph can be megabytes long
    if not text.startswith("#"):
        text = unwrap(text)
    if not text or len(text) > MAX_HEADING_LENGTH:
        return None
    for pattern in options.heading_patterns:
        found = sidecar_heading(text, pattern)
        if found:
            return found
    for name, rule in HEADING_RULES.items():
        if name in options:
            continue
        found = rule(text)
        if found:
            return found
    return None


def looks_like_title_line(text: str) -> bool:
    """A short line that could be a chapter title standing on its own after `Chapter 7`: no sentence
    ending, not dialogue, not a note."""
    text = text.strip()
    if not text or len(text) > 70 or len(text.split()) > 12:
        return False
    if text[0] in "\"'\u201c\u2018([" or text.endswith((".", ",", ";", ":", "!", '"', "\u201d")):
        return False
    if not text[0].isupper() and not text[0].isdigit():
        return False
    if text.endswith(("?", "!")):  # a question opening the chapter, unless it is set as a title
        words = [w for w in text.split() if len(w) > 3]
        return bool(words) and sum(w[0].isupper() for w in words) / len(words) >= 0.6
    return any(c.isalpha() for c in text)
