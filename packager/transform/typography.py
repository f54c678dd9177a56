"""Typography rules: curly quotes, real dashes, ellipses. Each rule is a small named function so it
can be tested alone and turned off (`--no-smart-typography` turns them all off)."""

from __future__ import annotations

import re
from typing import Callable

_ELISIONS = r"(?:tis|twas|twere|twill|em|n|til|till|cause|bout|round|nuff|sup|ello|ere|appen|kay|im|er|ave)"


def ellipses(text: str) -> str:
    """`...` and `. . .` become a single ellipsis character."""
    text = re.sub(r"\.\s\.\s\.", "\u2026", text)
    return re.sub(r"\.{3}", "\u2026", text)


def dashes(text: str) -> str:
    """`---` and `--` become an em dash; `--` between digits an en dash (pages 10--12)."""
    text = text.replace("---", "\u2014")
    text = re.sub(r"(?<=\d)--(?=\d)", "\u2013", text)
    return text.replace("--", "\u2014")


def apostrophes(text: str) -> str:
    """Apostrophes inside words (`don't`), leading elisions (`'tis`, `'90s`, `rock 'n' roll`) and after
    a plural's s are right single quotes, never opening quotes."""
    text = re.sub(r"(?<=\w)'(?=\w)", "\u2019", text)
    text = re.sub(rf"(?<![\w'])'(?={_ELISIONS}\b)", "\u2019", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w'])'(?=\d0s\b|\d\d\b)", "\u2019", text)
    return re.sub(r"(?<=\u2019n)'", "\u2019", text)


def quotes(text: str) -> str:
    """Straight quotes become curly ones: opening at the start, after a space, a bracket, a dash or
    another opening quote; closing everywhere else."""
    text = re.sub(r"(?:^|(?<=[\s(\[{\u2014\u2013/-]))\"", "\u201c", text)
    text = re.sub(r"(?:^|(?<=[\s(\[{\u2014\u2013\u201c/-]))'", "\u2018", text)
    text = re.sub(r"(?<=\u2018)\"", "\u201c", text)
    return text.replace('"', "\u201d").replace("'", "\u2019")


TYPOGRAPHY_RULES: dict[str, Callable[[str], str]] = {
    "ellipses": ellipses,
    "dashes": dashes,
    "apostrophes": apostrophes,
    "quotes": quotes,
}


def smarten(text: str, disabled: frozenset[str] = frozenset()) -> str:
    for name, rule in TYPOGRAPHY_RULES.items():
        if name not in disabled:
            text = rule(text)
    return text
