"""Text-to-image: what both implementations read from a prompt (is it blank, which aspect ratio does
it ask for, what size is the output), and the local renderer.

The local renderer is not a model and does not understand the prompt. It draws an abstract
composition (a gradient, a glow, soft and crisp shapes) whose layout is seeded from a hash of the
prompt, and whose palette comes from the colour and scene words it recognises ("red", "sunset",
"ocean", ...), or from the hash when there are none. The same prompt and tier always give the
same bytes; different prompts give different pictures.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re

from PIL import Image, ImageDraw

from spikeland.db.enums import TIER_MAX_DIMENSION, EnhancementTier
from spikeland.integrations.imaging import ImagingFatal

# The aspect ratios Gemini accepts (and the original platform's generate route allowed).
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    text: (int(text.split(":")[0]), int(text.split(":")[1]))
    for text in ("1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
}
_RATIO = re.compile(r"(?<!\d)(\d{1,2})\s*:\s*(\d{1,2})(?!\d)")
# An explicit ratio wins over these words; the first word found decides.
_ASPECT_WORDS = re.compile(r"\b(portrait|landscape|square|widescreen|panoramic|panorama)\b")
_WORD_ASPECT = {
    "portrait": "3:4",
    "landscape": "4:3",
    "square": "1:1",
    "widescreen": "16:9",
    "panoramic": "21:9",
    "panorama": "21:9",
}


def require_prompt(prompt: str) -> str:
    """The prompt without surrounding whitespace; ImagingFatal when nothing is left."""
    text = prompt.strip()
    if not text:
        raise ImagingFatal("The prompt is empty")
    return text


def requested_aspect(prompt: str) -> str | None:
    """The aspect ratio a prompt asks for ("16:9", or a word such as "portrait"), None for square."""
    lowered = prompt.lower()
    for match in _RATIO.finditer(lowered):
        text = f"{int(match[1])}:{int(match[2])}"
        if text in ASPECT_RATIOS:
            return None if text == "1:1" else text
    word = _ASPECT_WORDS.search(lowered)
    aspect = _WORD_ASPECT[word[1]] if word else None
    return None if aspect == "1:1" else aspect


def output_size(tier: EnhancementTier, aspect: str | None) -> tuple[int, int]:
    """Width and height of a rendered picture: the tier's size on the long side."""
    side = TIER_MAX_DIMENSION[tier]
    if aspect is None:
        return side, side
    across, down = ASPECT_RATIOS[aspect]
    if across >= down:
        return side, max(1, round(side * down / across))
    return max(1, round(side * across / down)), side


def closest_aspect(width: int, height: int) -> str:
    """The supported aspect ratio nearest to a picture's (compared as logarithms, so 2:1 and 1:2
    are equally far from square)."""
    actual = math.log(width / height)
    return min(ASPECT_RATIOS, key=lambda t: abs(math.log(ASPECT_RATIOS[t][0] / ASPECT_RATIOS[t][1]) - actual))


RGB = tuple[int, int, int]
# Words that steer the local palette, each to a few shades.
PALETTES: dict[str, list[RGB]] = {
    "red": [(196, 30, 45), (140, 15, 25), (235, 90, 80)],
    "orange": [(240, 130, 30), (200, 90, 20), (250, 180, 90)],
    "yellow": [(245, 210, 50), (220, 180, 20), (255, 235, 140)],
    "green": [(50, 150, 70), (20, 100, 40), (130, 200, 110)],
    "blue": [(40, 90, 200), (20, 50, 140), (100, 150, 235)],
    "purple": [(120, 60, 170), (80, 30, 120), (170, 120, 210)],
    "violet": [(140, 80, 200), (95, 45, 150), (190, 150, 230)],
    "pink": [(240, 130, 180), (200, 80, 140), (255, 190, 215)],
    "brown": [(120, 80, 45), (85, 55, 30), (165, 120, 80)],
    "white": [(245, 245, 245), (225, 225, 230), (255, 255, 255)],
    "black": [(15, 15, 18), (40, 40, 45), (5, 5, 5)],
    "gray": [(128, 128, 128), (90, 90, 95), (170, 170, 175)],
    "grey": [(128, 128, 128), (90, 90, 95), (170, 170, 175)],
    "gold": [(212, 175, 55), (170, 130, 30), (240, 210, 120)],
    "golden": [(212, 175, 55), (170, 130, 30), (240, 210, 120)],
    "silver": [(192, 192, 200), (150, 150, 160), (225, 225, 235)],
    "sunset": [(250, 120, 60), (220, 70, 90), (120, 50, 120), (255, 190, 90)],
    "sunrise": [(255, 170, 100), (250, 210, 150), (140, 170, 220)],
    "forest": [(30, 90, 40), (60, 120, 50), (100, 80, 40), (140, 180, 90)],
    "ocean": [(10, 70, 130), (20, 120, 170), (80, 180, 200), (230, 240, 245)],
    "sea": [(10, 70, 130), (20, 120, 170), (80, 180, 200), (230, 240, 245)],
    "sky": [(120, 170, 230), (180, 210, 245), (250, 250, 255)],
    "night": [(10, 15, 40), (25, 30, 70), (60, 60, 110), (230, 230, 200)],
    "desert": [(230, 190, 130), (200, 150, 90), (160, 110, 60), (140, 180, 230)],
    "snow": [(240, 245, 250), (200, 215, 235), (150, 170, 200)],
    "winter": [(240, 245, 250), (200, 215, 235), (150, 170, 200)],
    "fire": [(255, 90, 20), (220, 40, 10), (255, 200, 60), (60, 10, 5)],
    "autumn": [(200, 90, 30), (170, 60, 20), (230, 160, 50)],
    "spring": [(150, 210, 120), (250, 190, 210), (255, 250, 200)],
    "neon": [(255, 40, 200), (40, 255, 230), (120, 40, 255), (10, 10, 30)],
    "pastel": [(250, 200, 210), (200, 230, 250), (220, 250, 210)],
}
_PALETTE_WORDS = re.compile(r"\b(" + "|".join(PALETTES) + r")s?\b")
SOFT_SCALE = 8  # the soft layer is drawn this many times smaller, then enlarged (a cheap blur)


def palette_for(prompt: str, rnd: random.Random) -> list[RGB]:
    """The shades of every palette word in the prompt, in order; three hashed hues when none."""
    words = dict.fromkeys(match[1] for match in _PALETTE_WORDS.finditer(prompt.lower()))
    if words:
        return [colour for word in words for colour in PALETTES[word]]
    hue = rnd.random()
    colours: list[RGB] = []
    for step in (0.0, 0.08, 0.5):
        r, g, b = colorsys.hsv_to_rgb((hue + step) % 1.0, rnd.uniform(0.4, 0.9), rnd.uniform(0.35, 0.95))
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def _jitter(colour: RGB, rnd: random.Random, amount: int = 18) -> RGB:
    r, g, b = (min(255, max(0, c + rnd.randint(-amount, amount))) for c in colour)
    return r, g, b


def _gradient(size: tuple[int, int], start: RGB, end: RGB, angle: float) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((512, 512), Image.Resampling.BILINEAR)
    # Rotating leaves empty corners: keep the centre square the rotation always covers.
    ramp = ramp.rotate(angle, resample=Image.Resampling.BILINEAR).crop((75, 75, 437, 437))
    mask = ramp.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def _glow(canvas: Image.Image, colour: RGB, rnd: random.Random) -> None:
    width, height = canvas.size
    radius = round(max(width, height) * rnd.uniform(0.25, 0.5))
    # radial_gradient is dark in the centre: invert it so the glow is strongest there.
    mask = Image.radial_gradient("L").point(lambda v: max(0, 230 - v)).resize((radius * 2, radius * 2))
    centre = round(width * rnd.uniform(0.15, 0.85)), round(height * rnd.uniform(0.1, 0.6))
    canvas.paste(Image.new("RGB", mask.size, colour), (centre[0] - radius, centre[1] - radius), mask)


def _shapes(
    layer: Image.Image, palette: list[RGB], rnd: random.Random, count: int, alpha: tuple[int, int]
) -> None:
    draw = ImageDraw.Draw(layer)
    width, height = layer.size
    for _ in range(count):
        colour = (*_jitter(rnd.choice(palette), rnd), rnd.randint(*alpha))
        x, y = rnd.uniform(-0.1, 1.0) * width, rnd.uniform(-0.1, 1.0) * height
        w, h = rnd.uniform(0.05, 0.4) * width, rnd.uniform(0.05, 0.4) * height
        kind = rnd.choice(("ellipse", "rectangle", "triangle"))
        if kind == "ellipse":
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        elif kind == "rectangle":
            draw.rectangle((x, y, x + w, y + h), fill=colour)
        else:
            draw.polygon([(x, y + h), (x + w / 2, y), (x + w, y + h)], fill=colour)


def _seed(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big")


def render_picture(prompt: str, tier: EnhancementTier) -> Image.Image:
    """The local renderer's picture for a prompt: deterministic, of the tier's size and the
    prompt's aspect ratio."""
    text = require_prompt(prompt)
    rnd = random.Random(_seed(text))
    palette = palette_for(text, rnd)
    size = output_size(tier, requested_aspect(text))
    # The background is the first word's two main shades, so that word sets the overall tone.
    start, end = rnd.sample(palette[:2], 2)
    canvas = _gradient(size, start, end, rnd.uniform(0, 360))
    _glow(canvas, max(palette, key=sum), rnd)

    soft_size = (max(1, size[0] // SOFT_SCALE), max(1, size[1] // SOFT_SCALE))
    soft = Image.new("RGBA", soft_size, (0, 0, 0, 0))
    _shapes(soft, palette, rnd, rnd.randint(10, 18), (60, 150))
    canvas = Image.alpha_composite(canvas.convert("RGBA"), soft.resize(size, Image.Resampling.BICUBIC))
    crisp = Image.new("RGBA", size, (0, 0, 0, 0))
    _shapes(crisp, palette, rnd, rnd.randint(4, 9), (150, 230))
    return Image.alpha_composite(canvas, crisp).convert("RGB")
