"""Print on demand: the interior and the wrap-around cover as Amazon KDP and IngramSpark take them.

The figures below are the services' published ones (KDP's "Paperback submission guidelines", trim
sizes, margin table and cover calculator; IngramSpark's "File creation guide" and cover template
generator), in inches as they give them. The README lists them with their sources.

The interior's text block keeps one width whatever the page count: the inside (gutter) margin grows
with the page count, as both services require, and the outside margin gives up what the gutter takes.
So the book is laid out once, and only where the text block sits on the page depends on its length.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

from packager.errors import PackagerError
from packager.render.assets import PageGeometry, Theme

INCH_MM = 25.4
POINTS = 72.0
BLEED = 0.125  # both services: 1/8 in beyond every trimmed edge
SPINE_SAFETY = 0.0625  # both services: spine text this far inside each fold
COMFORT = 0.125  # our gutter: the service's minimum plus this
OUTSIDE_MINIMUM = 0.375  # KDP's outside margin with bleed (0.25 in without); IngramSpark's is smaller


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    trims: dict[str, tuple[float, float]]  # name -> (width, height) in inches
    gutters: tuple[tuple[int, float], ...]  # (up to this many pages, minimum inside margin in inches)
    paper: dict[str, float]  # paper -> inches of spine per page
    spine_text_pages: int  # fewer pages than this: nothing may be printed on the spine
    pages: tuple[int, int]  # the fewest and most pages the service binds
    barcode: tuple[float, float] = (2.0, 1.2)  # width, height of the zone kept free on the back
    barcode_inset: float = 0.25  # from the spine fold and from the bottom trim
    default_variant: str | None = None

    def gutter(self, pages: int) -> float:
        return next((inches for most, inches in self.gutters if pages <= most), self.gutters[-1][1])

    def spine(self, pages: int, paper: str) -> float:
        return pages * self.paper[paper]


_MM = 1 / INCH_MM
_METRIC = {  # the British and European trims IngramSpark prints
    "a5": (148 * _MM, 210 * _MM), "demy": (138 * _MM, 216 * _MM), "royal": (156 * _MM, 234 * _MM),
    "b-format": (129 * _MM, 198 * _MM), "a4": (210 * _MM, 297 * _MM),
}
_INCH_TRIMS = {f"{w:g}x{h:g}in": (w, h) for w, h in (
    (5, 8), (5.06, 7.81), (5.25, 8), (5.5, 8.5), (6, 9), (6.14, 9.21), (7, 10), (8.5, 11))}

SERVICES = {
    "kdp": Service(
        "kdp", "Amazon KDP", trims=_INCH_TRIMS | {"a4": _METRIC["a4"]},
        gutters=((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875)),
        paper={"white": 0.002252, "cream": 0.0025}, spine_text_pages=79, pages=(24, 828)),
    "ingram": Service(
        "ingram", "IngramSpark", trims=_INCH_TRIMS | _METRIC,
        gutters=((150, 0.5), (400, 0.625), (600, 0.75), (1200, 0.875)),
        paper={"white": 0.002252, "cream": 0.0025}, spine_text_pages=48, pages=(18, 1200),
        default_variant="pdf/x-1a"),
}
PAPERS = ("white", "cream")
DEFAULT_TRIM = "6x9in"
_SIZE = re.compile(r"^(?P<w>\d+(?:\.\d+)?)x(?P<h>\d+(?:\.\d+)?)(?P<unit>in|mm|cm)$")


@dataclass(frozen=True)
class PrintSpec:
    """One book's print settings: service, trim (inches), paper, bleed on the interior's pages."""

    service: Service
    trim_name: str
    trim: tuple[float, float]
    paper: str = "white"
    bleed: bool = False

    @property
    def text_width_margins(self) -> float:
        """Inside plus outside margin: the same for every page count (the largest gutter, a little
        comfort, the outside minimum)."""
        return self.service.gutters[-1][1] + COMFORT + OUTSIDE_MINIMUM

    def geometry(self, pages: int) -> PageGeometry:
        inner = self.service.gutter(pages) + COMFORT
        outer = self.text_width_margins - inner
        width, height = self.trim
        return PageGeometry(f"{width:g}in {height:g}in", top=0.6 * INCH_MM, bottom=0.7 * INCH_MM,
                            inner=inner * INCH_MM, outer=outer * INCH_MM)

    def spine(self, pages: int) -> float:
        return self.service.spine(pages, self.paper)

    def wrap_size(self, pages: int) -> tuple[float, float]:
        """The flat cover in inches: bleed, back, spine, front, bleed; bleed above and below."""
        width, height = self.trim
        return 2 * width + self.spine(pages) + 2 * BLEED, height + 2 * BLEED


def print_spec(service: str, page_size: str | None, paper: str | None, bleed: bool) -> PrintSpec:
    """The print settings asked for; a trim the service does not print is a usage error."""
    if service not in SERVICES:
        raise PackagerError(f"--print: unknown service '{service}' (kdp or ingram)", usage=True)
    chosen = SERVICES[service]
    paper = paper or "white"
    if paper not in PAPERS:
        raise PackagerError(f"--paper: unknown paper '{paper}' (white or cream)", usage=True)
    name = (page_size or DEFAULT_TRIM).strip().lower()
    trim = chosen.trims.get(name)
    match = _SIZE.match(name)
    if trim is None and match:
        scale = {"in": 1.0, "mm": _MM, "cm": 10 * _MM}[match["unit"]]
        wanted = (float(match["w"]) * scale, float(match["h"]) * scale)
        name, trim = next(((n, t) for n, t in chosen.trims.items()
                           if abs(t[0] - wanted[0]) < 0.02 and abs(t[1] - wanted[1]) < 0.02), (name, None))
    if trim is None:
        raise PackagerError(f"--page-size: {chosen.name} does not print '{page_size}' "
                            f"(trims: {', '.join(chosen.trims)})", usage=True)
    return PrintSpec(chosen, name, trim, paper, bleed)


def print_theme(theme: Theme, spec: PrintSpec, pages: int) -> Theme:
    """The theme on the trim, with the margins of a book of `pages` pages. Its pages are laid out with
    equal side margins (so the layout, and the chunk cache, are the same for every page count) and
    moved to their side's margins when merged (build_pdf's `shift_overlays`)."""
    geometry = spec.geometry(pages)
    even = replace(geometry, inner=geometry.middle, outer=geometry.middle)
    return replace(theme, print_css=theme.print_css + "\n" + even.css(), geometry=geometry)


def finish_interior(data: bytes, spec: PrintSpec, variant: str | None) -> tuple[bytes, int]:
    """The interior as a printer takes it: an even number of pages (a blank last page when needed),
    no links (paper has none), boxes on every page (the trim, and with bleed the page grown by 1/8 in
    on its outside, top and bottom edges), and a PDF/X variant's colours and markers. Returns the PDF
    and its page count."""
    import pikepdf

    from packager.render.pdfx import make_pdfx

    document = pikepdf.open(io.BytesIO(data))
    if len(document.pages) % 2:
        box = document.pages[-1].mediabox
        document.add_blank_page(page_size=(float(box[2]), float(box[3])))
    bleed = BLEED * POINTS if spec.bleed else 0.0
    for number, page in enumerate(document.pages):
        if "/Annots" in page.obj:
            del page.obj["/Annots"]
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        width, height = x1 - x0, y1 - y0
        recto = number % 2 == 0
        if bleed:  # the outside edge grows: to the right of a recto, to the left of a verso
            dx = 0.0 if recto else bleed
            page.contents_add(f"q 1 0 0 1 {dx:g} {bleed:g} cm ".encode(), prepend=True)
            page.contents_add(b" Q", prepend=False)
            page.obj.MediaBox = pikepdf.Array([0, 0, width + bleed, height + 2 * bleed])
            left = 0.0 if recto else bleed
            page.obj.TrimBox = pikepdf.Array([left, bleed, left + width, bleed + height])
        else:
            page.obj.TrimBox = pikepdf.Array([0, 0, width, height])
        page.obj.BleedBox = page.obj.MediaBox
        if "/CropBox" in page.obj:
            del page.obj["/CropBox"]
    if bleed:
        _move_destinations(document, bleed)
    if variant:
        make_pdfx(document, variant)
    out = io.BytesIO()
    _save(document, out, variant)
    return out.getvalue(), len(document.pages)


def _move_destinations(document, bleed: float) -> None:
    """Bookmarks point as high on the grown page as they did on the trimmed one."""
    with document.open_outline() as outline:
        stack = list(outline.root)
        while stack:
            item = stack.pop()
            stack.extend(item.children)
            destination = item.destination
            if destination is not None and len(destination) == 5 and destination[3] is not None:
                try:
                    destination[3] = float(destination[3]) + bleed
                except (TypeError, ValueError):
                    pass


def _save(document, out, variant: str | None) -> None:
    import pikepdf

    if variant:  # PDF/X-1a:2003 and X-3:2003 are PDF 1.4: no object streams
        document.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.disable,
                      deterministic_id=True, force_version="1.4")
    else:
        document.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                      deterministic_id=True)


def page_count_warning(spec: PrintSpec, pages: int) -> str | None:
    low, high = spec.service.pages
    if low <= pages <= high:
        return None
    return f"{pages} pages: {spec.service.name} prints books of {low} to {high} pages"


def check_print(interior: bytes, cover: bytes, spec: PrintSpec, variant: str | None) -> list[str]:
    """What a printer's preflight would reject, found here: every interior page trimmed to the trim
    size, an even page count within the service's range, the cover as wide as two trims, the spine
    for this page count and paper, and the bleed; with a variant, its output intent and version."""
    import pikepdf

    from packager.render.pdfx import pdfx_problems

    problems: list[str] = []
    trim_points = (spec.trim[0] * POINTS, spec.trim[1] * POINTS)
    with pikepdf.open(io.BytesIO(interior)) as document:
        pages = len(document.pages)
        for number, page in enumerate(document.pages, 1):
            box = [float(v) for v in page.obj.TrimBox]
            if abs(box[2] - box[0] - trim_points[0]) > 0.5 or abs(box[3] - box[1] - trim_points[1]) > 0.5:
                problems.append(f"interior page {number}: trim {box} is not {spec.trim_name}")
                break
        if variant:
            problems += [f"interior: {p}" for p in pdfx_problems(document)]
    if pages % 2:
        problems.append(f"interior: {pages} pages, an odd number")
    with pikepdf.open(io.BytesIO(cover)) as document:
        page = document.pages[0]
        media = [float(v) for v in page.mediabox]
        trim = [float(v) for v in page.obj.TrimBox]
        width, height = spec.wrap_size(pages)
        if abs(media[2] - media[0] - width * POINTS) > 0.5 or abs(media[3] - media[1] - height * POINTS) > 0.5:
            problems.append(f"cover: {media[2] / POINTS:.3f} x {media[3] / POINTS:.3f} in, not "
                            f"{width:.3f} x {height:.3f} in for {pages} pages of {spec.paper} paper")
        if abs(trim[0] - media[0] - BLEED * POINTS) > 0.5 or abs(media[3] - trim[3] - BLEED * POINTS) > 0.5:
            problems.append("cover: the trim box does not leave 1/8 in of bleed")
        if variant:
            problems += [f"cover: {p}" for p in pdfx_problems(document)]
    return problems
