"""Upload checking: type by content, pixel limits before decoding, EXIF orientation and GPS, names."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms

from spikeland.core.errors import SpikelandError
from spikeland.images.files import FileTooLarge, Upload, inspect_upload, safe_name

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 20_000_000
RED, BLUE = (255, 0, 0), (0, 0, 255)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: a rotation shows in where the colours end up."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def noise(size: int = 200) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise((size, size), 64 + 16 * i) for i in range(3)])


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


async def inspect(data: bytes, name: str | None = "photo", **limits: int) -> Upload:
    limits.setdefault("max_bytes", MAX_BYTES)
    limits.setdefault("max_pixels", MAX_PIXELS)
    return await inspect_upload(data, name, **limits)


async def refused(data: bytes, name: str | None = "photo", **limits: int) -> SpikelandError:
    with pytest.raises(SpikelandError) as caught:
        await inspect(data, name, **limits)
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "options", "expected"),
    [
        ("JPEG", {"quality": 90}, ("jpeg", "jpg", "image/jpeg")),
        ("PNG", {}, ("png", "png", "image/png")),
        ("WEBP", {"quality": 80}, ("webp", "webp", "image/webp")),
        ("WEBP", {"lossless": True}, ("webp", "webp", "image/webp")),
    ],
)
async def test_valid_images_are_kept_byte_for_byte(
    fmt: str, options: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    data = encode(noise(120).resize((120, 90)), fmt, **options)
    upload = await inspect(data, "holiday.jpg")  # the name's extension does not matter
    assert (upload.format, upload.ext, upload.content_type) == expected
    assert (upload.width, upload.height) == (120, 90)
    assert upload.data == data and upload.size == len(data)
    assert upload.name == "holiday.jpg"


async def test_exif_orientation_is_applied_and_dropped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: display turns it 90° clockwise
    exif[ExifTags.Base.Make] = "Camera Co"
    data = encode(halves(), "JPEG", quality=95, exif=exif.tobytes())

    upload = await inspect(data)
    assert (upload.width, upload.height) == (20, 40)
    stored = Image.open(io.BytesIO(upload.data))
    assert stored.format == "JPEG" and stored.size == (20, 40)
    assert ExifTags.Base.Orientation not in stored.getexif()
    assert stored.getexif()[ExifTags.Base.Make] == "Camera Co"
    rgb = stored.convert("RGB")
    assert _near(rgb.getpixel((10, 5)), RED) and _near(rgb.getpixel((10, 35)), BLUE)


async def test_lossless_webp_stays_lossless_when_rotated() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 3  # upside down
    source = noise(32)
    upload = await inspect(encode(source, "WEBP", lossless=True, exif=exif.tobytes()))
    stored = Image.open(io.BytesIO(upload.data))
    assert upload.format == "webp" and b"VP8L" in upload.data[:64]
    assert stored.convert("RGB").tobytes() == source.rotate(180).tobytes()
    assert ExifTags.Base.Orientation not in stored.getexif()


async def test_gps_position_is_removed_and_the_rest_kept() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(noise(64), "JPEG", quality=95, exif=exif.tobytes(), icc_profile=icc)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture has GPS

    upload = await inspect(data)
    assert upload.data != data and (upload.width, upload.height) == (64, 64)
    stored = Image.open(io.BytesIO(upload.data))
    assert stored.size == (64, 64)
    assert ExifTags.IFD.GPSInfo not in stored.getexif()
    assert stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert stored.getexif()[ExifTags.Base.Make] == "Phone"
    assert stored.info["icc_profile"] == icc


async def test_png_orientation_keeps_transparency() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 8
    image = Image.new("RGBA", (30, 10), (0, 255, 0, 0))
    upload = await inspect(encode(image, "PNG", exif=exif.tobytes()))
    stored = Image.open(io.BytesIO(upload.data))
    assert (upload.format, stored.size, stored.mode) == ("png", (10, 30), "RGBA")
    assert stored.getpixel((0, 0)) == (0, 255, 0, 0)


async def test_empty_file() -> None:
    error = await refused(b"")
    assert (error.status_code, error.code) == (422, "empty_file")


async def test_over_max_bytes_is_413() -> None:
    data = encode(noise(64), "PNG")
    error = await refused(data, max_bytes=len(data) - 1)
    assert isinstance(error, FileTooLarge) and (error.status_code, error.code) == (413, "file_too_large")
    assert (await inspect(data, max_bytes=len(data))).size == len(data)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"just some text, not a picture\n", "photo.jpg"),
        (b"\x89PNX\r\n\x1a\n" + b"\0" * 64, "image.png"),  # wrong magic
        (encode(Image.new("RGB", (8, 8)), "GIF"), "anim.gif"),
        (encode(Image.new("RGB", (8, 8)), "BMP"), "pic.webp"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "sound.webp"),
    ],
    ids=["text-as-jpg", "wrong-magic", "gif", "bmp", "riff-not-webp"],
)
async def test_other_types_are_415(data: bytes, name: str) -> None:
    error = await refused(data, name)
    assert (error.status_code, error.code) == (415, "unsupported_image_type")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_truncated_images_are_invalid(fmt: str) -> None:
    data = encode(noise(200), fmt)
    error = await refused(data[: len(data) // 2])
    assert (error.status_code, error.code) == (422, "invalid_image")


async def test_right_magic_wrong_body_is_invalid() -> None:
    error = await refused(b"\xff\xd8\xff" + b"garbage" * 20)
    assert (error.status_code, error.code) == (422, "invalid_image")
    png = encode(noise(16), "PNG")
    broken_crc = png[:30] + bytes([png[30] ^ 0xFF]) + png[31:]  # a byte of the IHDR chunk CRC
    assert (await refused(broken_crc)).code == "invalid_image"


async def test_header_claiming_huge_size_is_refused_unread() -> None:
    error = await refused(png_claiming(20000, 20000, zlib.compress(b"\0" * 64)))
    assert (error.status_code, error.code) == (422, "image_too_large")


async def test_pixel_limit_is_checked_before_decoding() -> None:
    # The body is not a valid image stream: had it been decoded, the answer would be invalid_image.
    fake = png_claiming(3000, 3000, b"not zlib at all")
    error = await refused(fake, max_pixels=1_000_000)
    assert error.code == "image_too_large"
    assert error.details == {"width": 3000, "height": 3000, "maxPixels": 1_000_000}
    assert (await refused(fake)).code == "invalid_image"  # under the limit it is decoded, and fails


async def test_compressed_bomb_over_the_limit_is_refused() -> None:
    bomb = encode(Image.new("L", (4000, 3000)), "PNG", optimize=True)  # 12 Mpx in a few KB
    assert len(bomb) < 50_000
    assert (await refused(bomb, max_pixels=11_999_999)).code == "image_too_large"
    assert (await inspect(bomb, max_pixels=12_000_000)).width == 4000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        (".hidden.png", "hidden.png"),
        ("a\x00b\x1f\nc\x7f.png", "abc.png"),
        ("C:\\Users\\me\\pic.jpg", "pic.jpg"),
        ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override would disguise the extension
        ("  Summer 2024 — beach.JPG  ", "Summer 2024 — beach.JPG"),
        ("..", "image"),
        ("dir/", "image"),
        ("", "image"),
        (None, "image"),
    ],
)
def test_safe_names(raw: str | None, expected: str) -> None:
    assert safe_name(raw) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_name("x" * 400 + ".webp")
    assert len(name) == 255 and name.endswith("x.webp")
    assert len(safe_name("y" * 400)) == 255


async def test_upload_gets_the_safe_name() -> None:
    upload = await inspect(encode(noise(8), "PNG"), "../\x00.secret\u200b.png")
    assert upload.name == "secret.png"


def _near(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))
