"""Scene-break rules: symbol lines and wider blank gaps."""

from __future__ import annotations

import re
from collections import Counter

_SYMBOLS = set("*~-=_#+\u2022\u00b7\u2014\u2013.:/\\|<>^\u25c6\u25c7\u2756\u00a7\u2605\u2606\u2042\u2051\u2217\u223c")
_XO = re.compile(r"^[xXoO0-9*~\-=_#+.:/\\|<>^\u2022\u00b7]+$")
_NBSP_LINE = re.compile(r"^[\s\u00a0]*\u00a0[\s\u00a0]*$")


def symbol_line(line: str) -> bool:
    """`* * *`, `***`, `~~~~`, `xXx`, `XxXxX`, `oOo`, `o-o-o`, `-----`, `###`, `+++`, `8*8*8*8`,
    `*-*-*`, a long dash line, a line of only non-breaking spaces. Not an ellipsis, not `xxx`."""
    text = line.strip()
    if text and (text[0].isalnum() or text[0] in "\"'\u201c\u2018(") and text[0] not in "xXoO0123456789":
        return False  # the common case: a line of words
    if _NBSP_LINE.match(line):
        return True
    if re.match(r"^#{1,6}\s*[^\W_]", text):
        return False  # a Markdown heading (`## 1`), not an ornament
    compact = text.replace(" ", "")
    if not compact:
        return False
    if set(compact) <= set(".\u2026"):
        return False  # an ellipsis alone is a character's silence, not a break
    if set(compact) <= _SYMBOLS:
        return len(compact) >= 3 or compact in ("*", "#", "~", "\u2042") \
            or len(compact) == 2 and set(compact) <= set("-\u2013\u2014~*")  # `—-` (web serials)
    if len(compact) < 3 or not _XO.match(compact):
        return False
    letters = [c for c in compact if c.isalpha()]
    digits = {c for c in compact if c.isdigit()}
    symbols = [c for c in compact if not c.isalnum()]
    if len(digits) > 1 or (digits and len(symbols) < 2):
        return False  # `8*8*8` yes, `1999` or `3-2` no
    if letters and not symbols and not (any(c.isupper() for c in letters) and any(c.islower() for c in letters)):
        return False  # `xxx` (kisses) and `ooo` are words of a kind; `xXx` and `oOo` are ornaments
    return True


def typical_gap(gaps: list[int]) -> int:
    """The number of blank lines that usually separates paragraphs (0 for one-per-line text)."""
    if not gaps:
        return 1
    return Counter(gaps).most_common(1)[0][0]


def is_gap_break(gap: int, usual: int) -> bool:
    """A wider gap than the text's usual one: two blank lines where it uses one, one where it uses none."""
    return gap > usual and gap >= 1 and (usual == 0 or gap >= usual + 1)
