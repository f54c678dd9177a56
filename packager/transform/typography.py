"""Typography rules: curly quotes, real dashes, ellipses. Each rule is a small named function so it
can be tested alone and turned off (`--no-smart-typography` turns them all off)."""

from __future__ import annotations

import re
from typing import Callable

_ELISIONS = (r"(?:tis|twas|twere|twill|em|n|til|till|cause|bout|round|nuff|sup|ello|ere|appen|kay|im|er|ave"
             r"|change|cos|fraid|gainst|neath|nother|scuse|spose|twixt)")


_DOTS_SPACED = re.compile(r"\.\s\.\s\.")
_EN_DASH = re.compile(r"(?<=\d)--(?=\d)")
_INNER_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_ELISION = re.compile(rf"(?<![\w'])'(?={_ELISIONS}\b)", re.IGNORECASE)
_DECADE = re.compile(r"(?<![\w'])'(?=\d0s\b|\d\d\b)")
_N_CLOSE = re.compile(r"(?<=\u2019n)'")
# After a dash or a slash a quote opens only when a word follows it (`—"Run!"`); before a space, a
# punctuation mark or the end it closes a word cut short (`munifi—"`, `Kakashi-"`).
_OPEN_DOUBLE = re.compile(r"(?:^|(?<=[\s(\[{])|(?<=[\u2014\u2013/-])(?=\"\w))\"")
_OPEN_SINGLE = re.compile(r"(?:^|(?<=[\s(\[{\u201c])|(?<=[\u2014\u2013/-])(?='\w))'")
# A dash that ended a hard-wrapped line is joined to the next line's word by a space the author
# never typed (`instance--` / `literally`): a dash closed up on its left is closed up on its right.
# The dash is matched first and the word before it checked after (_closed_up): a pattern that opens
# with a look-behind is tried at every character, five times slower on a long paragraph.
_DASH_AT_JOIN = re.compile(r"(\u2014|---?)[ \t]+(?=[\w\"'\u201c\u2018])")
_DOUBLE_AFTER_SINGLE = re.compile(r"(?<=\u2018)\"")


def ellipses(text: str) -> str:
    """`...` and `. . .` become a single ellipsis character."""
    if "." not in text:
        return text
    return _DOTS_SPACED.sub("\u2026", text).replace("...", "\u2026")


def _closed_up(match: re.Match[str]) -> str:
    """An em dash for a dash at a line's join whose left side is closed up to a word (what `\\w`
    matches: a letter, a digit or `_`); the match unchanged otherwise."""
    start = match.start()
    before = match.string[start - 1] if start else ""
    return "\u2014" if before and (before.isalnum() or before == "_") else match.group(0)


def dashes(text: str) -> str:
    """`---` and `--` become an em dash; `--` between digits an en dash (pages 10--12). A dash closed
    up to the word before it and followed by a space (where a hard-wrapped line ended) is closed up
    to the word after it too."""
    if "--" not in text and "\u2014" not in text:
        return text
    text = _DASH_AT_JOIN.sub(_closed_up, text)
    text = text.replace("---", "\u2014")
    return _EN_DASH.sub("\u2013", text).replace("--", "\u2014")


def apostrophes(text: str) -> str:
    """Apostrophes inside words (`don't`), leading elisions (`'tis`, `'90s`, `rock 'n' roll`) and after
    a plural's s are right single quotes, never opening quotes."""
    if "'" not in text:
        return text
    text = _INNER_APOSTROPHE.sub("\u2019", text)
    text = _ELISION.sub("\u2019", text)
    text = _DECADE.sub("\u2019", text)
    return _N_CLOSE.sub("\u2019", text)


def quotes(text: str) -> str:
    """Straight quotes become curly ones: opening at the start, after a space, a bracket, a dash or
    another opening quote; closing everywhere else."""
    if '"' not in text and "'" not in text:
        return text
    text = _OPEN_DOUBLE.sub("\u201c", text)
    text = _OPEN_SINGLE.sub("\u2018", text)
    text = _DOUBLE_AFTER_SINGLE.sub("\u201c", text)
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
