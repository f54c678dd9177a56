"""One embedded font per face in a PDF merged from separately rendered documents.

Each chunk of a book is laid out by its own WeasyPrint document, which embeds its own subset of every
face it uses: a long book carried the same DejaVu Serif two dozen times. WeasyPrint subsets with the
glyph ids kept (HarfBuzz's RETAIN_GIDS, fontTools' retain_gids) and maps character codes to glyph
ids one to one (Identity-H, CIDToGIDMap /Identity), so the glyph ids in every content stream are the
font's own. Subsets of one face therefore merge into one font program holding the union of their
glyphs, each at its own id, and the content streams stay valid as they are. Their widths (/W) and
text maps (/ToUnicode) merge the same way, and every page then names one font dictionary per face.

Subsets are only merged when they are truly of one face: the same name and kind, the same units per
em, and the same outline for every glyph id both hold. A font that cannot be read or merged is left
as it was (correct, only larger).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field

import pikepdf

LOGGER = logging.getLogger(__name__)

# A CFF charstring of more bytes than this draws something: a blank glyph is at most a width (a
# number, 5 bytes at most) and `endchar` (1 byte). Shorter ones are decompiled to tell.
EMPTY_CHARSTRING = 6
_HEX_PAIR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")
_BLOCK = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.DOTALL)


@dataclass
class _Face:
    """The Type0 font dictionaries of one face, and the font program they come to share."""

    fonts: list[pikepdf.Dictionary] = field(default_factory=list)
    program: object = None  # the merged fontTools TTFont
    glyphs: dict[int, bytes] = field(default_factory=dict)  # its non-empty glyphs by id


def merge_fonts(pdf: pikepdf.Pdf) -> None:
    """Replace the subsets of each face in `pdf` by one font, in place."""
    groups: dict[tuple, list[pikepdf.Dictionary]] = {}
    uses: dict[tuple[int, int], list[tuple[pikepdf.Dictionary, pikepdf.Name]]] = {}
    for resources, name, font in _font_uses(pdf):
        key = _face_key(font)
        if key is None:
            continue
        if font.objgen not in uses:
            groups.setdefault(key, []).append(font)
        uses.setdefault(font.objgen, []).append((resources, name))
    for key, fonts in groups.items():
        if len(fonts) > 1:
            for face in _faces(fonts):
                if len(face.fonts) > 1:
                    _unify(pdf, key, face, uses)


def _font_uses(pdf: pikepdf.Pdf):
    """(resource dictionary, resource name, Type0 font) for every font the pages and their forms name."""
    seen: set[tuple[int, int]] = set()
    stack = [page.obj.get("/Resources") for page in pdf.pages]
    while stack:
        resources = stack.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        fonts = resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            for name in sorted(fonts.keys()):
                font = fonts[name]
                if isinstance(font, pikepdf.Dictionary) and font.is_indirect and font.get("/Subtype") == "/Type0":
                    yield fonts, pikepdf.Name(name), font
        for kind in ("/XObject", "/Pattern"):
            children = resources.get(kind)
            if isinstance(children, pikepdf.Dictionary):
                for child_name in sorted(children.keys()):
                    child = children[child_name]
                    if isinstance(child, (pikepdf.Stream, pikepdf.Dictionary)) and "/Resources" in child:
                        stack.append(child.Resources)


def _descendant(font: pikepdf.Dictionary) -> pikepdf.Dictionary:
    return font.DescendantFonts[0]


def _program_key(descriptor: pikepdf.Dictionary) -> str | None:
    for key in ("/FontFile2", "/FontFile3"):
        if key in descriptor:
            return key
    return None


def _face_key(font: pikepdf.Dictionary) -> tuple | None:
    """What subsets of one face have in common: name without its subset tag, kinds, program kind."""
    try:
        cid = _descendant(font)
        descriptor = cid.FontDescriptor
        program = _program_key(descriptor)
        if program is None or str(cid.get("/CIDToGIDMap", "")) != "/Identity":
            return None
        name = str(font.BaseFont).lstrip("/")
        base = name[7:] if len(name) > 7 and name[6] == "+" else name
        return (base, str(cid.Subtype), program, str(descriptor.get("/FontFamily", "")))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None


def _faces(fonts: list[pikepdf.Dictionary]) -> list[_Face]:
    """The fonts sorted into faces: each joins the first whose program agrees with its own."""
    from fontTools.ttLib import TTFont

    loaded = []
    for font in fonts:
        descriptor = _descendant(font).FontDescriptor
        try:
            program = TTFont(io.BytesIO(descriptor[_program_key(descriptor)].read_bytes()), recalcTimestamp=False)
            loaded.append((font, program, _glyphs(program)))
        except Exception as error:  # noqa: BLE001 - an unreadable program stays as it is
            LOGGER.info("font %s left unmerged: %s", font.BaseFont, error)
    # The subset reaching the highest glyph id first: it has a place for every other subset's glyphs.
    loaded.sort(key=lambda item: -len(item[1].getGlyphOrder()))
    faces: list[_Face] = []
    for font, program, glyphs in loaded:
        for face in faces:
            try:
                if _agree(face, program, glyphs):
                    _add_glyphs(face, program, glyphs)
                    face.fonts.append(font)
                    break
            except Exception as error:  # noqa: BLE001 - a font that will not merge stays as it is
                LOGGER.info("font %s left unmerged: %s", font.BaseFont, error)
                break
        else:
            faces.append(_Face([font], program=program, glyphs=glyphs))
    return faces


def _glyphs(program) -> dict[int, bytes]:
    """The non-empty glyphs of a subset by glyph id, as compiled (component references as ids)."""
    order = program.getGlyphOrder()
    found = {}
    if "glyf" in program:
        table = program["glyf"]
        for gid, name in enumerate(order):
            glyph = table[name]
            if glyph.numberOfContours != 0:
                found[gid] = glyph.compile(table)
    else:
        top = program["CFF "].cff.topDictIndex[0]
        stored = _stored_charstrings(top.CharStrings)
        for gid, name in enumerate(order):
            data = stored(name)
            if data is not None and (len(data) > EMPTY_CHARSTRING or _blank(data)):
                if len(data) > EMPTY_CHARSTRING:  # an outline: kept as read
                    found[gid] = data
                continue  # a width and `endchar`: a blank kept for its id
            charstring = top.CharStrings[name]
            data = getattr(charstring, "bytecode", None)
            if data is not None and len(data) > EMPTY_CHARSTRING:  # an outline: kept as read
                found[gid] = data
                continue
            if data is not None and _blank(data):  # a width and `endchar`: a blank kept for its id
                continue
            charstring.decompile()
            if any(op for op in charstring.program if isinstance(op, str) and op not in ("endchar",)):
                charstring.compile()
                found[gid] = charstring.bytecode
    return found


def _stored_charstrings(charstrings):
    """A glyph name's charstring as stored in the font (None when it is not at hand that way): read
    from the CFF's index directly, without making each of a subset's thousands of glyphs an object."""
    index = getattr(charstrings, "charStringsIndex", None)
    try:
        data = index.file.getvalue()
        offsets, base, items = index.offsets, index.offsetBase, index.items
    except AttributeError:
        return lambda name: None

    def stored(name: str) -> bytes | None:
        number = charstrings.charStrings.get(name)
        if not isinstance(number, int) or items[number] is not None:  # made already: maybe changed
            return None
        return data[base + offsets[number]:base + offsets[number + 1]]
    return stored


def _blank(bytecode: bytes) -> bool:
    """A Type 2 charstring of numbers and `endchar` only (a subset's place-holder for a glyph id it
    does not use): read here, since decompiling each of a subset's thousands of them is slow."""
    index = 0
    while index < len(bytecode):
        byte = bytecode[index]
        if 32 <= byte <= 246:
            index += 1
        elif 247 <= byte <= 254:
            index += 2
        elif byte == 28:
            index += 3
        elif byte == 255:
            index += 5
        else:  # an operator: only `endchar`, last
            return byte == 14 and index == len(bytecode) - 1
    return False


def _agree(face: _Face, other, glyphs: dict[int, bytes]) -> bool:
    """Two subsets of one face: same units per em, and the same outline wherever both have one."""
    base = face.program
    if base["head"].unitsPerEm != other["head"].unitsPerEm or ("glyf" in base) != ("glyf" in other):
        return False
    return all(face.glyphs[gid] == data for gid, data in glyphs.items() if gid in face.glyphs)


def _add_glyphs(face: _Face, other, glyphs: dict[int, bytes]) -> None:
    """Copy into the face's program the glyphs `other` has and it lacks, at the same ids, with their
    metrics."""
    from fontTools.ttLib.tables._g_l_y_f import Glyph

    base = face.program
    order, other_order = base.getGlyphOrder(), other.getGlyphOrder()
    if len(other_order) > len(order):
        raise ValueError("a subset with more glyph ids than the first")  # RETAIN_GIDS pads to the last used id
    for gid, data in glyphs.items():
        if gid in face.glyphs:
            continue
        face.glyphs[gid] = data
        name, other_name = order[gid], other_order[gid]
        if "glyf" in base:
            glyph = Glyph(data)
            glyph.expand(base["glyf"])
            base["glyf"][name] = glyph
        else:
            charstrings = base["CFF "].cff.topDictIndex[0].CharStrings
            charstrings[name].bytecode = data
            charstrings[name].program = None
            charstrings[name].decompile()
        base["hmtx"][name] = other["hmtx"][other_name]
    for gid, other_name in enumerate(other_order):  # blank glyphs (a space) have metrics too
        if base["hmtx"][order[gid]] == (0, 0) and other["hmtx"][other_name] != (0, 0):
            base["hmtx"][order[gid]] = other["hmtx"][other_name]


def _unify(pdf: pikepdf.Pdf, key: tuple, face: _Face, uses) -> None:
    """One program for the face; one font dictionary too when their encodings allow it."""
    program = io.BytesIO()
    face.program.save(program)
    data = program.getvalue()
    stream = pikepdf.Stream(pdf, data)
    if key[2] == "/FontFile2":
        stream[pikepdf.Name.Length1] = len(data)
    else:
        stream[pikepdf.Name.Subtype] = pikepdf.Name.OpenType
    shared = []  # the fonts one dictionary can stand for, and those that keep their own
    if all(str(font.get("/Encoding", "")) == "/Identity-H" for font in face.fonts):
        shared = _readable_together(face.fonts)
    for number, fonts in enumerate(shared):
        # Each dictionary its own name: a reader may take two fonts of one name for one.
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(b"%d\0%s" % (number, data)).digest()[:6])
        dictionary = _one_dictionary(pdf, fonts, stream, pikepdf.Name(f"/{tag}+{key[0]}"))
        for font in fonts:
            for resources, resource_name in uses[font.objgen]:
                resources[resource_name] = dictionary
    unified = {font.objgen for fonts in shared for font in fonts}
    for font in face.fonts:  # own encodings: their own dictionaries, the one program
        if font.objgen not in unified:
            _descendant(font).FontDescriptor[key[2]] = stream


def _readable_together(fonts: list[pikepdf.Dictionary]) -> list[list[pikepdf.Dictionary]]:
    """The fonts in groups whose text maps agree: a glyph that reads as 'I' in one chunk and 'i' in
    another (a small-caps face) keeps both readings, in two dictionaries over the one program."""
    groups: list[tuple[dict[int, bytes], list[pikepdf.Dictionary]]] = []
    for font in fonts:
        try:
            texts = _to_unicode(font.ToUnicode.read_bytes())
            _widths(_descendant(font).get("/W", pikepdf.Array()))
        except (ValueError, AttributeError, TypeError, IndexError):
            continue
        for known, members in groups:
            if all(known.get(gid, text) == text for gid, text in texts.items()):
                known.update(texts)
                members.append(font)
                break
        else:
            groups.append((dict(texts), [font]))
    return [members for _, members in groups]


def _one_dictionary(pdf: pikepdf.Pdf, fonts: list[pikepdf.Dictionary], stream: pikepdf.Stream,
                    name: pikepdf.Name) -> pikepdf.Dictionary:
    """One Type0 font for `fonts`: their widths and text maps together, over the merged program."""
    widths: dict[int, float] = {}
    texts: dict[int, bytes] = {}
    for font in fonts:
        widths = _widths(_descendant(font).get("/W", pikepdf.Array())) | widths
        texts = _to_unicode(font.ToUnicode.read_bytes()) | texts
    first = fonts[0]
    descriptor = pikepdf.Dictionary(_descendant(first).FontDescriptor)
    boxes = [[float(v) for v in _descendant(f).FontDescriptor.FontBBox] for f in fonts]
    descriptor.FontBBox = pikepdf.Array([min(b[0] for b in boxes), min(b[1] for b in boxes),
                                         max(b[2] for b in boxes), max(b[3] for b in boxes)])
    descriptor.FontName = name
    descriptor[_program_key(descriptor)] = stream
    if "/CIDSet" in descriptor:
        last = max(widths) if widths else 0
        bits = bytearray((last // 8) + 1)
        for cid in widths:
            bits[cid // 8] |= 0x80 >> (cid % 8)
        descriptor.CIDSet = pikepdf.Stream(pdf, bytes(bits))
    cid = pikepdf.Dictionary(_descendant(first))
    cid.BaseFont = name
    cid.W = _width_array(widths)
    cid.FontDescriptor = pdf.make_indirect(descriptor)
    font = pikepdf.Dictionary(first)
    font.BaseFont = name
    font.DescendantFonts = pikepdf.Array([pdf.make_indirect(cid)])
    font.ToUnicode = pikepdf.Stream(pdf, _cmap(texts))
    return pdf.make_indirect(font)


def _widths(array: pikepdf.Array) -> dict[int, float]:
    """A CIDFont /W array read into widths by glyph id (both of its forms)."""
    widths: dict[int, float] = {}
    items = list(array)
    index = 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            for offset, width in enumerate(items[index + 1]):
                widths[first + offset] = float(width)
            index += 2
        else:
            for cid in range(first, int(items[index + 1]) + 1):
                widths[cid] = float(items[index + 2])
            index += 3
    return widths


def _width_array(widths: dict[int, float]) -> pikepdf.Array:
    array: list = []
    for cid in sorted(widths):
        if cid - 1 not in widths:
            array.extend([cid, []])
        width = widths[cid]
        array[-1].append(int(width) if float(width).is_integer() else width)
    return pikepdf.Array([pikepdf.Array(item) if isinstance(item, list) else item for item in array])


def _to_unicode(cmap: bytes) -> dict[int, bytes]:
    """A ToUnicode CMap read into UTF-16BE text by glyph id (bfchar entries, bfrange with one start)."""
    texts: dict[int, bytes] = {}
    for kind, body in _BLOCK.findall(cmap):
        if kind == b"bfchar":
            for code, text in _HEX_PAIR.findall(body):
                texts[int(code, 16)] = bytes.fromhex(text.decode())
        else:
            for low, high, start in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", body):
                value = int(start, 16)
                width = len(start) // 2
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    texts[code] = (value + offset).to_bytes(width, "big")
            if b"[" in body:
                raise ValueError("a bfrange with an array of texts")
    return texts


def _cmap(texts: dict[int, bytes]) -> bytes:
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap", b"/CIDSystemInfo",
             b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0", b">> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def", b"1 begincodespacerange",
             b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(texts.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines.extend(f"<{gid:04x}> <{text.hex()}>".encode() for gid, text in batch)
        lines.append(b"endbfchar")
    lines.extend([b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"])
    return b"\n".join(lines)
