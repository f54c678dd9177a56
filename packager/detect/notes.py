"""Author's-note rules: text the author addresses to readers rather than the story.

Each rule looks at one paragraph and returns a NoteMatch (the rule's name, the kind of note, a
confidence and a reason) or None. The structure pass applies them where notes stand: at chapter edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packager.model import CONFIDENT_NOTE as CONFIDENT  # noqa: F401  (re-exported for the rules)


@dataclass(frozen=True)
class NoteMatch:
    rule: str
    note_kind: str
    confidence: float
    reason: str


_WRAP = r"[\s\*_\[\(\{<~]*"
_MARKER = re.compile(
    _WRAP + r"(?P<marker>A\s*/\s*N|A\.N\.|AN|Author'?s'?\s+Notes?|Authors?\s+Notes?|Author\s+Notes?|"
    r"N/A|Notes?|Disclaimer|Translator'?s'?\s+Notes?|T/N|Beta'?s'?\s+Notes?|Warnings?)\s*[:\-\u2013\u2014.\]\)]",
    re.IGNORECASE,
)
_MARKER_BARE = re.compile(_WRAP + r"(?:A\s*/\s*N|Author'?s'?\s+Notes?|Disclaimer)[\s\*_\]\)]*$", re.IGNORECASE)


def explicit_marker(text: str) -> NoteMatch | None:
    """`A/N:`, `AN:`, `Author's Note:`, `Note:`, `Disclaimer:`, also wrapped as `**A/N: …**` or
    `[A/N: …]`. `AN` counts only with a colon, so the word "An" never starts a note."""
    match = _MARKER.match(text) or _MARKER_BARE.match(text)
    if not match:
        return None
    marker = (match.groupdict().get("marker") or text).strip()
    if marker == "An" or marker == "an":
        return None
    kind = "disclaimer" if marker.lower().startswith("disclaimer") else "author_note"
    return NoteMatch("explicit_marker", kind, 0.95, f"starts with the marker '{marker}'")


NOTE_RULES = {"explicit_marker": explicit_marker}


def match_note(text: str, disabled: frozenset[str] = frozenset()) -> NoteMatch | None:
    for name, rule in NOTE_RULES.items():
        if name not in disabled:
            found = rule(text)
            if found:
                return found
    return None
