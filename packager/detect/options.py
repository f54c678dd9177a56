"""What a user can tell detection, from the sidecar's `[detect]` table."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DetectOptions:
    """User overrides: rules turned off by name, extra heading and note patterns, patterns that are
    never notes, and chapter titles given by position (1-based)."""

    disabled_rules: frozenset[str] = frozenset()
    heading_patterns: tuple[re.Pattern[str], ...] = ()
    note_patterns: tuple[re.Pattern[str], ...] = ()
    never_note_patterns: tuple[re.Pattern[str], ...] = ()
    chapter_titles: tuple[tuple[int, str], ...] = ()

    def __contains__(self, rule: object) -> bool:
        """`"blank_gap" in options` asks whether that rule is turned off."""
        return rule in self.disabled_rules
