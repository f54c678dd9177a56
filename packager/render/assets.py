"""Where looks come from: themes in styles/, templates in templates/, and the page size option."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from packager.errors import PackagerError
from packager.model import Span

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PAGE_SIZES = {"a5": "A5", "a4": "A4", "letter": "letter", "6x9in": "6in 9in"}
_CUSTOM_SIZE = re.compile(r"^(?P<w>\d+(?:\.\d+)?)x(?P<h>\d+(?:\.\d+)?)(?P<unit>in|mm|cm)$")
_REMOTE = re.compile(r"\bhttps?://", re.IGNORECASE)


def _data_dir(name: str) -> Path:
    """styles/ and templates/ sit beside the package in a checkout, inside it when installed."""
    for candidate in (_PACKAGE_ROOT / name, _PACKAGE_ROOT.parent / name):
        if candidate.is_dir():
            return candidate
    raise PackagerError(f"packager is installed without its {name}/ folder", _PACKAGE_ROOT)


def styles_dir() -> Path:
    return _data_dir("styles")


def templates_dir() -> Path:
    return _data_dir("templates")


def theme_names() -> list[str]:
    return sorted(p.name for p in styles_dir().iterdir() if (p / "theme.css").is_file())


def css_page_size(option: str) -> str:
    """`a5`, `a4`, `letter`, `6x9in` or a custom `WIDTHxHEIGHT` with a unit (`140x216mm`)."""
    key = option.strip().lower()
    if key in PAGE_SIZES:
        return PAGE_SIZES[key]
    match = _CUSTOM_SIZE.match(key)
    if match:
        return f"{match['w']}{match['unit']} {match['h']}{match['unit']}"
    raise PackagerError(f"--page-size: unknown size '{option}' (use a5, a4, letter, 6x9in or e.g. 140x216mm)",
                        usage=True)


_MM = {"in": 25.4, "mm": 1.0, "cm": 10.0}
_WIDTH_MM = {"a5": 148.0, "a4": 210.0, "letter": 215.9, "6x9in": 152.4}
_HEIGHT_MM = {"a5": 210.0, "a4": 297.0, "letter": 279.4, "6x9in": 228.6}


@dataclass(frozen=True)
class PageGeometry:
    """Page size and margins in millimetres; the inner margin is on the binding side."""

    size: str
    top: float
    bottom: float
    inner: float
    outer: float
    width: float = 148.0  # the trim size, in millimetres
    height: float = 210.0

    @property
    def middle(self) -> float:
        """The margin a chunk is rendered with on both sides: the same text width as the book's."""
        return (self.inner + self.outer) / 2

    @property
    def shift_points(self) -> float:
        """How far a chunk's page moves right on a recto (left on a verso) to reach its margins."""
        return (self.inner - self.outer) / 2 * 72 / 25.4

    def css(self) -> str:
        mm = lambda value: f"{value:g}mm"  # noqa: E731
        return environment().get_template("page.css.j2").render(
            size=self.size, top=mm(self.top), bottom=mm(self.bottom), inner=mm(self.inner), outer=mm(self.outer))

    def chunk_css(self) -> str:
        return environment().get_template("chunk.css.j2").render(middle=f"{self.middle:g}mm")


# The smallest text block a page may leave (a narrow pocket book's), and the largest page a PDF can
# describe (14,400 units of 1/72 in): a smaller page would turn a story into thousands of pages.
MIN_TEXT_WIDTH_MM = 40.0
MIN_TEXT_HEIGHT_MM = 60.0
MAX_PAGE_MM = 14_400 / 72 * 25.4


def page_geometry(option: str) -> PageGeometry:
    """Margins that suit the page: a pocket book's for A5 and 6x9in, wider ones for A4 and Letter. A
    custom size must leave a text block of at least 40 x 60 mm and stay within the PDF's 200 inches."""
    size = css_page_size(option)
    key = option.strip().lower()
    match = _CUSTOM_SIZE.match(key)
    width = float(match["w"]) * _MM[match["unit"]] if match else _WIDTH_MM[key]
    height = float(match["h"]) * _MM[match["unit"]] if match else _HEIGHT_MM[key]
    # Classical proportions: head < inner < outer < foot (the two inner margins face each other
    # across the spine and read as one), the text block set towards the spine and the head.
    if width >= 200:
        geometry = PageGeometry(size, top=20, bottom=30, inner=22, outer=30, width=width, height=height)
    else:
        geometry = PageGeometry(size, top=15, bottom=24, inner=17, outer=23, width=width, height=height)
    if match:
        if width > MAX_PAGE_MM or height > MAX_PAGE_MM:
            raise PackagerError(f"--page-size: '{option}' is larger than a PDF page can be "
                                f"({MAX_PAGE_MM:.0f} mm, 200 in, a side)", usage=True)
        text_width = width - geometry.inner - geometry.outer
        text_height = height - geometry.top - geometry.bottom
        if text_width < MIN_TEXT_WIDTH_MM or text_height < MIN_TEXT_HEIGHT_MM:
            smallest = (f"{MIN_TEXT_WIDTH_MM + geometry.inner + geometry.outer:g}x"
                        f"{MIN_TEXT_HEIGHT_MM + geometry.top + geometry.bottom:g}mm")
            raise PackagerError(f"--page-size: '{option}' leaves too little room for the text "
                                f"(the smallest page is {smallest})", usage=True)
    return geometry


@dataclass
class Theme:
    """A theme's stylesheets: `epub_css` for both formats, `print_css` only for the PDF."""

    name: str
    epub_css: str
    print_css: str
    roots: list[Path] = field(default_factory=list)  # folders the PDF renderer may read from
    warnings: list[str] = field(default_factory=list)
    geometry: PageGeometry = field(default_factory=lambda: page_geometry("a5"))
    user_css: str = ""  # a user's stylesheet, laid over the theme in both formats
    user_css_path: Path | None = None  # its relative url()s resolve beside it
    recto: bool = False  # chapters open on right-hand pages
    fonts: list[FontFile] = field(default_factory=list)  # font files the EPUB embeds
    cover_faces: tuple[str, str] | None = None  # font files (title, text) of a generated cover in print
    user_css_epub: str = ""  # the same without @import and url(): an EPUB holds only the book's files
    user_css_references: int = 0  # how many @imports and url()s that left out
    ornament: str = "* * *"  # the scene-break ornament, set in the markup; `rule` for a plain rule


@dataclass(frozen=True)
class FontFile:
    family: str
    style: str
    weight: str
    path: Path

    @property
    def media_type(self) -> str:
        return "font/otf" if self.path.suffix.lower() == ".otf" else "font/ttf"


def font_dirs() -> list[Path]:
    """Where a theme's font files are looked for: $PACKAGER_FONT_DIRS when set, else fontconfig's
    usual folders."""
    if "PACKAGER_FONT_DIRS" in os.environ:
        return [Path(p) for p in os.environ["PACKAGER_FONT_DIRS"].split(os.pathsep) if p]
    home = Path.home()
    return [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".local/share/fonts", home / ".fonts"]


def find_font(file_name: str) -> Path | None:
    for folder in font_dirs():
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob(file_name))), None)
            if found is not None:
                return found
    return None


def theme_fonts(folder: Path) -> tuple[list[FontFile], list[str]]:
    """The font files a theme's fonts.toml names, found among the installed fonts; a missing one is
    a warning, and the theme's font stacks fall back to the next family."""
    listing = folder / "fonts.toml"
    if not listing.is_file():
        return [], []
    spec = tomllib.loads(listing.read_text(encoding="utf-8"))
    fonts, missing = [], []
    for font in spec.get("font", []):
        path = find_font(font["file"])
        if path is None:
            missing.append(font["file"])
        elif font.get("embed", True):  # `embed = false`: a face the PDF prints but the EPUB leaves to the reader
            fonts.append(FontFile(font["family"], font.get("style", "normal"), font.get("weight", "normal"), path))
    warnings = []
    if missing:
        package = spec.get("package")
        hint = f" (install the {package} package)" if package else ""
        warnings.append(f"theme {folder.name}: font {', '.join(missing)} not installed{hint}; "
                        "the text falls back to the next font in the theme's list")
    return fonts, warnings


def theme_cover_faces(folder: Path) -> tuple[str, str] | None:
    """The faces a generated cover is drawn in for the PDF, from the `[cover]` table of the theme's
    fonts.toml (`title` and `text` font files), when both are installed."""
    listing = folder / "fonts.toml"
    if not listing.is_file():
        return None
    cover = tomllib.loads(listing.read_text(encoding="utf-8")).get("cover", {})
    paths = [find_font(cover[k]) for k in ("title", "text") if k in cover]
    if len(paths) != 2 or None in paths:
        return None
    return str(paths[0]), str(paths[1])


def load_theme(style: str | None, page_size: str = "a5", scene_break: str | None = None,
               recto: bool = False) -> Theme:
    """`style` is a theme name from styles/ or a path to a user's .css laid over the default theme;
    `scene_break` replaces the theme's ornament with a text of the user's, or `rule` for a plain rule;
    `recto` opens every chapter and part on a right-hand page in the PDF."""
    user_css_path: Path | None = None
    name = "classic"
    if style:
        if style.lower().endswith(".css"):
            user_css_path = Path(style)
            if not user_css_path.is_file():
                raise PackagerError("stylesheet not found", user_css_path)
        else:
            name = style
    folder = styles_dir() / name
    if name not in theme_names():  # a name, never a path: `../../elsewhere` is no theme
        raise PackagerError(f"--style: unknown theme '{name}' (themes: {', '.join(theme_names())})", usage=True)
    base = (styles_dir() / "base.css").read_text(encoding="utf-8")
    epub_css = base + "\n" + (folder / "theme.css").read_text(encoding="utf-8")
    print_css = (styles_dir() / "print.css").read_text(encoding="utf-8")
    if (folder / "print.css").is_file():
        print_css += "\n" + (folder / "print.css").read_text(encoding="utf-8")
    if recto:
        print_css += "\n" + (styles_dir() / "recto.css").read_text(encoding="utf-8")
    geometry = page_geometry(page_size)
    print_css += "\n" + geometry.css()
    fonts, font_warnings = theme_fonts(folder)
    theme = Theme(name, epub_css, print_css, [styles_dir()], font_warnings, geometry, recto=recto, fonts=fonts,
                  cover_faces=theme_cover_faces(folder))
    if (folder / "theme.toml").is_file():
        theme.ornament = tomllib.loads((folder / "theme.toml").read_text(encoding="utf-8")).get(
            "scene_break", theme.ornament)
    if scene_break:
        theme.ornament = scene_break
    if user_css_path is not None:
        try:
            user_css = user_css_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PackagerError(f"cannot read stylesheet: {error}", user_css_path) from None
        depth = _nesting(user_css)
        if depth > MAX_CSS_NESTING:
            raise PackagerError(f"stylesheet nested {depth} levels deep (at most {MAX_CSS_NESTING})", user_css_path)
        if _REMOTE.search(user_css):
            theme.warnings.append(f"{user_css_path}: refers to a remote address; nothing is fetched")
        theme.user_css = user_css
        theme.user_css_path = user_css_path.resolve()
        theme.user_css_epub, theme.user_css_references = css_for_epub(user_css)
        theme.roots.append(user_css_path.resolve().parent)
    return theme


MAX_CSS_NESTING = 64  # brackets within brackets; real stylesheets stay under 10


def _nesting(css: str) -> int:
    """How deep the stylesheet's brackets nest (`:not(:not(…))`, blocks in blocks): the CSS parsers
    recurse once a level, so a deep one would end in RecursionError."""
    depth = deepest = 0
    for char in css:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    return deepest


_URL_FUNCTIONS = {"url", "src", "image-set", "-webkit-image-set", "image"}


def css_for_epub(css: str) -> tuple[str, int]:
    """A user's stylesheet as an EPUB can carry it: the EPUB holds only the book's own files, so
    `@import` rules are left out and every `url()` but a `data:` URI becomes `none` (a reader would
    otherwise fetch it from the network or find nothing). Returns the stylesheet and how many
    references it lost."""
    import tinycss2  # WeasyPrint's own CSS parser

    kept = []
    removed = 0
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True):
        if rule.type == "error":  # a rule the parser could not read: no reader could either
            continue
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            removed += 1
            continue
        if rule.type == "qualified-rule" or (rule.type == "at-rule" and rule.lower_at_keyword != "namespace"):
            removed += _without_urls(rule.prelude) + _without_urls(rule.content or [])  # a namespace is a name
        kept.append(rule)
    return tinycss2.serialize(kept), removed


def _without_urls(nodes: list) -> int:
    """Replace, in place, each url() of a component-value list (at any depth) that is not a data: URI."""
    from tinycss2.ast import IdentToken

    removed = 0
    for index, node in enumerate(nodes):
        if _is_reference(node):
            nodes[index] = IdentToken(node.source_line, node.source_column, "none")
            removed += 1
        else:
            for children in (getattr(node, "arguments", None), getattr(node, "content", None)):
                if isinstance(children, list):
                    removed += _without_urls(children)
    return removed


def _is_reference(node) -> bool:
    if node.type == "url":
        return not node.value.strip().lower().startswith("data:")
    if node.type == "error":
        return node.kind == "bad-url"
    if node.type == "function" and node.lower_name in _URL_FUNCTIONS:
        strings = [a for a in node.arguments if a.type == "string"]
        return not (node.lower_name in ("url", "src") and len(strings) == 1
                    and strings[0].value.strip().lower().startswith("data:"))
    return False


def _css_string(text: str) -> Markup:
    """Text safe inside a CSS string, in a stylesheet file or a <style> element alike: quotes,
    backslashes, markup characters (`<`, `>`, `&`), line ends and other control characters escaped as
    CSS escapes, so the template's HTML escaping has nothing left to do (`Tom & Jerry` must not
    print `&amp;`)."""
    return Markup("".join(f"\\{ord(c):x} " if c in '"\'\\<>&' or ord(c) < 32 or ord(c) == 127 else c
                          for c in text))


def _series_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def inline_markup(block) -> Markup:
    """A block's spans as escaped text with <em> and <strong>: the only markup story text can make."""
    parts = []
    for span in block.spans if block.spans is not None else [Span(block.text)]:
        text = escape(span.text)
        if span.italic:
            text = Markup("<em>%s</em>") % text
        if span.bold:
            text = Markup("<strong>%s</strong>") % text
        parts.append(text)
    return Markup("").join(parts)


LINE_SET_IN = 2      # leading spaces of a kept line (see Block.lines_kept) that set it in
LINE_SET_RIGHT = 10  # ... and that set it to the right, as a letter's signature stands
LINE_OF_PROSE = 80   # a kept line longer than a typewriter's is wrapped prose joined (a letter's body)


def lines_markup(block) -> Markup:
    """A paragraph that keeps its lines (`Block.lines_kept`): each line in `<span class="line">`
    (`line-in` when the source set it in, `line-right` when it stood far to the right, `line-prose`
    when it is a run of prose, such as a letter's body above its signature), the lines parted by `<br/>`, which themes hide once a line is its own block (so a line that wraps can hang)
    and which a reader without styles still breaks at."""
    spans = block.spans if block.spans is not None else [Span(block.text)]
    lines: list[list[Span]] = [[]]
    for span in spans:
        for k, piece in enumerate(span.text.split("\n")):
            if k:
                lines.append([])
            lines[-1].append(Span(piece, span.italic, span.bold))
    out = []
    for line in lines:
        text = "".join(span.text for span in line)
        indent = len(text) - len(text.lstrip(" "))
        if line:
            line[0] = Span(line[0].text.lstrip(" "), line[0].italic, line[0].bold)
        kind = " line-right" if indent >= LINE_SET_RIGHT else " line-in" if indent >= LINE_SET_IN \
            else " line-prose" if len(text) > LINE_OF_PROSE else ""
        out.append(Markup('<span class="line%s">%s</span>') % (kind, inline_markup(_Spans(line))))
    return Markup("<br/>").join(out)


LEAD_IN_CHARACTERS = 18  # about the first three words: what a book sets in small caps after the sink


_INITIAL = re.compile(r"^(?P<quote>[\"'“‘«„‚(\[]*)(?P<letter>\w)(?P<rest>\S*)(?P<tail>.*)$", re.DOTALL)


def lead_in_markup(block, initial: bool = False) -> Markup:
    """A chapter's first paragraph with its opening words in `<span class="lead-in">`, which themes
    set in small caps. With `initial` (the PDF), its first letter is set apart in
    `<span class="initial">` for a theme's drop cap, an opening quotation mark before it in
    `<span class="initial-quote">` (so it is not blown up to the capital's size), and a first word in
    capitals (`MARLEY`) is given in lower case after its initial: the small caps print it as capitals
    of one size beside the drop cap, where the source's capitals would stand taller."""
    spans = list(block.spans) if block.spans is not None else [Span(block.text)]
    if not spans:
        return inline_markup(block)
    first = spans[0]
    cut = 0  # end of the last whole word that still fits, at least one word
    for word in re.finditer(r"\S+", first.text):
        if cut and word.end() > LEAD_IN_CHARACTERS:
            break
        cut = word.end()
    lead, rest = Span(first.text[:cut], first.italic, first.bold), Span(first.text[cut:], first.italic, first.bold)
    match = _INITIAL.match(lead.text) if initial else None
    if match is None:
        head = Markup('<span class="lead-in">%s</span>') % inline_markup(_Spans([lead]))
        return head + inline_markup(_Spans([rest, *spans[1:]]))
    word = match["rest"]
    if len(word) > 1 and word.isupper():
        word = word.lower()
    quote = Markup('<span class="initial-quote">%s</span>') % match["quote"] if match["quote"] else Markup("")
    letter = Markup('<span class="initial">%s%s</span>') % (quote, match["letter"])
    after = inline_markup(_Spans([Span(word + match["tail"], first.italic, first.bold)]))
    styled = Markup("<em>%s</em>") if first.italic else Markup("%s")
    styled = Markup("<strong>%s</strong>") % styled if first.bold else styled
    head = Markup('<span class="lead-in">%s%s</span>') % (styled % letter, after)
    return head + inline_markup(_Spans([rest, *spans[1:]]))


@dataclass
class PlacedBlock:
    block: object
    refs: list = field(default_factory=list)  # the markers of the notes that stood right after it


@dataclass
class PlacedMarkers:
    leading: list  # markers of notes before the chapter's first paragraph: set after its heading
    items: list[PlacedBlock]


def place_note_markers(blocks) -> PlacedMarkers:
    """A chapter's blocks with each endnote marker (a `noteref` block where a note stood) moved to
    the end of the paragraph before it, where a reader expects a note's number; markers before any
    paragraph go with the chapter's heading."""
    leading: list = []
    items: list[PlacedBlock] = []
    last_paragraph: PlacedBlock | None = None
    for block in blocks:
        if block.kind == "note" and block.note_kind == "noteref":
            (last_paragraph.refs if last_paragraph is not None else leading).append(block)
            continue
        items.append(PlacedBlock(block))
        if block.kind == "paragraph":
            last_paragraph = items[-1]
    return PlacedMarkers(leading, items)


def note_number(anchor: str) -> int:
    """An endnote's number, as printed on its marker and in the list: its place among the book's
    notes (the notes transform and an anthology both name the n-th note `note-n`)."""
    return int(anchor.rsplit("-", 1)[1])


@dataclass
class _Spans:
    spans: list[Span]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Jinja2 with autoescaping on: story text never becomes markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        trim_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["series_number"] = _series_number
    env.filters["inline"] = inline_markup
    env.filters["lead_in"] = lead_in_markup
    env.filters["lines"] = lines_markup
    env.filters["place_note_markers"] = place_note_markers
    env.filters["note_number"] = note_number
    env.filters["css_string"] = _css_string
    env.filters["thousands"] = lambda number: f"{int(number):,}"
    return env
