"""Checking and normalising an uploaded image before it is stored (pure: no database, no storage).

The type is read from the bytes (magic, then Pillow restricted to that one format), never from the
name or the client's content type. The size in pixels is read from the header and checked before
anything is decoded, so a decompression bomb is refused unopened. A file that passes is decoded
once (truncated or corrupt files fail here, not in a worker later): a JPEG kept as it is at 1/8
scale (every byte of it is still decoded, at 1/64 of the memory), anything else in full, holding
its decoded size in the process's decode budget (``integrations.imaging.budget``) meanwhile. The
original is kept at full resolution: only when it carries an EXIF orientation or GPS position is it
re-encoded (rotated upright, location removed); otherwise its bytes are kept untouched.
"""

from __future__ import annotations

import asyncio
import io
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, JpegImagePlugin

from spikeland.core.errors import SpikelandError, ValidationFailed
from spikeland.integrations.imaging.budget import DecodeBudget, bytes_per_pixel, decode_budget

MAX_NAME_CHARS = 255
DEFAULT_NAME = "image"
JPEG_QUALITY = 95
WEBP_QUALITY = 95
ORIENTATION_TAG = 0x0112
GPS_IFD_TAG = 0x8825


class FileTooLarge(SpikelandError):
    status_code = 413
    code = "file_too_large"


class UnsupportedImageType(SpikelandError):
    status_code = 415
    code = "unsupported_image_type"


@dataclass(frozen=True)
class Upload:
    name: str  # safe display name from the client's filename
    format: str  # "jpeg" | "png" | "webp"
    ext: str  # "jpg" | "png" | "webp"
    content_type: str
    width: int
    height: int
    data: bytes
    size: int


@dataclass(frozen=True)
class _Kind:
    format: str
    pil_format: str
    ext: str
    content_type: str


_JPEG = _Kind("jpeg", "JPEG", "jpg", "image/jpeg")
_PNG = _Kind("png", "PNG", "png", "image/png")
_WEBP = _Kind("webp", "WEBP", "webp", "image/webp")

# What Pillow raises on a broken file, from its parsers and decoders alike.
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)


def sniff(data: bytes) -> _Kind | None:
    """The accepted image kind the bytes start like, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _WEBP
    return None


def safe_name(filename: str | None) -> str:
    """The name to show: the last path segment without control/format characters or leading dots.

    A strange name is cleaned, never refused; nothing of it is ever used as a storage path.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Category C: control (NUL, newlines), format (bidi overrides, zero-width), surrogates, private.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_CHARS]
    return name or DEFAULT_NAME


async def inspect_upload(
    data: bytes,
    filename: str | None,
    *,
    max_bytes: int,
    max_pixels: int,
    budget: DecodeBudget | None = None,
) -> Upload:
    """Check an uploaded file and return it ready to store; raises 413/415/422 errors.

    ``budget``: where the decode holds its memory (default: the process's)."""
    if not data:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"The file is larger than {max_bytes} bytes.", details={"size": len(data), "maxBytes": max_bytes}
        )
    kind = sniff(data)
    if kind is None:
        raise UnsupportedImageType("Only JPEG, PNG and WebP images are accepted.")
    header = await asyncio.to_thread(_header, data, kind, max_pixels)
    async with (budget or decode_budget()).hold(header.weight):
        return await asyncio.to_thread(_inspect, data, filename, kind, header)


@dataclass(frozen=True)
class _Header:
    """What the header says, before any pixel is decoded."""

    width: int
    height: int
    reduced: bool  # decoded at 1/8 scale: a JPEG that will be kept as it is
    weight: int  # bytes the decode (and a rotated copy) will hold


def _inspect(data: bytes, filename: str | None, kind: _Kind, header: _Header) -> Upload:
    image = _decode(data, kind, header.reduced)
    try:
        body, width, height = _normalised(data, image, kind, (header.width, header.height))
    finally:
        image.close()
    return Upload(
        name=safe_name(filename),
        format=kind.format,
        ext=kind.ext,
        content_type=kind.content_type,
        width=width,
        height=height,
        data=body,
        size=len(body),
    )


def _invalid() -> ValidationFailed:
    return ValidationFailed("The image is damaged or incomplete.", code="invalid_image")


def _open(data: bytes, kind: _Kind) -> Image.Image:
    """Open lazily (header only). Pillow's own bomb limit may refuse here: that is "too large"."""
    try:
        return Image.open(io.BytesIO(data), formats=[kind.pil_format])
    except Image.DecompressionBombError:
        raise ValidationFailed("The image has too many pixels.", code="image_too_large") from None
    except _BROKEN:
        raise _invalid() from None


def _header(data: bytes, kind: _Kind, max_pixels: int) -> _Header:
    """The pixel count checked and the structure verified, from the header alone."""
    header = _open(data, kind)
    try:
        width, height = header.size
        if width < 1 or height < 1:
            raise _invalid()
        if width * height > max_pixels:
            raise ValidationFailed(
                f"The image is {width}x{height}; at most {max_pixels} pixels are accepted.",
                code="image_too_large",
                details={"width": width, "height": height, "maxPixels": max_pixels},
            )
        # A PNG's EXIF may follow its pixels (Pillow decodes them to read it): not asked here.
        rewrite = kind is not _PNG and _needs_rewrite(header.getexif(), header.info)
        reduced = kind is _JPEG and not rewrite
        full = width * height * bytes_per_pixel(header.mode)
        # A rewrite holds a second, upright copy; a decode at 1/8 scale 1/64 of the pixels.
        weight = full // 64 if reduced else 2 * full if rewrite else full
        header.verify()
    except _BROKEN:
        raise _invalid() from None
    finally:
        header.close()
    return _Header(width, height, reduced, weight)


def _decode(data: bytes, kind: _Kind, reduced: bool) -> Image.Image:
    """The decoded image (at 1/8 scale when ``reduced``); verify() left the header unusable, so it
    is opened again. Decoding catches truncated data, at any scale."""
    image = _open(data, kind)
    try:
        if reduced:
            image.draft(image.mode, (1, 1))  # libjpeg's smallest scale, 1/8
        image.load()
    except _BROKEN:
        image.close()
        raise _invalid() from None
    return image


def _xmp_has_gps(info: Mapping[Any, Any]) -> bool:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = info.get(key)
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, bytes) and b"GPS" in value:
            return True
    return False


def _needs_rewrite(exif: Image.Exif, info: Mapping[Any, Any]) -> bool:
    """Whether an orientation is to be applied or a location removed."""
    orientation = exif.get(ORIENTATION_TAG)
    rotated = orientation is not None and orientation != 1
    return rotated or GPS_IFD_TAG in exif or _xmp_has_gps(info)


def _normalised(
    data: bytes, image: Image.Image, kind: _Kind, size: tuple[int, int]
) -> tuple[bytes, int, int]:
    """The bytes to store and their size (``size``, the header's, when kept): the original when
    nothing needs changing."""
    exif = image.getexif()
    if not _needs_rewrite(exif, image.info):
        return data, *size

    upright = ImageOps.exif_transpose(image)  # reads the orientation from ``exif``: do it before the pops
    exif.pop(ORIENTATION_TAG, None)
    exif.pop(GPS_IFD_TAG, None)
    # XMP is not written back: it can repeat the location (and the orientation just applied).
    options: dict[str, Any] = {}
    if len(exif):
        options["exif"] = exif.tobytes()
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if kind is _JPEG:
        options["quality"] = JPEG_QUALITY
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            options["subsampling"] = sampling
    elif kind is _PNG:
        if "transparency" in image.info:
            options["transparency"] = image.info["transparency"]
    elif _webp_is_lossless(data):
        options["lossless"] = True
    else:
        options["quality"] = WEBP_QUALITY
    if "dpi" in image.info:
        options["dpi"] = image.info["dpi"]
    out = io.BytesIO()
    try:
        upright.save(out, kind.pil_format, **options)
        return out.getvalue(), upright.width, upright.height
    finally:
        upright.close()


def _webp_is_lossless(data: bytes) -> bool:
    """Whether the WebP's (first) image chunk is VP8L, walking the RIFF chunks."""
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return False
