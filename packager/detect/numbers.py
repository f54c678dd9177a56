"""Chapter numbers as authors write them: digits, Roman numerals, English words."""

from __future__ import annotations

import re

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "final": None,
             "last": None}
_WORD_VALUES = {word: n for n, word in enumerate(_UNITS)} | {word: 10 * n for n, word in enumerate(_TENS)
                                                            if word}
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN_SHAPE = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")

# A number as a regular-expression fragment: digits, a Roman numeral, or words up to ninety-nine.
WORD_NUMBER = r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|one|two|three|four|five|six|seven|eight|nine|ten|hundred)"
NUMBER = rf"(?:\d{{1,5}}|[IVXLCDM]{{1,8}}|{WORD_NUMBER})"


def roman_to_int(text: str) -> int | None:
    text = text.upper()
    if not text or not _ROMAN_SHAPE.match(text):
        return None
    total = 0
    for current, following in zip(text, text[1:] + " "):
        value = _ROMAN[current]
        total += -value if following in _ROMAN and _ROMAN[following] > value else value
    return total


def words_to_int(text: str) -> int | None:
    words = re.split(r"[\s-]+", text.strip().lower())
    if words == ["hundred"]:
        return 100
    total = 0
    for word in words:
        if word not in _WORD_VALUES:
            return None
        total += _WORD_VALUES[word]
    return total


def parse_number(text: str) -> int | None:
    """'7' -> 7, 'VII' -> 7, 'Seven' -> 7, 'Twenty-Three' -> 23; None when it is no number."""
    text = text.strip().rstrip(".")
    if text.isdigit():
        return int(text)
    value = words_to_int(text)
    return value if value is not None else roman_to_int(text)


def ordinal_to_int(text: str) -> int | None:
    return _ORDINALS.get(text.strip().lower())
