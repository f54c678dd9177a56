"""Book covers: a generated typographic cover when there is none, or the user's own image made safe.

Generated covers must be byte-identical for the same input so that rebuilding a book does not change
its EPUB; nothing here reads the clock or a random generator. User images are untrusted files, so
every failure becomes a one-line PackagerError naming the file.
"""

from __future__ import annotations

import glob
import hashlib
import io
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFile, ImageFont, ImageOps

from packager.errors import PackagerError

# The size most stores recommend (1:1.6); user covers are scaled down to fit inside it.
COVER_SIZE = (1600, 2560)

# Larger images are refused before decoding: a small file can claim billions of pixels. This is
# Pillow's own warning threshold, which we treat as an error rather than a warning.
_MAX_PIXELS = 89_478_485

_JPEG = ("image/jpeg", "jpg")
_PNG = ("image/png", "png")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class CoverImage:
    """An encoded cover ready to be written into an EPUB or PDF."""

    data: bytes          # encoded image bytes
    media_type: str      # "image/jpeg" or "image/png"
    extension: str       # "jpg" or "png"
    width: int
    height: int
    # A generated cover keeps what it was drawn from, so the PDF can draw it again at its trim size
    # in the theme's faces: (title, authors, series, series_index, palette_seed).
    recipe: tuple | None = None


@dataclass(frozen=True)
class _Palette:
    background: Colour   # upper field, behind the title
    band: Colour         # lower field, behind the author: the second tone
    ink: Colour          # title and author text
    accent: Colour       # border rules, ornament, series line


def _hex(value: str) -> Colour:
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


# A few quiet pairs with strong text contrast; a larger, louder set would make covers look random.
_PALETTES = tuple(_Palette(*map(_hex, colours)) for colours in (
    ("#1f2a44", "#17203a", "#f3ead8", "#c9a45c"),  # midnight and gold
    ("#2f4a3a", "#253d2f", "#f1ecdf", "#d8b36a"),  # forest and brass
    ("#5a1f2b", "#4a1823", "#f6e9dc", "#d9a76a"),  # burgundy and amber
    ("#34495e", "#2a3b4d", "#eef2f3", "#a8c3d1"),  # slate and ice
    ("#f2eadb", "#e6dcc9", "#2b2b2b", "#8c2f39"),  # paper and oxblood
    ("#dfe6da", "#d0d9ca", "#243127", "#6b8f71"),  # sage and pine
    ("#2b2b2e", "#222225", "#f0e6d2", "#c27c4e"),  # charcoal and copper
    ("#23504f", "#1c4241", "#f3efe4", "#e0b872"),  # teal and sand
))

# Layout, in pixels of the 1600x2560 canvas.
_BORDER_INSET, _BORDER_WIDTH = 64, 4
_INNER_RULE_INSET, _INNER_RULE_WIDTH = 82, 2
_TEXT_LEFT, _TEXT_RIGHT = 170, COVER_SIZE[0] - 170
_SERIES_BOX = (190, 480)      # top and bottom of the series zone
_TITLE_BOX = (600, 1640)
_BAND_TOP = 1980
_AUTHOR_BOX = (2080, 2360)

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
              "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")


@lru_cache(maxsize=None)
def _font_file(name: str) -> str | None:
    """Find a face (a file name, or a path) in the usual font folders; None means "use Pillow's
    built-in font"."""
    if Path(name).is_absolute():
        return name if Path(name).is_file() else None
    for folder in _FONT_DIRS:
        found = sorted(glob.glob(str(Path(folder).expanduser() / "**" / name), recursive=True))
        if found:
            return found[0]
    return None


@lru_cache(maxsize=256)
def _face_with_letters(name: str, text: str) -> str:
    """The face to draw `text` in: `name`, unless it lacks some of the text's letters and an installed
    font has them (a Noto face, where the distribution's are installed)."""
    from packager.render.scripts import covering_fonts

    path = _font_file(name)
    if path is None:
        return name
    try:
        from fontTools.ttLib import TTFont

        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # a face fontTools cannot read: keep it
        return name
    for character in text:
        if not character.isspace() and ord(character) not in cmap:
            return next(iter(covering_fonts(character)), name)
    return name


@lru_cache(maxsize=256)
def _font(name: str, size: int) -> Font:
    path = _font_file(name)
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _clean(text: str) -> str:
    """Collapse whitespace; drop control characters and lone surrogates, which fonts cannot draw."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)
    return " ".join(text.split())


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    """Greedy word wrap; a word wider than the line is cut between characters to stay inside."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if line and draw.textlength(line + ch, font=font) > width:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return lines


def _fit(draw: ImageDraw.ImageDraw, text: str, face: str, box: tuple[int, int],
         largest: int, smallest: int, leading: float) -> tuple[Font, list[str], int]:
    """Shrink the font until the wrapped text fits the box; at the smallest size, cut with "…".

    Returns the font, the lines and the line height.
    """
    width, height = _TEXT_RIGHT - _TEXT_LEFT, box[1] - box[0]
    face = _face_with_letters(face, text)
    size = largest
    while True:
        font = _font(face, size)
        lines = _wrap(draw, text, font, width)
        step = round(size * leading)
        widest_word = max((draw.textlength(w, font=font) for w in text.split(" ")), default=0)
        # Shrink until it fits, and until no word has to be cut between letters.
        if (len(lines) * step <= height and widest_word <= width) or size <= smallest:
            break
        size = max(smallest, size - max(2, size // 12))
    keep = max(1, height // step)
    if 1 < len(lines) <= keep:
        # Balance the lines: the narrowest measure with the same line count avoids a lone last word.
        widest_word = max((draw.textlength(w, font=font) for w in text.split(" ")), default=0)
        low, high = min(width, int(widest_word) + 1), width
        while low < high:
            middle = (low + high) // 2
            if len(_wrap(draw, text, font, middle)) <= len(lines):
                high = middle
            else:
                low = middle + 1
        lines = _wrap(draw, text, font, low)
    if len(lines) > keep:
        lines = lines[:keep]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return font, lines, step


def _draw_block(draw: ImageDraw.ImageDraw, lines: list[str], font: Font, box: tuple[int, int],
                step: int, colour: Colour) -> int:
    """Draw the lines centred across the text column and within the box; return the bottom."""
    top = box[0] + (box[1] - box[0] - len(lines) * step) // 2
    centre = (_TEXT_LEFT + _TEXT_RIGHT) / 2
    for i, line in enumerate(lines):
        draw.text((centre - draw.textlength(line, font=font) / 2, top + i * step), line,
                  font=font, fill=colour)
    return top + len(lines) * step


def _series_label(series: str, index: float | None) -> str:
    """'Book 2 of The Shinobi Cycle'; whole numbers lose their '.0', half-books keep '2.5'."""
    if index is None:
        return series
    number = str(int(index)) if float(index).is_integer() else f"{index:g}"
    return f"Book {number} of {series}"


def _authors_label(authors: list[str]) -> str:
    names = [name for name in (_clean(a) for a in authors) if name]
    if len(names) <= 2:
        return " & ".join(names)
    return ", ".join(names[:-1]) + " & " + names[-1]


@dataclass(frozen=True)
class CoverFaces:
    """The font files a generated cover is drawn in: a theme's own, else DejaVu."""

    title: str = "DejaVuSerif-Bold.ttf"
    text: str = "DejaVuSans.ttf"


def generate_cover(title: str, authors: list[str], series: str | None = None,
                   series_index: float | None = None, palette_seed: str = "",
                   height: int = COVER_SIZE[1], faces: CoverFaces = CoverFaces()) -> CoverImage:
    """Draw a plain, book-like cover from the metadata, for stories that come without one.

    The palette is picked by a stable hash so a book keeps its colours across builds and machines
    (Python's hash() is salted per process, so it is not used). `height` (the width stays 1600)
    gives the cover a page's proportions, every zone moved with it, so a PDF shows it whole at its
    trim size.
    """
    key = "\x1f".join([title, *authors, palette_seed]).encode("utf-8", "replace")
    palette = _PALETTES[int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % len(_PALETTES)]
    width = COVER_SIZE[0]
    scale = height / COVER_SIZE[1]
    at = lambda box: (round(box[0] * scale), round(box[1] * scale))  # noqa: E731
    series_box, title_box, author_box = at(_SERIES_BOX), at(_TITLE_BOX), at(_AUTHOR_BOX)
    band_top = round(_BAND_TOP * scale)
    image = Image.new("RGB", (width, height), palette.background)
    draw = ImageDraw.Draw(image)

    draw.rectangle((0, band_top, width, height), fill=palette.band)
    for inset, rule in ((_BORDER_INSET, _BORDER_WIDTH), (_INNER_RULE_INSET, _INNER_RULE_WIDTH)):
        draw.rectangle((inset, inset, width - 1 - inset, height - 1 - inset),
                       outline=palette.accent, width=rule)

    if series and _clean(series):
        label = _clean(_series_label(_clean(series), series_index)).upper()
        font, lines, step = _fit(draw, label, faces.text, series_box, 56, 28, 1.4)
        _draw_block(draw, lines, font, series_box, step, palette.accent)

    title_text = _clean(title) or "Untitled"
    font, lines, step = _fit(draw, title_text, faces.title, title_box, 156, 44, 1.2)
    bottom = _draw_block(draw, lines, font, title_box, step, palette.ink)

    # Ornament: a short rule with a diamond, between the title and the author band.
    y = min(bottom + 110, band_top - 120)
    cx = width // 2
    draw.line((cx - 220, y, cx - 36, y), fill=palette.accent, width=4)
    draw.line((cx + 36, y, cx + 220, y), fill=palette.accent, width=4)
    draw.polygon([(cx, y - 18), (cx + 18, y), (cx, y + 18), (cx - 18, y)], fill=palette.accent)

    byline = _authors_label(authors)
    if byline:
        font, lines, step = _fit(draw, byline, faces.text, author_box, 84, 30, 1.3)
        _draw_block(draw, lines, font, author_box, step, palette.ink)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return CoverImage(out.getvalue(), *_PNG, width, height,
                      recipe=(title, tuple(authors), series, series_index, palette_seed))


def _sniff(data: bytes) -> str | None:
    """Name formats we refuse by their first bytes, so the message can say what the file is."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"gif87a", b"gif89a")):
        return "GIF"
    if head.startswith(b"riff") and data[8:12] == b"WEBP":
        return "WebP"
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "SVG"
    return None


MAX_COVER_BYTES = 256 * 1024 * 1024  # far more than any 89-megapixel JPEG or PNG takes


def load_cover(path: Path) -> CoverImage:
    """Read the user's JPEG or PNG cover, upright and no larger than COVER_SIZE, without metadata.

    JPEG stays JPEG (photos compress badly as PNG) and PNG stays PNG (line art and transparency
    suffer as JPEG). EXIF is dropped because it can carry location data and an orientation that
    readers would apply a second time.
    """
    path = Path(path)
    if not path.is_file():
        raise PackagerError("cover image not found", path=path)
    try:
        size = path.stat().st_size
        if size > MAX_COVER_BYTES:  # checked before a byte is read: a multi-GB file is never loaded
            raise PackagerError(f"cover image too large ({size // 1024 // 1024} MB; at most "
                                f"{MAX_COVER_BYTES // 1024 // 1024} MB)", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise PackagerError(f"cannot read cover image ({exc.strerror or exc})", path=path) from None
    other = _sniff(data)
    if other:
        raise PackagerError(f"cover image is {other}; use a JPEG or PNG image", path=path)

    truncated_allowed = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        # WeasyPrint turns this Pillow-wide switch on when it is imported (as it is in every batch
        # worker), which would let a cut-off cover through as grey pixels: a cover must be whole.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ("JPEG", "MPO", "PNG"):
                raise PackagerError(f"cover image is {image.format}; use a JPEG or PNG image",
                                    path=path)
            if image.width * image.height > _MAX_PIXELS:
                raise PackagerError(f"image too large ({image.width}x{image.height} pixels)",
                                    path=path)
            is_jpeg = image.format != "PNG"
            image.load()
            # A grey or CMYK profile would be wrong once the pixels are RGB, so only RGB keeps one.
            icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA") else None
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: to 8 bits, not clipped white
                image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
            if is_jpeg:
                image = image.convert("RGB")
            else:
                image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    except PackagerError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PackagerError("image too large", path=path) from None
    except Exception:  # Pillow reports damaged files with many exception types.
        raise PackagerError("not a readable JPEG or PNG image", path=path) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_allowed

    scale = min(COVER_SIZE[0] / image.width, COVER_SIZE[1] / image.height, 1.0)
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)

    out = io.BytesIO()
    # The colour profile is kept (dropping it shifts colours); nothing else from the source is.
    extra = {"icc_profile": icc} if icc else {}
    image.info = {}
    if is_jpeg:
        image.save(out, format="JPEG", quality=90, optimize=False, **extra)
        kind = _JPEG
    else:
        image.save(out, format="PNG", optimize=False, **extra)
        kind = _PNG
    return CoverImage(out.getvalue(), *kind, image.width, image.height)


THUMBNAIL_WIDTH = 400


def thumbnail(cover: CoverImage, width: int = THUMBNAIL_WIDTH) -> CoverImage:
    """A small copy of the cover for a library page or catalogue: JPEG, or PNG when the cover has
    transparency."""
    image = Image.open(io.BytesIO(cover.data))
    image.load()
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, format="PNG", optimize=True)
        return CoverImage(out.getvalue(), *_PNG, image.width, image.height)
    image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    return CoverImage(out.getvalue(), *_JPEG, image.width, image.height)
