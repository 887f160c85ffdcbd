"""Pillow building blocks shared by both imaging implementations: decoding, encoding, uniform-border
detection (auto-crop), pad-to-square and the final resize to the tier's size.

Everything here is synchronous and CPU-bound: callers run it in ``asyncio.to_thread``.
"""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageOps, ImageStat, UnidentifiedImageError

from spikeland.db.enums import TIER_MAX_DIMENSION, EnhancementTier
from spikeland.integrations.imaging import CropBox, ImagingFatal
from spikeland.integrations.imaging.budget import decoded_bytes
from spikeland.integrations.imaging.config import AutoCropConfig

JPEG_QUALITY = 95
# Formats that lose nothing: a crop of one is written as PNG, anything else as JPEG.
_LOSSLESS_FORMATS = {"PNG", "GIF", "BMP", "TIFF", "PPM", "TGA", "QOI"}
# A pixel belongs to a border when no channel differs from the border colour by more than this
# (room for JPEG ringing along the edge of a bar).
BORDER_TOLERANCE = 24
# A border colour whose brightest channel is at most this is a black bar; anything else is a flat margin.
BLACK_LEVEL = 32
# What must be left after cropping, per side, for the crop to make sense.
MIN_KEPT_PIXELS = 8


def decoded_size(data: bytes) -> int:
    """Bytes a full decode of ``data`` takes, from its header (0 when unreadable: decode says why)."""
    try:
        with Image.open(io.BytesIO(data)) as header:
            return decoded_bytes(header)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return 0


def decode(data: bytes) -> Image.Image:
    """The image, upright (EXIF orientation applied) and fully loaded; ImagingFatal when unreadable."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        source_format = image.format
        upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImagingFatal(f"The image could not be decoded: {exc}") from exc
    upright.format = source_format  # exif_transpose returns a copy without it
    return upright


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, transparency flattened onto black (as the original's JPEG output did)."""
    if image.mode == "RGB":
        return image
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits rather than clip.
        return image.convert("I").point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    to_rgb(image).save(out, "JPEG", quality=quality)
    return out.getvalue()


def encode_like(image: Image.Image, source_format: str | None) -> bytes:
    """PNG when the source was lossless (a crop must not add artefacts), else JPEG quality 95."""
    if source_format in _LOSSLESS_FORMATS:
        out = io.BytesIO()
        keep = image if image.mode in {"RGB", "RGBA", "L", "LA"} else image.convert("RGBA")
        keep.save(out, "PNG")
        return out.getvalue()
    return encode_jpeg(image)


def _max_channel_difference(image: Image.Image, colour: tuple[int, ...]) -> Image.Image:
    """An L image: for each pixel, the largest per-channel distance to ``colour``."""
    difference = ImageChops.difference(image, Image.new("RGB", image.size, colour[:3]))
    red, green, blue = difference.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


_SIDES = ("left", "top", "right", "bottom")


def _edge_colour(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    return tuple(int(v) for v in ImageStat.Stat(image.crop(box)).median)


def _border_depth(image: Image.Image, side: str, config: AutoCropConfig) -> int:
    """How many rows/columns from one edge match that edge's colour (0 when not allowed or not flat)."""
    width, height = image.size
    edges = {
        "left": (0, 0, 1, height),
        "top": (0, 0, width, 1),
        "right": (width - 1, 0, width, height),
        "bottom": (0, height - 1, width, height),
    }
    colour = _edge_colour(image, edges[side])
    is_black = max(colour) <= BLACK_LEVEL
    if (is_black and not config.allow_black_bar_removal) or (
        not is_black and not config.allow_ui_element_crop
    ):
        return 0
    mask = _max_channel_difference(image, colour).point(lambda v: 255 if v > BORDER_TOLERANCE else 0)
    content = mask.getbbox()
    if content is None:  # the whole image is that colour: nothing to keep
        return 0
    left, top, right, bottom = content
    return {"left": left, "top": top, "right": width - right, "bottom": height - bottom}[side]


def find_content_box(image: Image.Image, config: AutoCropConfig) -> CropBox | None:
    """The part of the image inside its uniform borders, or None when no crop is worth doing.

    Each edge's colour is the median of its outermost row or column; the border on that side is
    how far in every pixel stays within ``BORDER_TOLERANCE`` of it. Black borders count only when
    ``allow_black_bar_removal``, other flat margins only when ``allow_ui_element_crop``. The crop
    happens when at least one side loses ``min_crop_ratio`` of its dimension; then every detected
    border goes.
    """
    if not config.enabled:
        return None
    rgb = to_rgb(image)
    width, height = rgb.size
    left, top, right, bottom = (_border_depth(rgb, side, config) for side in _SIDES)
    kept_width, kept_height = width - left - right, height - top - bottom
    if kept_width < MIN_KEPT_PIXELS or kept_height < MIN_KEPT_PIXELS:
        return None
    worth_it = max(left, right) >= config.min_crop_ratio * width or max(top, bottom) >= (
        config.min_crop_ratio * height
    )
    if not worth_it or (left, top, right, bottom) == (0, 0, 0, 0):
        return None
    return CropBox(x=left, y=top, width=kept_width, height=kept_height)


def apply_crop(image: Image.Image, box: CropBox) -> Image.Image:
    return image.crop((box.x, box.y, box.x + box.width, box.y + box.height))


def pad_to_square(image: Image.Image) -> Image.Image:
    """The image centred on a black square of side max(width, height)."""
    rgb = to_rgb(image)
    side = max(rgb.size)
    square = Image.new("RGB", (side, side), (0, 0, 0))
    square.paste(rgb, ((side - rgb.width) // 2, (side - rgb.height) // 2))
    return square


def crop_to_aspect(square: Image.Image, width: int, height: int) -> Image.Image:
    """Undo ``pad_to_square`` on a (possibly resized) square: keep the centred part of the
    original's aspect ratio (landscape: full width; portrait or square: full height)."""
    side_w, side_h = square.size
    aspect = width / height
    if aspect > 1:
        kept = min(side_h, max(1, round(side_w / aspect)))
        top = (side_h - kept) // 2
        return square.crop((0, top, side_w, top + kept))
    kept = min(side_w, max(1, round(side_h * aspect)))
    left = (side_w - kept) // 2
    return square.crop((left, 0, left + kept, side_h))


def centre_crop_to_aspect(image: Image.Image, width: int, height: int) -> Image.Image:
    """The largest centred part of ``image`` with the aspect ratio of ``width`` x ``height``."""
    side_w, side_h = image.size
    aspect = width / height
    if side_w / side_h > aspect:
        kept = min(side_w, max(1, round(side_h * aspect)))
        left = (side_w - kept) // 2
        return image.crop((left, 0, left + kept, side_h)) if kept != side_w else image
    kept = min(side_h, max(1, round(side_w / aspect)))
    top = (side_h - kept) // 2
    return image.crop((0, top, side_w, top + kept)) if kept != side_h else image


def target_long_side(tier: EnhancementTier, current_long_side: int) -> int:
    """The output's long side: the tier's size; FREE never enlarges (at most 1024)."""
    size = TIER_MAX_DIMENSION[tier]
    if tier is EnhancementTier.FREE:
        return min(size, current_long_side)
    return size


def fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    width, height = image.size
    if max(width, height) == long_side:
        return image
    if width >= height:
        size = (long_side, max(1, round(height * long_side / width)))
    else:
        size = (max(1, round(width * long_side / height)), long_side)
    return image.resize(size, Image.Resampling.LANCZOS)


def finish(image: Image.Image, tier: EnhancementTier) -> tuple[bytes, int, int]:
    """The tier-sized RGB JPEG (quality 95) of an enhanced image, with its width and height."""
    rgb = to_rgb(image)
    sized = fit_long_side(rgb, target_long_side(tier, max(rgb.size)))
    return encode_jpeg(sized), sized.width, sized.height
