"""Covers: the generated typographic cover and the user's own JPEG or PNG."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from packager.errors import PackagerError
from packager.render.cover import COVER_SIZE, CoverImage, generate_cover, load_cover

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHARED_COVER = (Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "cc0"
                / "creative-freedom" / "cover.png")
# Text is kept inside x 170..1430; this frame lies outside it and holds only the fields and rules.
FRAME = 150


def decode(cover: CoverImage) -> Image.Image:
    image = Image.open(io.BytesIO(cover.data))
    image.load()
    return image


def save_jpeg(path: Path, size: tuple[int, int], **options: object) -> Path:
    Image.new("RGB", size, (120, 80, 40)).save(path, format="JPEG", **options)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size in its header but carries almost no data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --- generated covers -----------------------------------------------------------------------------

def test_generated_cover_is_a_1600_by_2560_png():
    cover = generate_cover("The Quiet Harbour", ["Ada Lovelace"])
    image = decode(cover)
    assert (cover.media_type, cover.extension) == ("image/png", "png")
    assert cover.data.startswith(PNG_SIGNATURE)
    assert image.format == "PNG"
    assert image.size == COVER_SIZE == (cover.width, cover.height)


def test_same_metadata_gives_identical_bytes():
    title, authors = "Naruto: The Return of Darkness", ["Unknown Author"]
    first = generate_cover(title, authors, "Return of Darkness", 7)
    second = generate_cover(title, authors, "Return of Darkness", 7)
    assert first.data == second.data


def test_different_titles_give_different_covers():
    one, two = generate_cover("Book One", ["A. Writer"]), generate_cover("Book Two", ["A. Writer"])
    assert one.data != two.data


def test_palette_seed_changes_the_colours():
    backgrounds = {decode(generate_cover("Same Title", ["Same Author"], palette_seed=str(seed)))
                   .getpixel((5, 5)) for seed in range(12)}
    assert len(backgrounds) > 1


def test_generated_cover_has_no_varying_metadata_chunks():
    data = generate_cover("Timeless", ["Nobody"]).data
    for chunk in (b"tIME", b"tEXt", b"iTXt", b"zTXt", b"eXIf"):
        assert chunk not in data


@pytest.mark.parametrize("title", [
    " ".join(["Interminable"] * 16)[:200],     # many words
    "Supercalifragilistic" * 10,                # one 200-character word
], ids=["words", "one-long-word"])
def test_long_title_and_many_authors_stay_inside_the_margins(title):
    assert len(title) == 200
    authors = [f"Author Number{i} With-A-Long-Surname" for i in range(6)]
    image = decode(generate_cover(title, authors, "An Equally Long Series Name " * 4, 12))
    width, height = image.size
    frame = [image.crop(box) for box in ((0, 0, FRAME, height), (width - FRAME, 0, width, height),
                                         (0, 0, width, FRAME), (0, height - FRAME, width, height))]
    # Only the two background tones and the rule colour: anti-aliased text would add many shades.
    colours = {colour for strip in frame
               for _, colour in strip.getcolors(maxcolors=1000) or [(0, None)]}
    assert None not in colours and len(colours) <= 3
    # ... and the text really was drawn inside.
    inner = image.crop((FRAME, FRAME, width - FRAME, height - FRAME))
    assert inner.getcolors(maxcolors=10) is None


def test_series_line_is_drawn_only_near_the_top():
    plain = decode(generate_cover("Shadow Clone", ["Kishi"]))
    with_series = decode(generate_cover("Shadow Clone", ["Kishi"], "The Shinobi Cycle", 2))
    changed = ImageChops.difference(plain, with_series).getbbox()
    assert changed is not None
    assert changed[3] <= 600  # above the title zone


@pytest.mark.parametrize("title", ["火影忍者 🍥", "🔥🔥🔥", "Null\x00byte \ud800 surrogate",
                                   "", "   "])
def test_titles_the_font_cannot_draw_do_not_crash(title):
    assert decode(generate_cover(title, ["作者 😀"])).size == COVER_SIZE


# --- user covers ----------------------------------------------------------------------------------

def test_large_jpeg_is_scaled_down_to_fit_keeping_aspect(tmp_path):
    cover = load_cover(save_jpeg(tmp_path / "big.jpg", (3000, 4000)))
    assert (cover.media_type, cover.extension) == ("image/jpeg", "jpg")
    assert (cover.width, cover.height) == (1600, 2133)
    assert decode(cover).size == (1600, 2133)


def test_small_image_is_not_enlarged(tmp_path):
    cover = load_cover(save_jpeg(tmp_path / "small.jpg", (400, 600)))
    assert (cover.width, cover.height) == (400, 600)


def test_exif_orientation_is_applied_and_exif_dropped(tmp_path):
    image = Image.new("RGB", (300, 200), (255, 0, 0))
    image.paste((0, 0, 255), (150, 0, 300, 200))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    path = tmp_path / "phone.jpg"
    image.save(path, format="JPEG", exif=exif, quality=95)
    out = decode(load_cover(path))
    assert out.size == (200, 300)
    top, bottom = out.getpixel((100, 20)), out.getpixel((100, 280))
    assert top[0] > 200 and top[2] < 60       # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60
    assert not out.getexif()


def test_jpeg_output_is_deterministic(tmp_path):
    path = save_jpeg(tmp_path / "c.jpg", (2000, 3000))
    assert load_cover(path).data == load_cover(path).data


def test_png_stays_png_and_keeps_alpha_only_when_present(tmp_path):
    opaque, clear = tmp_path / "opaque.png", tmp_path / "clear.png"
    Image.new("RGB", (100, 160), (10, 20, 30)).save(opaque)
    Image.new("RGBA", (100, 160), (10, 20, 30, 0)).save(clear)
    for path, mode in ((opaque, "RGB"), (clear, "RGBA")):
        cover = load_cover(path)
        assert (cover.media_type, cover.extension) == ("image/png", "png")
        assert cover.data.startswith(PNG_SIGNATURE)
        assert decode(cover).mode == mode


def test_shared_corpus_cover_is_scaled_to_fit():
    assert SHARED_COVER.is_file(), f"shared corpus cover is missing: {SHARED_COVER}"
    with Image.open(SHARED_COVER) as original:
        assert original.size == (1760, 2400)
    cover = load_cover(SHARED_COVER)
    assert cover.media_type == "image/png"
    assert (cover.width, cover.height) == (1600, 2182)
    assert decode(cover).size == (1600, 2182)


def test_missing_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "nope.jpg"
    with pytest.raises(PackagerError, match="cover image not found") as error:
        load_cover(path)
    assert str(path) in str(error.value)


def test_text_file_named_png_is_not_an_image(tmp_path):
    path = tmp_path / "cover.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(PackagerError, match="not a readable JPEG or PNG image") as error:
        load_cover(path)
    assert str(path) in str(error.value)


def test_truncated_png_is_reported(tmp_path):
    source = tmp_path / "full.png"
    Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875).save(source)
    data = source.read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PackagerError, match="not a readable JPEG or PNG image") as error:
        load_cover(path)
    assert str(path) in str(error.value)


def test_truncated_png_is_reported_after_weasyprint_is_imported(tmp_path):
    """WeasyPrint switches Pillow to loading truncated images when it is imported, as it is in every
    batch worker; the cover check must not follow it, and must leave the switch as it found it."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES
    source = tmp_path / "full.png"
    Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875).save(source)
    path = tmp_path / "cut.png"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(PackagerError, match="not a readable JPEG or PNG image"):
        load_cover(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES


@pytest.mark.parametrize("side", [30000, 10000])  # past Pillow's hard limit; past our own limit
def test_decompression_bomb_is_refused(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(side, side))
    assert path.stat().st_size < 200
    with pytest.raises(PackagerError, match="image too large") as error:
        load_cover(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name, content", [
    ("cover.gif", None),
    ("cover.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n'),
])
def test_other_formats_are_refused_by_name(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        Image.new("RGB", (20, 20)).save(path, format="GIF")
    else:
        path.write_bytes(content)
    with pytest.raises(PackagerError, match="use a JPEG or PNG") as error:
        load_cover(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)
