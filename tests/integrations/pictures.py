"""Synthetic pictures for the imaging tests, made with Pillow (deterministic for a given seed)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops, ImageDraw, ImageStat


def scene(width: int = 480, height: int = 360, seed: int = 1) -> Image.Image:
    """A photo-like picture: smooth gradients, shapes and lines, with a little sensor-like grain."""
    rnd = random.Random(seed)
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ],
    )
    base = Image.blend(base, Image.new("RGB", (width, height), (128, 128, 128)), 0.4)
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y, size = rnd.randrange(width), rnd.randrange(height), rnd.randrange(10, 80)
        colour = (rnd.randrange(30, 226), rnd.randrange(30, 226), rnd.randrange(30, 226))
        if rnd.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size * 0.7), fill=colour)
        else:
            draw.rectangle((x, y, x + size, y + size // 2), outline=colour, width=3)
    for _ in range(30):
        ends = (rnd.randrange(width), rnd.randrange(height), rnd.randrange(width), rnd.randrange(height))
        draw.line(ends, fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)), width=2)
    return add_noise(base, sigma=3)


def add_noise(image: Image.Image, sigma: float) -> Image.Image:
    grain = Image.effect_noise(image.size, sigma).convert("L")
    return Image.merge("RGB", [ImageChops.add(channel, grain, 1, -128) for channel in image.split()])


def scaled(image: Image.Image, factors: tuple[float, float, float]) -> Image.Image:
    """Each channel multiplied by its factor (a tint, or a darker/brighter exposure)."""
    return Image.merge(
        "RGB",
        [
            ch.point(lambda v, f=f: min(255, round(v * f)))
            for ch, f in zip(image.split(), factors, strict=True)
        ],
    )


def framed(picture: Image.Image, left: int, top: int, right: int, bottom: int, colour: str) -> Image.Image:
    canvas = Image.new("RGB", (picture.width + left + right, picture.height + top + bottom), colour)
    canvas.paste(picture, (left, top))
    return canvas


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def luminance(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def channel_means(image: Image.Image) -> list[float]:
    return [float(m) for m in ImageStat.Stat(image.convert("RGB")).mean]
