"""Bytes to text lines: encodings, byte-order marks, line ends.

Line numbers must match the file as a user sees it in an editor, so lines are split only on CRLF, CR
and LF (never on the other characters `str.splitlines` treats as breaks), and a byte-order mark is
dropped without shifting line 1.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from packager.errors import PackagerError

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0 control characters other than tab, LF, CR, FF: a text file holds few of them, a binary many.
_CONTROL = bytes(set(range(32)) - {0, 9, 10, 12, 13})
# What XML 1.0 cannot hold (C0 controls but tab, LF and CR), DEL, the C1 controls and the two
# non-characters. No story means them, and one of them in a chapter makes the EPUB ill-formed.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]+")
# A file that is more than this share NUL bytes (and not UTF-16) is not a text with a few stray NULs.
_MAX_NUL_SHARE = 0.25


@dataclass
class SourceText:
    """The decoded lines of one source file, with what the reader had to guess."""

    path: Path
    lines: list[str]
    encoding: str
    warnings: list[str] = field(default_factory=list)


def split_lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF only; a final line end does not make an extra empty line."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def line_of(text: str, offset: int) -> int:
    """The 1-based line (counting CRLF, CR and LF ends) holding character `offset` of `text`."""
    return len(split_lines(text[:offset])) + (1 if offset and text[offset - 1] in "\r\n" else 0) or 1


def looks_binary(data: bytes) -> bool:
    """Many control characters, or mostly NUL bytes, mean the file is not text (checked on a sample).
    A few NUL bytes in text (an editor's or a downloader's slip) do not."""
    sample = data[:65536]
    nuls = sample.count(0)
    if nuls > _MAX_NUL_SHARE * len(sample):
        return True
    controls = sum(sample.count(bytes([c])) for c in _CONTROL)
    return controls > max(8, (len(sample) - nuls) // 100)


def utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without a byte-order mark, told by where its NUL bytes fall: Latin-script text has
    a NUL in every other byte, all on one side. The name of the codec, or None."""
    sample = data[:65536]
    pairs = len(sample) // 2
    if pairs < 2 or len(data) % 2:
        return None
    even, odd = sample[0:2 * pairs:2].count(0), sample[1:2 * pairs:2].count(0)
    if odd >= 0.3 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if even >= 0.3 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def decode(data: bytes, path: Path) -> SourceText:
    """Decode a story file: BOMs first, then UTF-16 told by its NUL bytes, then UTF-8, then the best guess
    of charset-normalizer.

    Windows-1252 and Latin-1 come out right through the guess; text that is UTF-8 except for a few bad
    bytes is decoded with replacement characters and a warning naming the first bad line. Control
    characters and stray NUL bytes are removed with a warning naming the first line that held one.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _unicode_text(data[len(bom):], encoding, path)
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return _unicode_text(data, utf16, path)
    if looks_binary(data):
        raise PackagerError("binary file, not a text or Markdown story", path)
    try:
        return _checked(data.decode("utf-8"), "utf-8", path, [])
    except UnicodeDecodeError as error:
        bad_offset = error.start
    text = data.decode("utf-8", errors="replace")
    if _mostly_utf8(text):
        before = data[:bad_offset].decode("utf-8")
        warning = f"{path}:{line_of(before, len(before))}: invalid UTF-8 bytes replaced with U+FFFD"
        return _checked(text, "utf-8", path, [warning])
    guess = from_bytes(data.replace(b"\x00", b"")).best()
    encoding = guess.encoding if guess is not None else "cp1252"
    if encoding.startswith("utf") or encoding in _LATIN_LOOKALIKES:
        encoding = "cp1252"  # a Western 8-bit file; cp1252 decodes Latin-1 text identically
    return _checked(data.decode(encoding, errors="replace"), encoding, path, [])


# 8-bit encodings charset-normalizer sometimes picks for short Western text that is really cp1252.
_LATIN_LOOKALIKES = {"latin_1", "iso8859_15", "cp1250", "mac_roman", "cp1257", "iso8859_2", "cp850"}


def _unicode_text(data: bytes, encoding: str, path: Path) -> SourceText:
    """UTF-8, -16 or -32 known from a BOM or the NUL bytes: undecodable units are replaced, with a
    warning naming the first line that held one."""
    try:
        return _checked(data.decode(encoding), encoding, path, [])
    except UnicodeDecodeError as error:
        bad_offset = error.start
    text = data.decode(encoding, errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 100):  # not a slip: not this encoding at all
        raise PackagerError(f"not valid {encoding} text", path)
    before = data[:bad_offset].decode(encoding)
    warning = f"{path}:{line_of(before, len(before))}: invalid {encoding.upper()} bytes replaced with U+FFFD"
    return _checked(text, encoding, path, [warning])


def _mostly_utf8(text: str) -> bool:
    """UTF-8 with a few damaged bytes: valid multi-byte characters outnumber the replacements."""
    bad = text.count("\ufffd")
    good = sum(1 for char in text if ord(char) > 127) - bad
    return good > 0 and good >= bad


def _checked(text: str, encoding: str, path: Path, warnings: list[str]) -> SourceText:
    """The lines of a decoded text, without the characters no story holds; an error when nothing is
    left."""
    unprintable = UNPRINTABLE.search(text)
    if unprintable is not None:
        warnings = warnings + [f"{path}:{line_of(text, unprintable.start())}: control characters "
                               f"(such as NUL bytes) removed"]
        text = UNPRINTABLE.sub("", text)
    source = SourceText(path, split_lines(text), encoding, warnings)
    if not any(line.strip() for line in source.lines):
        raise PackagerError("empty file: no story text in it", path)
    return source


def remove_unprintable(text: str) -> str:
    """Text from a sidecar or the command line without the characters no book can hold."""
    return UNPRINTABLE.sub("", text)


# Far more than any story (War and Peace is 3 MB); a larger file would take gigabytes to build.
MAX_STORY_BYTES = 256 * 1024 * 1024


def read_text_file(path: Path) -> SourceText:
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise PackagerError("not a regular file", path)  # a FIFO or a device would never end
        if path.is_file() and path.stat().st_size > MAX_STORY_BYTES:
            raise PackagerError(f"too large for a story ({path.stat().st_size // 1024 // 1024} MB; "
                                f"at most {MAX_STORY_BYTES // 1024 // 1024} MB)", path)
        data = path.read_bytes()
    except FileNotFoundError:
        raise PackagerError("no such file", path) from None
    except IsADirectoryError:
        raise PackagerError("is a folder, expected a story file", path) from None
    except OSError as error:
        raise PackagerError(f"cannot read: {error.strerror}", path) from None
    if not data.strip():
        raise PackagerError("empty file: no story text in it", path)
    return decode(data, path)
