"""Image-to-image for the local implementation: edits named by words in the prompt.

The local renderer does not understand free text. It recognises a small vocabulary ("black and
white", "brighter", "warmer", "blur", "sharpen", "invert", "sepia", "more contrast", "rotate",
"flip", "mirror", ...) and applies each edit it finds, in the order the prompt names them; words
it does not know are ignored, so a prompt with none of them gives the picture back only resized to
the tier's size. Negations are not understood either: "not darker" darkens.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from spikeland.db.enums import TIER_MAX_DIMENSION, EnhancementTier
from spikeland.integrations.imaging import processing as px
from spikeland.integrations.imaging.render import require_prompt

Edit = Callable[[Image.Image], Image.Image]

SEPIA_DARK, SEPIA_MID, SEPIA_LIGHT = (40, 26, 13), (162, 128, 89), (255, 240, 205)


def _channels(red: float, green: float, blue: float) -> Edit:
    def edit(rgb: Image.Image) -> Image.Image:
        table = [min(255, round(v * factor)) for factor in (red, green, blue) for v in range(256)]
        return rgb.point(table)

    return edit


def _grayscale(rgb: Image.Image) -> Image.Image:
    return ImageOps.grayscale(rgb).convert("RGB")


def _sepia(rgb: Image.Image) -> Image.Image:
    return ImageOps.colorize(ImageOps.grayscale(rgb), SEPIA_DARK, SEPIA_LIGHT, mid=SEPIA_MID)


def _blur(rgb: Image.Image) -> Image.Image:
    return rgb.filter(ImageFilter.GaussianBlur(max(2.0, max(rgb.size) / 300)))


def _sharpen(rgb: Image.Image) -> Image.Image:
    return rgb.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3))


def _enhance(kind: Callable[[Image.Image], ImageEnhance._Enhance], factor: float) -> Edit:
    def edit(rgb: Image.Image) -> Image.Image:
        return kind(rgb).enhance(factor)

    return edit


def _turn(how: Image.Transpose) -> Edit:
    def edit(rgb: Image.Image) -> Image.Image:
        return rgb.transpose(how)

    return edit


# (name, wording, edit). Where two wordings start at the same place the one listed first wins, so
# the longer phrases ("less contrast", "flip vertically", "rotate left") come before their prefixes.
_LESS = r"(?:less|lower|reduce[ds]?)\s+(?:the\s+)?contrast"
_MORE = r"(?:more|higher|increase[ds]?|boost(?:ed)?)\s+(?:the\s+)?contrast"
_LEFT = r"rotate[ds]?\s+(?:\w+\s+){0,2}(?:left|counter\s*-?\s*clockwise|anti\s*-?\s*clockwise)"
EDITS: list[tuple[str, str, Edit]] = [
    ("grayscale", r"black\s*(?:and|&)\s*white|b\s*&\s*w|gr[ae]y\s*scale|monochrome|desaturate", _grayscale),
    ("sepia", r"sepia", _sepia),
    ("invert", r"invert(?:ed)?|negative", ImageOps.invert),
    ("less_contrast", _LESS, _enhance(ImageEnhance.Contrast, 0.7)),
    ("more_contrast", _MORE, _enhance(ImageEnhance.Contrast, 1.4)),
    ("saturate", r"more\s+colou?rful|vivid|vibrant|saturated?", _enhance(ImageEnhance.Color, 1.4)),
    ("brighter", r"bright(?:er|en)|light(?:er|en)", _enhance(ImageEnhance.Brightness, 1.3)),
    ("darker", r"dark(?:er|en)", _enhance(ImageEnhance.Brightness, 0.7)),
    ("warmer", r"warm(?:er|th)?", _channels(1.1, 1.0, 0.88)),
    ("cooler", r"cool(?:er)?|colder", _channels(0.88, 1.0, 1.1)),
    ("blur", r"blur(?:red|ry)?|soft(?:en|er)", _blur),
    ("sharpen", r"sharp(?:en|er)|crisper", _sharpen),
    ("rotate_180", r"rotate[ds]?\s+(?:by\s+)?180|upside\s+down", _turn(Image.Transpose.ROTATE_180)),
    ("rotate_left", _LEFT, _turn(Image.Transpose.ROTATE_90)),
    ("rotate", r"rotate[ds]?", _turn(Image.Transpose.ROTATE_270)),  # clockwise unless told otherwise
    ("flip_vertical", r"flip(?:ped)?\s+(?:\w+\s+)?vertical(?:ly)?", ImageOps.flip),
    ("mirror", r"mirror(?:ed)?|flip(?:ped)?", ImageOps.mirror),
]
_WORDING = re.compile(
    r"\b(?:" + "|".join(f"(?P<{name}>{wording})" for name, wording, _ in EDITS) + r")\b", re.IGNORECASE
)
_BY_NAME = {name: edit for name, _, edit in EDITS}


def edits_in(prompt: str) -> list[str]:
    """The names of the edits a prompt asks for, in the order it names them."""
    return [match.lastgroup for match in _WORDING.finditer(prompt) if match.lastgroup]


def modify_picture(image: Image.Image, prompt: str, tier: EnhancementTier) -> Image.Image:
    """The edits the prompt names, then the tier's size on the long side (a rotation turns the
    picture; otherwise the input's aspect ratio is kept)."""
    names = edits_in(require_prompt(prompt))
    side = TIER_MAX_DIMENSION[tier]
    rgb = px.to_rgb(image)
    # Shrinking first keeps the edits cheap on a large upload; enlarging waits until after them.
    if max(rgb.size) > side:
        rgb = px.fit_long_side(rgb, side)
    for name in names:
        rgb = _BY_NAME[name](rgb)
    return px.fit_long_side(rgb, side)
