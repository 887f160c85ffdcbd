"""Checking and normalising an uploaded image before it is stored (pure: no database, no storage).

The type is read from the bytes (magic, then Pillow restricted to that one format), never from the
name or the client's content type. The size in pixels is read from the header and checked before
anything is decoded, so a decompression bomb is refused unopened. A file that passes is decoded in
full once (truncated or corrupt files fail here, not in a worker later). The original is kept at
full resolution: only when it carries an EXIF orientation or GPS position is it re-encoded (rotated
upright, location removed); otherwise its bytes are kept untouched.
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


async def inspect_upload(data: bytes, filename: str | None, *, max_bytes: int, max_pixels: int) -> Upload:
    """Check an uploaded file and return it ready to store; raises 413/415/422 errors."""
    if not data:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"The file is larger than {max_bytes} bytes.", details={"size": len(data), "maxBytes": max_bytes}
        )
    kind = sniff(data)
    if kind is None:
        raise UnsupportedImageType("Only JPEG, PNG and WebP images are accepted.")
    return await asyncio.to_thread(_inspect, data, filename, kind, max_pixels)


def _inspect(data: bytes, filename: str | None, kind: _Kind, max_pixels: int) -> Upload:
    image = _decode(data, kind, max_pixels)
    try:
        body, width, height = _normalised(data, image, kind)
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


def _decode(data: bytes, kind: _Kind, max_pixels: int) -> Image.Image:
    """The fully decoded image, after the pixel count was checked from the header alone."""
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
        header.verify()
    except _BROKEN:
        raise _invalid() from None
    finally:
        header.close()
    # verify() leaves the image unusable; a second open decodes it (catches truncated data).
    image = _open(data, kind)
    try:
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


def _normalised(data: bytes, image: Image.Image, kind: _Kind) -> tuple[bytes, int, int]:
    """The bytes to store and their size: the original when nothing needs changing."""
    exif = image.getexif()
    orientation = exif.get(ORIENTATION_TAG)
    rotated = orientation is not None and orientation != 1
    if not rotated and GPS_IFD_TAG not in exif and not _xmp_has_gps(image.info):
        return data, image.width, image.height

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
