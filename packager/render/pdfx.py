"""PDF/X-1a:2003 and PDF/X-3:2003 for print: what printers' preflight checks, made and checked.

WeasyPrint writes the PDF/X markers only for a book laid out as one document, and keeps sRGB colours
as DeviceRGB, which PDF/X-1a refuses. A book's pages hold black and grey text, a few coloured rules
and, on a cover, one image, so the merged PDF is made PDF/X here with pikepdf: RGB colours become
grey (when neutral) or CMYK, images CMYK, and the output intent names the registered characterisation
of the US web-offset presses the services print on, CGATS TR 001 (SWOP), which the ICC registry
lists, so no profile need be embedded. PDF/X-4 needs an embedded CMYK profile, which no package
this project uses ships, so it is not offered.
"""

from __future__ import annotations

import zlib

import pikepdf

PDFX_VARIANTS = {"pdf/x-1a": "PDF/X-1a:2003", "pdf/x-3": "PDF/X-3:2003"}
CONDITION = "CGATS TR 001"
REGISTRY = "http://www.color.org"
CONDITION_INFO = "SWOP (Publication) Grade 5 paper, US web offset"
_RGB = {"rg": "g", "RG": "G"}
_CMYK = {"rg": "k", "RG": "K"}


def make_pdfx(document: pikepdf.Pdf, variant: str) -> None:
    """Make `document` PDF/X in place: colours and images, output intent, version markers."""
    version = PDFX_VARIANTS[variant]
    for stream in _content_streams(document):
        _recolour(document, stream)
    for image in _images(document):
        _cmyk_image(image)
    document.Root.OutputIntents = pikepdf.Array([document.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
        OutputConditionIdentifier=pikepdf.String(CONDITION), RegistryName=pikepdf.String(REGISTRY),
        Info=pikepdf.String(CONDITION_INFO), OutputCondition=pikepdf.String(CONDITION_INFO)))])
    document.docinfo["/GTS_PDFXVersion"] = pikepdf.String(version)
    if variant == "pdf/x-1a":
        document.docinfo["/GTS_PDFXConformance"] = pikepdf.String(version)
    document.docinfo["/Trapped"] = pikepdf.Name("/False")
    with document.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfxid:GTS_PDFXVersion"] = version
        meta["pdf:Trapped"] = "False"


def pdfx_problems(document: pikepdf.Pdf) -> list[str]:
    """What keeps `document` from being PDF/X-1a or X-3 as made here: a missing output intent, version
    marker or trim box, RGB colour or images, transparency."""
    problems = []
    intents = document.Root.get("/OutputIntents", [])
    if not any(intent.get("/S") == "/GTS_PDFX" and "/OutputConditionIdentifier" in intent for intent in intents):
        problems.append("no PDF/X output intent")
    if "/GTS_PDFXVersion" not in document.docinfo:
        problems.append("no GTS_PDFXVersion")
    if str(document.docinfo.get("/Trapped", "")) != "/False":
        problems.append("Trapped is not set")
    for number, page in enumerate(document.pages, 1):
        if "/TrimBox" not in page.obj:
            problems.append(f"page {number} has no trim box")
            break
    for stream in _content_streams(document):
        operators = {str(op) for _, op in pikepdf.parse_content_stream(stream)}
        if operators & {"rg", "RG"}:
            problems.append("RGB colour in a content stream")
            break
    for image in _images(document):
        if str(image.get("/ColorSpace", "")) not in ("/DeviceCMYK", "/DeviceGray") or "/SMask" in image:
            problems.append(f"an image in {image.get('/ColorSpace')}{' with a soft mask' if '/SMask' in image else ''}")
    for obj in document.objects:
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/ExtGState":
            if float(obj.get("/ca", 1)) < 1 or float(obj.get("/CA", 1)) < 1 or \
                    str(obj.get("/SMask", "/None")) != "/None":
                problems.append("transparency")
                break
    return problems


def _content_streams(document: pikepdf.Pdf):
    """Every page's content and every form's and tiling pattern's, once each."""
    seen = set()
    for page in document.pages:
        page.contents_coalesce()
        contents = page.obj.Contents
        if contents.objgen not in seen:
            seen.add(contents.objgen)
            yield contents
    for obj in document.objects:
        if isinstance(obj, pikepdf.Stream) and (obj.get("/Subtype") == "/Form" or obj.get("/PatternType") == 1):
            if obj.objgen not in seen:
                seen.add(obj.objgen)
                yield obj


def _images(document: pikepdf.Pdf) -> list[pikepdf.Stream]:
    """The images drawn (not the soft masks that go with them)."""
    images = [obj for obj in document.objects if isinstance(obj, pikepdf.Stream)
              and obj.get("/Subtype") == "/Image" and not obj.get("/ImageMask", False)]
    masks = {image.SMask.objgen for image in images if "/SMask" in image}
    return [image for image in images if image.objgen not in masks]


def _recolour(document: pikepdf.Pdf, stream: pikepdf.Stream) -> None:
    """RGB fill and stroke colours as grey when neutral, else as CMYK."""
    instructions = pikepdf.parse_content_stream(stream)
    changed = False
    rewritten = []
    for operands, operator in instructions:
        name = str(operator)
        if name in _RGB and len(operands) == 3:
            r, g, b = (float(v) for v in operands)
            if abs(r - g) < 1e-4 and abs(g - b) < 1e-4:
                rewritten.append(([round(r, 4)], pikepdf.Operator(_RGB[name])))
            else:
                rewritten.append((list(_to_cmyk(r, g, b)), pikepdf.Operator(_CMYK[name])))
            changed = True
        else:
            rewritten.append((operands, operator))
    if changed:
        stream.write(pikepdf.unparse_content_stream(rewritten))


def _to_cmyk(r: float, g: float, b: float) -> tuple[float, float, float, float]:
    """The naive conversion (no profile): enough for the few coloured rules and ornaments of a theme."""
    k = 1 - max(r, g, b)
    if k >= 1:
        return 0.0, 0.0, 0.0, 1.0
    return tuple(round(v, 4) for v in ((1 - r - k) / (1 - k), (1 - g - k) / (1 - k), (1 - b - k) / (1 - k), k))


def _gcr(picture):
    """An RGB image in CMYK by the same rule as _to_cmyk: the grey component in black ink (Pillow's
    own conversion prints every dark tone in three inks, beyond what the presses take)."""
    from PIL import Image, ImageChops, ImageMath

    red, green, blue = picture.split()
    light = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    inks = [ImageMath.lambda_eval(lambda a: ((a["m"] - a["x"]) * 255) / a["max"](a["m"], 1), m=light, x=x).convert("L")
            for x in (red, green, blue)]
    return Image.merge("CMYK", (*inks, ImageChops.invert(light)))


def _cmyk_image(image: pikepdf.Stream) -> None:
    """An RGB (or palette) image redrawn in CMYK, its soft mask laid over white first."""
    from PIL import Image

    from pikepdf import PdfImage

    space = str(image.get("/ColorSpace", ""))
    if space in ("/DeviceCMYK", "/DeviceGray") and "/SMask" not in image:
        return
    picture = PdfImage(image).as_pil_image()
    if "/SMask" in image:
        alpha = PdfImage(image.SMask).as_pil_image().convert("L")
        ground = Image.new("RGB", picture.size, "white")
        ground.paste(picture.convert("RGB"), mask=alpha)
        picture = ground
        del image["/SMask"]
    cmyk = _gcr(picture.convert("RGB"))
    image.write(zlib.compress(cmyk.tobytes(), 6), filter=pikepdf.Name.FlateDecode)
    image.ColorSpace = pikepdf.Name.DeviceCMYK
    image.BitsPerComponent = 8
    for key in ("/DecodeParms", "/Decode", "/Intent"):
        if key in image:
            del image[key]
