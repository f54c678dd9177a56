"""Rules for what stands before the story: Gutenberg header and licence, downloader headers, a title
line, a `by Author` line, and the datelines that look like titles but are story."""

from __future__ import annotations

import re

_GUTENBERG_START = re.compile(r"^\s*\*{3}\s*START OF (?:THIS|THE) PROJECT GUTENBERG", re.IGNORECASE)
_GUTENBERG_END = re.compile(r"^\s*\*{3}\s*END OF (?:THIS|THE) PROJECT GUTENBERG", re.IGNORECASE)
_GUTENBERG_END_LOOSE = re.compile(r"^\s*End of (?:the )?Project Gutenberg", re.IGNORECASE)
_HEADER_FIELD = re.compile(r"^(?P<key>[A-Z][A-Za-z ]{1,24}):\s*(?P<value>.*)$")

# Keys a fan-fiction downloader writes above the story (FanFicFare, AO3 and FFN exports).
DOWNLOADER_KEYS = {
    "category", "categories", "genre", "genres", "language", "status", "published", "updated",
    "rating", "chapters", "words", "publisher", "story url", "author url", "summary", "fandom",
    "fandoms", "characters", "relationships", "relationship", "pairing", "pairings", "warnings",
    "tags", "additional tags", "series", "source", "packaged", "reviews", "favs", "follows", "id",
    "archive warning", "archive warnings", "complete", "title", "author", "by",
}


def gutenberg_bounds(lines: list[str]) -> tuple[int, int] | None:
    """0-based indexes of the `*** START OF` and `*** END OF` lines, or None for a non-Gutenberg text."""
    start = next((i for i, line in enumerate(lines[:400]) if _GUTENBERG_START.match(line)), None)
    if start is None:
        return None
    end = next((i for i in range(len(lines) - 1, start, -1) if _GUTENBERG_END.match(lines[i])), None)
    if end is None:
        end = next((i for i in range(len(lines) - 1, start, -1) if _GUTENBERG_END_LOOSE.match(lines[i])),
                   len(lines))
    else:  # `End of the Project Gutenberg EBook of …` standing last above the marker is licence too
        last = next((i for i in range(end - 1, start, -1) if lines[i].strip()), None)
        for i in (last, last - 1 if last is not None else None):
            if i is not None and i > start and _GUTENBERG_END_LOOSE.match(lines[i]):
                end = i
                break
    return start, end


_GUTENBERG_NUMBER = re.compile(r"\[\s*e-?book\s*#\s*(\d+)\s*\]", re.IGNORECASE)


def gutenberg_header(lines: list[str]) -> dict[str, str]:
    """`Title:`, `Author:`, `Language:`, the translator and the release date from the header above
    `*** START OF`, and the ebook number as the book's source (its page at gutenberg.org). A title may
    continue on indented lines (a subtitle), which is dropped. The release date is the book's first
    release (`Release Date: June, 1998`), else its posting date, without the `[EBook #N]` beside it."""
    found: dict[str, str] = {}
    for line in lines:
        match = _HEADER_FIELD.match(line.strip())
        if not match:
            continue
        key, value = match["key"].lower(), match["value"].strip()
        number = _GUTENBERG_NUMBER.search(value)
        if number:
            found.setdefault("source", f"https://www.gutenberg.org/ebooks/{number[1]}")
            value = (value[:number.start()] + value[number.end():]).strip()
        if key in ("translator", "translators", "translated by"):
            key = "translator"
        elif key not in ("title", "author", "language", "release date", "posting date"):
            continue
        if value:
            found.setdefault(key, value)
    if "posting date" in found:
        found.setdefault("release date", found.pop("posting date"))
    return found


_COMMON_CODES = frozenset("en fr de es it pt nl ru zh ja ko sv da nb nn fi pl cs el hu tr ar he hi uk la ro "
                          "bg hr sr sk sl et lv lt ga cy eo id vi th fa ca eu gl is".split())


_COMMON_NAMES = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "italian": "it",
                 "portuguese": "pt", "dutch": "nl", "russian": "ru", "chinese": "zh", "japanese": "ja",
                 "swedish": "sv", "danish": "da", "finnish": "fi", "polish": "pl", "czech": "cs", "greek": "el",
                 "hungarian": "hu", "latin": "la"}


def language_code(name: str) -> str:
    """A language as a BCP 47 tag, from the language registry (`langcodes`, CLDR's names, no network):
    a valid tag standardised (`EN` -> `en`, `eng` -> `en`), a language's name in any language CLDR
    names it in (`English`, `Welsh` -> `cy`, `Deutsch` -> `de`) to its code. Anything else comes back as
    given, for the caller to warn about: no guessing (`Esperanto` is `eo`, never `es`)."""
    name = name.strip()
    if name in _COMMON_CODES:
        return name  # the registry's answer for these, without loading it (half a second on a cold start)
    if name.lower() in _COMMON_NAMES:
        return _COMMON_NAMES[name.lower()]
    import langcodes
    from language_data.names import code_to_names

    if langcodes.tag_is_valid(name):
        return langcodes.standardize_tag(name)
    try:
        code = langcodes.find(name).language
    except LookupError:
        return name
    # `find` also takes a name with extra letters (`klingonish` -> Klingon): only a whole name counts.
    names = {known.casefold() for known in code_to_names(code).values()}
    return code if code and name.casefold() in names else name


def downloader_field(line: str) -> tuple[str, str] | None:
    """A `Key: value` header line a downloader writes (`Rating: T`, `Story URL: …`, Markdown's
    `**Rating:** T`)."""
    match = _HEADER_FIELD.match(re.sub(r"^\*\*([^*:]{1,25}):\*\*", r"\1:", line.strip()))
    if match and match["key"].lower().strip() in DOWNLOADER_KEYS:
        return match["key"].strip(), match["value"].strip()
    return None


_BY_LINE = re.compile(r"^by[:\s]\s*(?P<author>\S.{0,58}?)\s*$", re.IGNORECASE)
_NAME_PARTICLES = {"van", "von", "de", "der", "den", "la", "le", "du", "da", "di", "and", "&", "y", "bin", "al"}


def by_line(text: str) -> str | None:
    """`by Name` on its own line gives the author: names, initials (`J. R. Hart`), handles
    (`Wanderer42`), never a sentence (`by the sea, she waited.`)."""
    match = _BY_LINE.match(text.strip())
    if not match:
        return None
    author = match["author"]
    words = author.split()
    if len(words) > 6 or not (author[0].isupper() or author[0].isdigit()) or author.endswith((",", ";", "!", "?")):
        return None
    if any(w[0].islower() and w.lower() not in _NAME_PARTICLES for w in words):
        return None
    return author


_NOT_IN_NAMES = {"the", "a", "an", "of", "and", "in", "on", "at", "to", "for", "with", "from", "volume", "vol",
                 "book", "part", "chapter", "season", "story", "tale", "tales", "prologue", "epilogue", "summary",
                 "notes", "contents", "one", "two", "three", "i", "ii", "iii", "iv", "v"}
_NAME_TOKEN = re.compile(r"^(?:[A-Z]\.?|[A-Z][a-z'\u2019\-]+|[A-Z][a-z]*[A-Z][a-z]+)$")


MAX_NAME_LINE = 120  # characters: four names with room for spacing and emphasis


def name_line(text: str) -> str | None:
    """`M J Bradley`, `Ada Marsh`: what reads as a person's name alone on a line (2 to 4 words, each a
    capitalised word or an initial, none a word titles use). Under a line at the top, with the first
    heading under it, it confirms that line as the title (the name is not taken as the author: a
    fandom's name reads the same)."""
    if len(text) > MAX_NAME_LINE:  # not a name, and not worth splitting (a chapter saved on one line)
        return None
    words = text.strip().strip("*_").strip().split()
    if not 2 <= len(words) <= 4:
        return None
    if any(not _NAME_TOKEN.match(w) or w.lower().rstrip(".") in _NOT_IN_NAMES and len(w.rstrip(".")) > 1
           for w in words) or all(len(w.rstrip(".")) == 1 for w in words):
        return None
    return " ".join(words)


_TIME_WORDS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|moons?|decades?|centuries|nights?|mornings?)"
_TIME = (
    rf"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|a few|some|many)\s+{_TIME_WORDS}"
    r"\s+(?:ago|later|earlier|before|after|prior|previously|past)"
    r"|present\s+day|present\s+time|the\s+present|now|today|meanwhile|elsewhere|flashback|the\s+past"
    r"|(?:the\s+)?(?:very\s+)?(?:next|following|same)\s+(?:day|morning|afternoon|evening|night|week)"
    r"|(?:some|a\s+little|a\s+short|a\s+long|a\s+while|much|not\s+long)\s+(?:time\s+|while\s+)?later|later(?:\s+that\s+\w+)?"
    r"|(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?:\s+(?:morning|afternoon|evening|night))?"
    r"|(?:january|february|march|april|may|june|july|august|september|october|november|december)\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+(?:\d{1,3}(?:,\d{3})+|\d{1,5})(?:\s*(?:AD|BC|BCE|CE|A\.D\.|B\.C\.))?)?"
    r"|\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)"
)
_PLACE = r"[A-Z0-9][\w'\u2019-]*(?:,?\s+(?:of\s+|the\s+)?[A-Z0-9][\w'\u2019-]*){0,5}"
_DATELINE = re.compile(
    rf"^(?:{_TIME})\s*(?:\.{{2,}}|\u2026)?(?:\s*[:,\-\u2013\u2014]\s*(?-i:{_PLACE}))?\s*(?:\.{{2,}}|\u2026|\.)?$",
    re.IGNORECASE,
)
_CLOSER = re.compile(r"^(?:the\s+end|to\s+be\s+continued|tbc|fin|finis|end\s+of\s+(?:chapter|part|book|story|volume|season|arc)"
                     r"(?:\s+\w+)?|end|конец|продолжение\s+следует|slut|fortsättning\s+följer|ende"
                     r"|(?:全文)?完(?:结|結)?|待续|未完待续|[（(][^（）()\s]{0,8}完(?:结|結)?[）)]|[（(]?(?:未完)?待续[）)]?)"
                     r"\s*[\s.!\u2026?。～~]*$", re.IGNORECASE)


def dateline(text: str) -> bool:
    """`7 Years Ago: Konohagakure`, `Present Day`, `A few days later...`, `The next morning`: a line that
    sets time or place for a scene. It is story text, never a title, heading or note, and it opens a
    new scene."""
    text = text.strip().strip("*_[]()~").strip()
    return len(text) <= 80 and bool(_DATELINE.match(text))


_SEQUEL_POINTER = re.compile(r"^(?:to\s+be\s+)?continued\s+in\s*[:.\u2026]*$", re.IGNORECASE)


MAX_CLOSER = 80  # a closing line is short; longer text is never tried against the patterns


def sequel_pointer(text: str) -> bool:
    """`To be continued in:` on its own line: what follows names the sequel (`Season 2: …`), it does
    not head a chapter."""
    if len(text) > MAX_CLOSER:
        return False
    return bool(_SEQUEL_POINTER.match(text.strip().strip("*_[]()~").strip()))


def story_closer(text: str) -> bool:
    """`The End`, `To be continued . . .`, `Fin`: the story's own last line, never a note."""
    if len(text) > MAX_CLOSER:
        return False
    return bool(_CLOSER.match(text.strip().strip("*_[]()~").strip())) or sequel_pointer(text)


def title_line(text: str) -> bool:
    """A story title standing alone at the top: short, no closing full stop, mostly capitalised words,
    not dialogue and not a dateline."""
    text = text.strip().strip("*_").strip()
    if not text or len(text) > 80 or len(text.split()) > 12 or dateline(text):
        return False
    if text[0] in "\"'\u201c\u2018(" or text.endswith((".", ",", ";", "!", '"', "\u201d", ":", "\uff1a")):
        return False
    words = re.findall(r"[^\W\d_][\w'\u2019]*", text)
    if not words:
        return False
    long_words = [w for w in words if len(w) > 3] or words
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return capitalised / len(long_words) >= 0.6


_SUMMARY_LABEL = re.compile(r"^[*_#\s]*(?:summary|synopsis|blurb|description|简介|簡介|文案|内容简介|описание|аннотация"
                            r"|sammanfattning|résumé|resumen|zusammenfassung)[*_\s]*[:：]?[*_\s]*$", re.IGNORECASE)


def summary_label(text: str) -> bool:
    """`Summary:`, `**Synopsis**`, `简介：`, `Описание:` on a line of its own: the blurb follows."""
    return bool(_SUMMARY_LABEL.match(text.strip()))


_AO3_SIGN = re.compile(r"^\s*Posted originally on the Archive of Our Own", re.IGNORECASE)
_AO3_COUNT = re.compile(r"^\s*Chapters:\s*(?P<posted>\d+)\s*/\s*(?:\d+|\?)\s*$")
AO3_SECTION_LABELS = {"summary", "notes", "chapter summary", "chapter notes", "chapter end notes", "end notes"}


def ao3_export(lines: list[str]) -> bool:
    """An AO3 download flattened to text (its HTML's text, as tools and archives save it): the preface
    says `Posted originally on the Archive of Our Own`, or has AO3's `Preface` and `Stats:` labels."""
    head = [line.strip() for line in lines[:80]]
    return any(_AO3_SIGN.match(line) for line in head) or ("Preface" in head and "Stats:" in head)


def ao3_stated_chapters(lines: list[str]) -> int | None:
    """AO3's `Chapters: 10/10` (posted/planned): how many chapters the file holds."""
    for line in lines[:80]:
        if (match := _AO3_COUNT.match(line)):
            return int(match["posted"])
    return None


_YAML_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*)$")
YAML_KEYS = {"title": "title", "author": "author", "authors": "author", "date": "published",
             "description": "summary", "summary": "summary", "lang": "language", "language": "language",
             "series": "series", "rights": "rights", "publisher": "publisher"}


def yaml_front_matter(lines: list[str]) -> tuple[int, dict[str, str]] | None:
    """Rule `yaml_front_matter`: a Markdown file's `---` block of `key: value` lines at the very top
    (pandoc's, Jekyll's and Hugo's convention). Returns the 0-based index of its closing line and the
    fields packager knows (title, author, date, description, language); nested values are skipped."""
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i in range(1, min(len(lines), 80)) if lines[i].strip() in ("---", "...")), None)
    if end is None or end == 1:
        return None
    found: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip() or line[0] in " \t-#":
            continue  # nested values, list items, comments
        match = _YAML_KEY.match(line)
        if not match:
            return None  # not YAML: a `---` rule above the text
        key, value = match["key"].lower(), match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key in YAML_KEYS and value and value not in (">", "|", ">-", "|-"):
            found.setdefault(YAML_KEYS[key], value)
    return end, found


_POSTED = re.compile(r"^posted\s+on\s+(?P<date>.{4,40}?)\s+by\s+(?P<author>\S.{0,60}?)\s*$"
                     r"|^posted\s+by\s+(?P<author2>\S.{0,60}?)\s+on\s+(?P<date2>.{4,40}?)\s*$", re.IGNORECASE)


def posted_line(text: str) -> tuple[str, str] | None:
    """Rule `posted_line`: a blog post's byline (`Posted on July 9, 2018 by pirateaba`), as a web
    serial's chapter page carries under its title: (date, author)."""
    match = _POSTED.match(text.strip())
    if not match:
        return None
    date, author = (match["date"] or match["date2"]).strip(), (match["author"] or match["author2"]).strip()
    if not re.search(r"\d", date) or len(author.split()) > 4 or author.endswith((".", "!", "?", ",")):
        return None
    return date, author


_NAV_WORDS = re.compile(r"(?:previous|prev|next|chapter|table\s+of\s+contents|contents|index|home|back|"
                        r"[«»‹›←→<>|/\-\u2013\u2014]+|\s+)+", re.IGNORECASE)


def navigation_line(line: str) -> bool:
    """Rule `navigation_line`: a web page's chapter links saved with the text (`Previous Chapter Next
    Chapter`, `« Prev | Index | Next »`): navigation, not story or note."""
    text = line.strip()
    return bool(text) and len(text) <= 80 and bool(re.search(r"\b(?:previous|prev|next)\b", text, re.IGNORECASE)) \
        and bool(_NAV_WORDS.fullmatch(text))


def downloader_end(line: str) -> bool:
    """Rule `downloader_end`: FanFicFare's `End file.` closing its text export."""
    return len(line) <= 80 and line.strip().rstrip(".").lower() == "end file"
