"""Author's-note rules: text the author addresses to readers rather than the story.

Each rule looks at one paragraph and returns a NoteMatch (the rule's name, the kind of note, a
confidence and a reason) or None. The structure pass applies them where notes stand: at chapter edges.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from packager.detect.options import DetectOptions
from packager.model import CONFIDENT_NOTE as CONFIDENT  # noqa: F401  (re-exported for the rules)


@dataclass(frozen=True)
class NoteMatch:
    rule: str
    note_kind: str
    confidence: float
    reason: str


_WRAP = r"[\s\*_\[\(\{<~>]*"
_MARKER = re.compile(
    _WRAP + r"(?P<marker>A\s*/\s*N|A\.N\.|AN|Author['\u2019]?s['\u2019]?\s+Notes?|Authors?\s+Notes?|"
    r"N/A|Notes?|Disclaimer|Translator['\u2019]?s['\u2019]?\s+Notes?|T/N|Beta['\u2019]?s['\u2019]?\s+Notes?|Warnings?)\s*[:\uff1a\-\u2013\u2014.\]\)]",
    re.IGNORECASE,
)
_MARKER_BARE = re.compile(_WRAP + r"(?:A\s*/\s*N|Author['\u2019]?s['\u2019]?\s+Notes?|Disclaimer)[\s\*_\]\)]*$", re.IGNORECASE)


def explicit_marker(text: str) -> NoteMatch | None:
    """`A/N:`, `AN:`, `Author's Note:`, `Note:`, `Disclaimer:`, also wrapped as `**A/N: …**` or
    `[A/N: …]`. `AN` counts only with a colon, so the word "An" never starts a note."""
    match = _MARKER.match(text) or _MARKER_BARE.match(text)
    if not match:
        return None
    marker = (match.groupdict().get("marker") or text).strip()
    if marker == "An" or marker == "an" or marker[0].islower():
        return None  # `note. I am…` mid-sentence, `an:`; markers are written with a capital
    kind = "disclaimer" if marker.lower().startswith("disclaimer") else "author_note"
    return NoteMatch("explicit_marker", kind, 0.95, f"starts with the marker '{marker}'")


NOTE_RULES = {"explicit_marker": explicit_marker}


def never_note(text: str, options: DetectOptions = DetectOptions()) -> bool:
    """The sidecar's `never_note_patterns`: text the user says is story, whatever it looks like."""
    return any(pattern.search(text) for pattern in options.never_note_patterns)


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"])")


def match_note(text: str, options: DetectOptions = DetectOptions()) -> NoteMatch | None:
    """The first rule that reads a paragraph as a note: the sidecar's patterns, then the built-in rules
    not turned off. Detection asks this of a paragraph more than once: the answer is remembered."""
    try:
        return _match_note(text, options)
    except TypeError:  # options that cannot be a dictionary key
        return _match_note.__wrapped__(text, options)


@functools.lru_cache(maxsize=8192)
def _match_note(text: str, options: DetectOptions) -> NoteMatch | None:
    if never_note(text, options):
        return None
    if "\\" in text:
        text = _MARKDOWN_ESCAPE.sub(r"\1", text)  # `Author\'s Note` as pasted Markdown writes it
    for pattern in options.note_patterns:
        if pattern.search(text):
            return NoteMatch("sidecar_note_pattern", "author_note", 0.95,
                             f"matches the sidecar's note pattern {pattern.pattern!r}")
    for name, rule in NOTE_RULES.items():
        if name not in options:
            found = rule(text)
            if found:
                return found
    return None


# Phrases in which a writer talks to readers about the writing, weighted: strong cues rarely occur in
# story prose, weak ones only count together.
_STRONG_CUES = [
    r"\bthis (?:chapter|story|fic|fanfic|one-?shot|update)\b", r"\bnext (?:chapter|update|installment)\b",
    r"\bprevious chapter\b", r"\blast chapter\b", r"\bread (?:and|&) review\b", r"\bR ?& ?R\b",
    r"\breviewers\b", r"\bplease review\b", r"\b(?:leave|drop|send|for) (?:a |me a |some |the |all the |your )?reviews?\b",
    r"\breviews? (?:please|and|are)\b", r"\b(?:slow|quick|next|new|last|late) updates?\b", r"\bupdat(?:ed|ing) (?:this|soon|more|again)\b", r"\bbeta(?:-?read|ed| reader)?\b",
    r"\b(?:thanks|thank you) (?:for reading|to (?:all|everyone|my)|so much for|for (?:the|all) (?:reviews|comments|follows|favou?rites|kudos|support))",
    r"\bhope (?:you|y'all|everyone)(?: all| guys)? (?:enjoy|like|liked|enjoyed)",
    r"\bsee (?:you|y'all) (?:next|soon|all|later|in)\b", r"\buntil next time\b", r"\bstay tuned\b",
    r"\bdisclaimer\b", r"\b(?:do not|don't|doesn't|does not) own\b", r"\bfan ?fic(?:tion)?\b",
    r"\bauthor'?s? note\b", r"\bmy readers\b", r"\bdear readers\b", r"\bcliff-?hanger\b", r"\bhiatus\b",
    r"\b(?:sorry|apologies) (?:for|about) (?:the|this) (?:wait|delay|late|long)",
    r"\b(?:ao3|ffn|fanfiction\.net|wattpad|tumblr|patreon|discord)\b", r"\bkudos\b",
    r"\b(?:leave|drop) (?:a|me a) (?:comment|review|note)\b", r"\bforgot about this story\b",
    r"\bmy (?:other )?(?:stories|fics)\b", r"\bposted\b", r"\bupload(?:ed|ing)?\b",
]
_WEAK_CUES = [
    r"\bI (?:wrote|write|am writing|was writing|have been writing)\b", r"\bwriting\b", r"\bchapters?\b",
    r"\bstor(?:y|ies)\b", r"\breaders?\b", r"\benjoy(?:ed)?\b", r"\b(?:life|school|work|college) (?:has been|keeps|got)\b",
    r"\bglad to\b", r"\bquality\b", r"\b(?:you|y'all) guys\b", r"\bhopefully\b", r"\blet me know\b",
    r"\bplot\b", r"\bcharacters?\b", r"\bfeedback\b", r"\bcomments?\b", r"\bsequel\b", r"\bprompt\b",
    r"\bchallenge\b", r"\bcanon\b", r"\bOOC\b", r"\bAU\b", r"\bthe ending\b", r"\bto your liking\b",
    r"\bwhether it was for better or worse\b", r"\bpairing\b",
]
# One alternation per weight: a single pass over the paragraph; `AU` and `OOC` only in capitals.
_STRONG = re.compile("|".join(f"(?:{p})" for p in _STRONG_CUES), re.IGNORECASE)
_WEAK = re.compile("|".join(f"(?-i:{p})" if "AU" in p or "OOC" in p else f"(?:{p})" for p in _WEAK_CUES),
                   re.IGNORECASE)
_DIALOGUE = re.compile(r"^\s*[\"\u201c\u201d]")
_LEGEND = re.compile(
    r"^\s*[\"'\u201c\u2018*_\[(<~-]+[^\"\u201d]{1,60}?[\"'\u201d\u2019*_\])>~-]+\s*[:=\-]?\s*[\w\s/,'-]{0,40}$")
_LEGEND_WORDS = re.compile(r"\b(?:speak|speech|speaking|talk|talking|thoughts?|thinking|telepathy|telepathic|"
                           r"flashbacks?|jutsu|technique|demonic|demon|bijuu|beast|inner|mind|sign(?:ing| language)?|"
                           r"text(?:ing)?|writing|letters?|emphasis|yelling|shouting|whisper(?:ing)?|parseltongue|"
                           r"language|translation|radio|phone)\b", re.IGNORECASE)


MAX_UNMARKED_NOTE_WORDS = 150  # a long unmarked paragraph is story, whatever words it uses


def note_cues(text: str) -> tuple[int, int, list[str]]:
    """How strongly a paragraph reads as the writer talking to readers: the strong and the weak cues
    it holds. Dialogue (a paragraph opening with a quotation mark) and long paragraphs are story."""
    strong, weak, cues = _cues(text)
    return strong, weak, list(cues)


@functools.lru_cache(maxsize=8192)
def _cues(text: str) -> tuple[int, int, tuple[str, ...]]:
    """note_cues, once per text: the edge, prefix and run passes ask about the same paragraphs."""
    if _DIALOGUE.match(text) or len(text.split()) > MAX_UNMARKED_NOTE_WORDS:
        return 0, 0, ()
    strong = tuple(dict.fromkeys(m.group(0).lower() for m in _STRONG.finditer(text)))
    weak = tuple(dict.fromkeys(m.group(0).lower() for m in _WEAK.finditer(text)))
    return len(strong), len(weak), strong + weak


def looks_like_dialogue(text: str) -> bool:
    """A paragraph that opens with a quotation mark: a character speaking, so story."""
    return bool(_DIALOGUE.match(text))


def formatting_legend(text: str) -> bool:
    """`"speech"`, `'thoughts'`, `"Tailed Beast/Demonic speak"`: a key to the story's typography, which
    belongs to the note beside it."""
    text = text.strip()
    return len(text) <= 80 and bool(_LEGEND.match(text)) and bool(_LEGEND_WORDS.search(text))


def judge_edge_run(strong: int, weak: int, separated: bool) -> float | None:
    """The confidence that a run of paragraphs at a chapter edge is an author's note, from its cues and
    whether a wider gap (or a break) sets it apart from the story; None when it reads as story.
    Below CONFIDENT the run is kept as story and `inspect` lists it as a possible note."""
    points = 2 * strong + weak
    if separated and strong >= 1 and points >= 3:
        return 0.9
    if separated and strong >= 1:
        return 0.8
    if strong >= 2:
        return 0.8
    if points >= 3 or (separated and points >= 2):
        return 0.5
    return None


# A line that is only a label for what follows: AO3's section labels, `Author's Endnote:`, `Notes：`,
# `Warning:`, `A/N`, in any wrapper (`**…**`, `> …`, `[…]`). Full-width colons count (CJK texts).
_LABEL = re.compile(
    r"^[\s>*_\[(#]*(?P<label>"
    r"(?:chapter\s+)?(?:end\s+)?notes?|chapter\s+summary|author['\u2019]?s?['\u2019]?\s+(?:end\s*)?notes?|"
    r"authors?\s+(?:end\s*)?notes?|a\s*/\s*n|t\s*/\s*n|translator['\u2019]?s['\u2019]?\s+notes?|"
    r"warnings?|disclaimer|chapter\s+references|afterword|end\s+notes|acknowledge?ments?|"
    r"作者的话|作者的碎碎念|后记|作者有话说|备注|注释|примечания(?:\s+автора)?|от\s+автора|"
    r"författarens\s+anteckningar|anteckningar)"
    r"\s*[:\uff1a.\-\u2013\u2014]?[\s*_\])]*$",
    re.IGNORECASE,
)
_POINTER = re.compile(r"^\s*\(?see the end of the (?:chapter|work) for (?:more\s+)?\s*notes?\.?\)?\s*$", re.IGNORECASE)


def note_label(text: str) -> NoteMatch | None:
    """Rule `note_label`: a line that is only a label (`Chapter End Notes`, `**Author's Endnote:**`,
    `>Notes：`, `Warning:`, AO3's `See the end of the chapter for notes`). It opens a note that runs on
    over the paragraphs after it until the story resumes: the structure pass decides how far."""
    text = text.strip()
    if len(text) > 60:
        return None
    if _POINTER.match(text):
        return NoteMatch("note_label", "other", 0.95, "AO3's pointer to the notes at the chapter's end")
    match = _LABEL.match(text)
    if not match:
        return None
    label = match["label"]
    if label[:1].islower() and label.isascii() and label.lower() not in ("a/n", "t/n"):
        return None  # `notes` as a word of a sentence; labels are written with a capital
    low = label.lower()
    kind = "disclaimer" if low.startswith("disclaimer") else (
        "other" if low in ("chapter summary", "chapter references", "warning", "warnings") else "author_note")
    return NoteMatch("note_label", kind, 0.95, f"the label '{label}' heads a note")


NOTE_RULES["note_label"] = note_label


def heads_a_note(text: str) -> bool:
    """A label that heads a note of its own (AO3's `End Notes` after a chapter's end notes). AO3's
    pointer `See the end of the chapter for notes` heads none: it points to a note elsewhere."""
    return note_label(text) is not None and not _POINTER.match(text.strip())

_LISTENING = re.compile(
    r"^[\s>*_\[(-]*(?:(?:recommended|suggested)\s+(?:listening|music|song)|random\s+\w+\s+song|bgm|ost|"
    r"music|soundtrack|song|now\s+playing|listen(?:ing)?\s+to)\s*[:\uff1a]", re.IGNORECASE)
_URL_ONLY = re.compile(r"^[\s>*_\[(<-]*(?:https?://|www\.)\S+[\s)\]>*_-]*$", re.IGNORECASE)


_LINKS_AND_CUES = re.compile(  # a link and its `(BGM: Title)` cue, joined into one paragraph
    r"^(?:[\s>*_\[(<-]*(?:https?://\S+|\(?(?:bgm|ost|music|song)\s*[:\uff1a][^)]{0,80}\)?)[\s)\]>*_<-]*){2,}$",
    re.IGNORECASE)


def listening_link(text: str) -> NoteMatch | None:
    """Rule `listening_link`: music for the reader (`Recommended listening: <url>`, `(BGM: Title)`, a
    line that is only a link): the writer's aside, not the story."""
    text = text.strip()
    if len(text) > 200:
        return None
    if _LISTENING.match(text) or _URL_ONLY.match(text) or _LINKS_AND_CUES.match(text):
        return NoteMatch("listening_link", "other", 0.9, "music or a link for the reader")
    return None


NOTE_RULES["listening_link"] = listening_link


_NOT_A_CHAPTER = re.compile(
    r"\b(?:is ?n['\u2019]?t|is not|not) (?:a|an actual|a real|really a) (?:chapter|update)\b|"
    r"\bnot a chapter\b|\bthis is (?:just )?an? (?:author['\u2019]?s note|a/n|announcement)\b", re.IGNORECASE)
_NOTE_TITLE = re.compile(r"\b(?:author['\u2019]?s? notes?|a/n|announcement|hiatus|(?:story|new story) update|"
                         r"important (?:notice|update)|not a chapter)\b", re.IGNORECASE)


def note_chapter(title: str | None, opening: str) -> NoteMatch | None:
    """Rule `note_chapter`: a chapter whose whole body is a note: its title says so (`Author's Note`,
    `Hiatus`, `NEW STORY UPDATE`), or its opening note does (`This isn't a chapter per se`)."""
    if title and _NOTE_TITLE.search(title):
        return NoteMatch("note_chapter", "other", 0.9, f"the chapter's title '{title}' names a note")
    if _NOT_A_CHAPTER.search(opening):
        return NoteMatch("note_chapter", "other", 0.9, "its opening note says it is not a chapter")
    return None
