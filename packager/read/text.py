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
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


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


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters mean the file is not text (checked on a sample)."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([c])) for c in _CONTROL)
    return controls > max(8, len(sample) // 100)


def decode(data: bytes, path: Path) -> SourceText:
    """Decode a story file: BOMs first, then UTF-8, then the best guess of charset-normalizer.

    Windows-1252 and Latin-1 come out right through the guess; text that is UTF-8 except for a few bad
    bytes is decoded with replacement characters and a warning naming the first bad line.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as error:
                raise PackagerError(f"not valid {encoding} text ({error.reason})", path) from None
            return _checked(SourceText(path, split_lines(text), encoding), path)
    if looks_binary(data):
        raise PackagerError("binary file, not a text or Markdown story", path)
    try:
        return _checked(SourceText(path, split_lines(data.decode("utf-8")), "utf-8"), path)
    except UnicodeDecodeError as error:
        bad_offset = error.start
    text = data.decode("utf-8", errors="replace")
    if _mostly_utf8(text):
        bad_line = len(split_lines(data[:bad_offset].decode("utf-8", errors="replace"))) or 1
        warning = f"{path}:{bad_line}: invalid UTF-8 bytes replaced with U+FFFD"
        return _checked(SourceText(path, split_lines(text), "utf-8", [warning]), path)
    guess = from_bytes(data).best()
    encoding = guess.encoding if guess is not None else "cp1252"
    if encoding.startswith("utf") or encoding in _LATIN_LOOKALIKES:
        encoding = "cp1252"  # a Western 8-bit file; cp1252 decodes Latin-1 text identically
    return _checked(SourceText(path, split_lines(data.decode(encoding, errors="replace")), encoding), path)


# 8-bit encodings charset-normalizer sometimes picks for short Western text that is really cp1252.
_LATIN_LOOKALIKES = {"latin_1", "iso8859_15", "cp1250", "mac_roman", "cp1257", "iso8859_2", "cp850"}


def _mostly_utf8(text: str) -> bool:
    """UTF-8 with a few damaged bytes: valid multi-byte characters outnumber the replacements."""
    bad = text.count("\ufffd")
    good = sum(1 for char in text if ord(char) > 127) - bad
    return good > 0 and good >= bad


def _checked(source: SourceText, path: Path) -> SourceText:
    if not any(line.strip() for line in source.lines):
        raise PackagerError("empty file: no story text in it", path)
    return source


def read_text_file(path: Path) -> SourceText:
    try:
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
