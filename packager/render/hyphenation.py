"""Hyphenation as a book wants it, where WeasyPrint's CSS cannot say it.

print.css sets what CSS can (`hyphenate-limit-chars`: words of 6 letters or more, at least 3 letters
on each side of the break; `hyphenate-limit-zone`). Two rules it cannot express live here, in the
hyphenator WeasyPrint's line breaker asks for a word's break points:

- `names_whole`: a capitalised word (a name, mostly: `Elizabeth`, `Netherfield`) is never broken;
- `english_dictionary`: English is hyphenated with the US (Liang) patterns, whose breaks are right
  for British text too, where pyphen's `en`/`en_GB` patterns give `bey-ond` and `Eliza-beth`.
"""

from __future__ import annotations

import types

import pyphen


def _dictionary(lang: str) -> str:
    return "en_US" if lang.lower().replace("-", "_").split("_")[0] == "en" else lang


class BookHyphenator(pyphen.Pyphen):
    """pyphen's hyphenator with the two rules above."""

    def __init__(self, lang: str | None = None, **options):
        super().__init__(lang=_dictionary(lang) if lang else lang, **options)

    def positions(self, word: str):
        if word[:1].isupper():
            return []
        return super().positions(word)


def install() -> None:
    """Make WeasyPrint's line breaker (in this process) hyphenate with BookHyphenator."""
    from weasyprint.text import line_break

    if getattr(line_break.pyphen, "Pyphen", None) is not BookHyphenator:
        line_break.pyphen = types.SimpleNamespace(Pyphen=BookHyphenator,
                                                  language_fallback=pyphen.language_fallback)
