"""The full-wrap cover PDF of a printed book: back (the blurb), spine (title and author, when it is
wide enough), front (the cover image), on one sheet with 1/8 in of bleed on every side, sized for the
interior's page count and paper."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageStat

from packager.model import Metadata
from packager.render.assets import environment, styles_dir
from packager.render.cover import CoverImage
from packager.render.printing import BLEED, POINTS, SPINE_SAFETY, PrintSpec

SAFE = 0.375  # text stays this far inside the trim and the spine folds
SPINE_FONT_LARGEST = 11.0  # points
SPINE_FONT_SMALLEST = 6.0  # below this the spine carries no text, whatever the service allows
SPINE_FONT_SHARE = 0.62  # of the spine's printable width, for the type's body


def spine_font_size(spec: PrintSpec, pages: int) -> float | None:
    """The size of the spine's type in points, or None when the spine is too narrow for any: fewer
    pages than the service allows text for, or no room for 6 pt type inside its safety margins."""
    if pages < spec.service.spine_text_pages:
        return None
    size = (spec.spine(pages) - 2 * SPINE_SAFETY) * POINTS * SPINE_FONT_SHARE
    return min(size, SPINE_FONT_LARGEST) if size >= SPINE_FONT_SMALLEST else None


def build_wrap_cover(meta: Metadata, cover: CoverImage | None, spec: PrintSpec, pages: int,
                     variant: str | None) -> bytes:
    import pikepdf
    import weasyprint

    from packager.render.fetcher import LocalOnlyFetcher
    from packager.render.pdfx import make_pdfx
    from packager.render.printing import _save

    trim_width, trim_height = spec.trim
    spine = spec.spine(pages)
    width, height = spec.wrap_size(pages)
    front, ground, ink = _front(cover, trim_width + BLEED, height)
    barcode_width, barcode_height = spec.service.barcode
    inset = spec.service.barcode_inset
    font = spine_font_size(spec, pages)
    geometry = dict(
        width=_n(width), height=_n(height),
        back_left=_n(BLEED + SAFE), safe_top=_n(BLEED + SAFE), back_width=_n(trim_width - 2 * SAFE),
        back_height=_n(trim_height - 2 * SAFE - barcode_height - inset),
        barcode_left=_n(BLEED + trim_width - inset - barcode_width),
        barcode_top=_n(BLEED + trim_height - inset - barcode_height),
        barcode_width=_n(barcode_width), barcode_height=_n(barcode_height),
        spine_left=_n(BLEED + trim_width), spine=_n(spine),
        spine_text_left=_n(spine - SPINE_SAFETY), spine_length=_n(trim_height - 2 * SAFE),
        spine_text_height=_n(max(spine - 2 * SPINE_SAFETY, 0)), spine_font=_n(font or 0),
        front_left=_n(BLEED + trim_width + spine), front_width=_n(trim_width + BLEED))
    env = environment()
    blurb = [p.strip() for p in (meta.description or "").split("\n\n") if p.strip()]
    html = env.get_template("pdf-wrap-cover.html.j2").render(
        meta=meta, blurb=blurb, spine_text=font is not None, front=front, ground=ground, ink=ink)
    css = (styles_dir() / "wrap-cover.css").read_text(encoding="utf-8") + "\n" + \
        env.get_template("wrap-cover.css.j2").render(**geometry)
    fetcher = LocalOnlyFetcher([styles_dir()])
    data = weasyprint.HTML(string=html, base_url=styles_dir().as_uri() + "/", url_fetcher=fetcher).write_pdf(
        stylesheets=[weasyprint.CSS(string=css, url_fetcher=fetcher)])
    document = pikepdf.open(io.BytesIO(data))
    page = document.pages[0]
    b = BLEED * POINTS
    page.obj.MediaBox = pikepdf.Array([0, 0, width * POINTS, height * POINTS])
    page.obj.TrimBox = pikepdf.Array([b, b, width * POINTS - b, height * POINTS - b])
    page.obj.BleedBox = page.obj.MediaBox
    if "/CropBox" in page.obj:
        del page.obj["/CropBox"]
    document.docinfo["/Title"] = f"{meta.title or ''} (cover)"
    document.docinfo["/Author"] = ", ".join(meta.authors)
    if variant:
        make_pdfx(document, variant)
    out = io.BytesIO()
    _save(document, out, variant)
    return out.getvalue()


def _n(value: float) -> str:
    return f"{value:.4f}"


def _front(cover: CoverImage | None, width: float, height: float) -> tuple[str, str, str]:
    """The front panel's image (trim and bleed), the ground colour the back and spine take, and the
    ink that reads on it. The cover image is fitted inside the trim, centred, and its edge rows and
    columns are drawn out to fill the rest and the bleed, so nothing of it is cut by the trimmer."""
    if cover is None:
        return "", "#2b2b2e", "#f0e6d2"
    image = Image.open(io.BytesIO(cover.data)).convert("RGB")
    inner_width, inner_height = width - BLEED, height - 2 * BLEED  # the front's trim
    scale = min(image.width / inner_width, image.height / inner_height)  # pixels per inch
    canvas_size = (round(width * scale), round(height * scale))
    left = round(((inner_width - image.width / scale) / 2) * scale)  # the front's spine side has no bleed
    top = round((height * scale - image.height) / 2)
    canvas = Image.new("RGB", canvas_size)
    canvas.paste(image, (left, top))
    right = left + image.width
    bottom = top + image.height
    if left > 0:
        canvas.paste(image.crop((0, 0, 1, image.height)).resize((left, image.height)), (0, top))
    if right < canvas.width:
        column = image.crop((image.width - 1, 0, image.width, image.height))
        canvas.paste(column.resize((canvas.width - right, image.height)), (right, top))
    if top > 0:
        row = canvas.crop((0, top, canvas.width, top + 1))
        canvas.paste(row.resize((canvas.width, top)), (0, 0))
    if bottom < canvas.height:
        row = canvas.crop((0, bottom - 1, canvas.width, bottom))
        canvas.paste(row.resize((canvas.width, canvas.height - bottom)), (0, bottom))
    edge = ImageStat.Stat(image.crop((0, 0, max(1, image.width // 40), image.height))).mean
    ground = "#{:02x}{:02x}{:02x}".format(*(round(v) for v in edge[:3]))
    luminance = (0.2126 * edge[0] + 0.7152 * edge[1] + 0.0722 * edge[2]) / 255
    ink = "#1d1d1d" if luminance > 0.55 else "#f4efe6"
    encoded = io.BytesIO()
    canvas.save(encoded, "JPEG", quality=92, dpi=(round(scale), round(scale)))
    return f"data:image/jpeg;base64,{base64.b64encode(encoded.getvalue()).decode('ascii')}", ground, ink
