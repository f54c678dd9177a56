"""Titles presented consistently: a title or label set in capitals (`THE RED-HEADED LEAGUE`,
`CHAPTER IV`) is shown in title case beside mixed-case ones; `packager inspect` keeps the source."""

from __future__ import annotations

import re

_SMALL = {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "on", "or",
          "over", "the", "to", "upon", "with", "vs"}
_ROMAN = re.compile(r"^[IVXLCDM]+$")
_WORD = re.compile(r"[^\W\d_][\w'\u2019]*")


def is_all_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters if c.lower() != c.upper())


def title_case(text: str) -> str:
    """`THE ADVENTURE OF THE BLUE CARBUNCLE` -> `The Adventure of the Blue Carbuncle`; Roman numerals
    stay in capitals; text with any lower-case letter is left as the author wrote it."""
    if not is_all_caps(text):
        return text
    words = list(_WORD.finditer(text))

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if _ROMAN.match(word) and (len(word) > 1 or word in ("I", "V", "X")):
            return word
        low = word.lower()
        if low in _SMALL and match.start() != words[0].start() and text[:match.start()].rstrip()[-1:] not in ":.\u2014-":
            return low
        return low[:1].upper() + low[1:]

    return _WORD.sub(fix, text)
