"""Letters no installed font can draw. A missing glyph prints as an empty box (and slows WeasyPrint's
layout), so the build names each script the book needs and no font has, and a generated cover draws
such a title in a face that has its letters (a Noto face from the distribution, where installed)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from functools import lru_cache
from typing import Iterable


def _script(character: str) -> str:
    """A character's script, as Unicode names it (`DEVANAGARI LETTER KA` → Devanagari); emoji and
    other pictographs are `emoji`."""
    if unicodedata.category(character) == "So" and ord(character) >= 0x1F000:
        return "emoji"
    name = unicodedata.name(character, "")
    word = name.split(" ")[0]
    return "CJK" if word in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL") else word.capitalize()


@lru_cache(maxsize=None)
def covering_fonts(character: str) -> tuple[str, ...]:
    """Font files fontconfig knows that have the character, Noto faces first; () without fontconfig."""
    if shutil.which("fc-list") is None:
        return ()
    try:
        listing = subprocess.run(["fc-list", f":charset={ord(character):x}", "file"], capture_output=True,
                                 text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    files = sorted({line.split(":")[0].strip() for line in listing.splitlines() if line.strip()})
    return tuple(sorted(files, key=lambda f: "Noto" not in f))


def missing_scripts(texts: Iterable[str]) -> list[tuple[str, str]]:
    """(script, an example character) for each script in the texts that no installed font can draw.
    One character stands for its script, so the check costs a few fontconfig look-ups a book."""
    if shutil.which("fc-list") is None:
        return []
    samples: dict[str, str] = {}
    for text in texts:
        for character in set(text):
            if ord(character) > 0x2FF and unicodedata.category(character)[0] in "LSN":
                samples.setdefault(_script(character), character)
    return [(script, sample) for script, sample in sorted(samples.items()) if not covering_fonts(sample)]


def missing_font_warnings(texts: Iterable[str]) -> list[str]:
    return [f"no installed font has {script} letters (such as '{sample}'): they print as empty boxes in "
            f"the PDF; install a font for them (Debian: fonts-noto-core, fonts-noto-cjk, fonts-noto-color-emoji)"
            for script, sample in missing_scripts(texts)]
