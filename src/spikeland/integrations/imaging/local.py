"""The local imaging implementation: measurement-based analysis and classic corrections with Pillow.

No model is involved, so nothing leaves the machine and the result is deterministic. The analysis
measures the image and turns the numbers into the same defect flags a vision model would give
(thresholds below); generation applies the matching corrections (relight, highlight recovery,
grey-world white balance, denoise, sharpening) and resizes to the tier. It cannot invent detail or
name what is in the picture: that is what the Gemini implementation is for.

Generation jobs get the local renderer (``render.py``: an abstract picture seeded from the prompt)
and the local edits (``edits.py``: a small vocabulary of named edits); both report themselves as
``RENDERER`` so no one mistakes them for a model.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import AbstractAsyncContextManager

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging import (
    Analysis,
    Cropped,
    Generated,
    quality_for,
)
from spikeland.integrations.imaging import processing as px
from spikeland.integrations.imaging.budget import DecodeBudget, decode_budget
from spikeland.integrations.imaging.config import (
    DEFAULT_AUTO_CROP,
    DEFECT_KEYS,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)
from spikeland.integrations.imaging.edits import modify_picture
from spikeland.integrations.imaging.prompts import build_prompt
from spikeland.integrations.imaging.render import render_picture

SOURCE = "local-pillow"
RENDERER = "local-render"  # geminiModel of a generation job done locally
# Measurements run on a copy at most this big: enough for exposure, colour and the coarse sharpness
# and noise checks, and fast. The price: blur or grain that only shows at full size of a large
# photo goes unnoticed.
WORK_SIZE = 512
LOW_RESOLUTION_BELOW = 1024  # long side, in pixels of the input

# Defect thresholds (luminance and channels on 0..255, measured on the work copy).
DARK_MEAN = 60  # mean luminance below: isDark
PITCH_BLACK_MEAN = 20  # ... and this low: lighting "pitch black"
OVEREXPOSED_MEAN = 200  # mean luminance above, or
OVEREXPOSED_CLIPPED = 0.10  # more than this share of pixels at >= 247: isOverexposed
BLURRY_SHARPNESS = 100.0  # Laplacian variance below (the usual rule of thumb), and
BLURRY_RATIO = 2.0  # blurring it once more removes less than half of it: isBlurry
NOISY_RESIDUAL = 4.5  # mean |pixel - 3x3 median| over flat areas above: hasNoise
COLOUR_CAST = 0.035  # a channel's share of R+G+B further than this from 1/3: hasColorCast
# Screenshot: few distinct colours, and ten of them (not black) cover at least half the picture.
SCREENSHOT_DISTINCT = 0.05  # distinct colours / pixels
SCREENSHOT_PALETTE = 0.5

_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)
_CAST_NAMES = {  # (channel, sign of its deviation) -> colour of the cast
    (0, 1): "red",
    (1, 1): "green",
    (2, 1): "blue",
    (0, -1): "cyan",
    (1, -1): "magenta",
    (2, -1): "yellow",
}


def neutral_analysis(source: str = "disabled") -> Analysis:
    """What a disabled analysis reports: nothing to correct."""
    return Analysis(
        source=source,
        main_subject="image",
        image_style="photograph",
        defects=dict.fromkeys(DEFECT_KEYS, False),
        color_cast_type=None,
        lighting_condition="unknown",
        quality="high",
    )


def _exposure(luma: Image.Image) -> dict[str, float]:
    histogram = luma.histogram()
    total = sum(histogram) or 1
    stat = ImageStat.Stat(luma)
    return {
        "meanLuminance": stat.mean[0],
        "contrast": stat.stddev[0],
        "shadowClipped": sum(histogram[:9]) / total,
        "highlightClipped": sum(histogram[247:]) / total,
    }


def _sharpness(luma: Image.Image) -> dict[str, float]:
    laplacian = ImageStat.Stat(luma.filter(_LAPLACIAN)).var[0]
    softened = ImageStat.Stat(luma.filter(ImageFilter.GaussianBlur(1)).filter(_LAPLACIAN)).var[0]
    # A sharp image loses most of its Laplacian energy when blurred once more; a blurred one has
    # little left to lose. The ratio does not depend on contrast, unlike the variance itself.
    return {"sharpness": laplacian, "blurRatio": laplacian / max(softened, 1e-6)}


def _noise(luma: Image.Image) -> float:
    median = luma.filter(ImageFilter.MedianFilter(3))
    residual = ImageChops.difference(luma, median)
    # Only flat areas: at edges and in texture the residual is detail, not grain.
    flat = median.filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v < 12 else 0)
    if ImageStat.Stat(flat).mean[0] / 255 < 0.05:
        return float(ImageStat.Stat(residual).median[0])
    return float(ImageStat.Stat(residual, flat).mean[0])


def _colour(rgb: Image.Image) -> tuple[dict[str, float], str | None]:
    means = ImageStat.Stat(rgb).mean
    total = sum(means)
    deviations = [m / total - 1 / 3 for m in means] if total > 0 else [0.0, 0.0, 0.0]
    channel = max(range(3), key=lambda i: abs(deviations[i]))
    strength = abs(deviations[channel])
    cast = _CAST_NAMES[(channel, 1 if deviations[channel] > 0 else -1)] if strength > COLOUR_CAST else None
    metrics = {"meanRed": means[0], "meanGreen": means[1], "meanBlue": means[2], "castStrength": strength}
    return metrics, cast


def _palette(image: Image.Image) -> dict[str, float]:
    # Nearest-neighbour keeps the original colours (a smoothing resize would invent new ones).
    sample = px.to_rgb(image).resize(_work_size(image.size), Image.Resampling.NEAREST)
    pixels = sample.width * sample.height
    colours = sample.getcolors(pixels) or []
    colours.sort(key=lambda item: item[0], reverse=True)
    not_black = [count for count, colour in colours if max(colour) > 8]  # type: ignore[arg-type]
    return {"distinctColours": len(colours) / pixels, "paletteShare": sum(not_black[:10]) / pixels}


def _work_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, WORK_SIZE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _work_copy(rgb: Image.Image) -> Image.Image:
    if max(rgb.size) <= WORK_SIZE:
        return rgb
    # BOX averages the pixels it merges: exposure and colour means stay exact.
    return rgb.resize(_work_size(rgb.size), Image.Resampling.BOX)


def measure(image: Image.Image) -> tuple[dict[str, float], str | None]:
    """Every number the local analysis decides on (as stored in ``analysisResult.metrics``),
    and the colour of the cast when there is one."""
    rgb = px.to_rgb(image)
    work = _work_copy(rgb)
    luma = work.convert("L")
    colour, cast = _colour(work)
    metrics = {
        "width": float(image.width),
        "height": float(image.height),
        **_exposure(luma),
        **_sharpness(luma),
        "noise": _noise(luma),
        **colour,
        **_palette(rgb),
    }
    return metrics, cast


def _lighting(metrics: dict[str, float], dark: bool, overexposed: bool) -> str:
    if metrics["meanLuminance"] < PITCH_BLACK_MEAN:
        return "pitch black"
    if dark:
        return "dim, underexposed"
    if overexposed:
        return "harsh, overexposed"
    if metrics["contrast"] < 25:
        return "flat, low contrast"
    return "balanced"


def analyse_image(image: Image.Image) -> Analysis:
    """Measure the image and turn the numbers into the analysis (the thresholds above)."""
    metrics, cast = measure(image)
    screenshot = (
        metrics["distinctColours"] <= SCREENSHOT_DISTINCT and metrics["paletteShare"] >= SCREENSHOT_PALETTE
    )
    dark = metrics["meanLuminance"] < DARK_MEAN
    # Flat UI colours and white pages are a screenshot's design, not a cast or blown highlights.
    overexposed = (
        not screenshot
        and not dark
        and (metrics["meanLuminance"] > OVEREXPOSED_MEAN or metrics["highlightClipped"] > OVEREXPOSED_CLIPPED)
    )
    if screenshot:
        cast = None
    defects = {
        "isDark": dark,
        "isBlurry": metrics["sharpness"] < BLURRY_SHARPNESS and metrics["blurRatio"] < BLURRY_RATIO,
        "hasNoise": metrics["noise"] > NOISY_RESIDUAL,
        # Tracking lines and colour bleed need a model to recognise; never claimed locally.
        "hasVHSArtifacts": False,
        "isLowResolution": max(image.size) < LOW_RESOLUTION_BELOW,
        "isOverexposed": overexposed,
        "hasColorCast": cast is not None,
    }
    return Analysis(
        source=SOURCE,
        # Measurements cannot say what the picture shows.
        main_subject="image",
        image_style="screenshot" if screenshot else "photograph",
        defects=defects,
        color_cast_type=cast,
        lighting_condition=_lighting(metrics, dark, overexposed),
        quality=quality_for(defects),
        metrics={key: round(value, 4) for key, value in metrics.items()},
        # What the default auto-crop would remove; the crop step measures again with the pipeline's config.
        suggested_crop=px.find_content_box(image, DEFAULT_AUTO_CROP),
    )


# Corrections. Each takes and returns an RGB image.
RELIGHT_TARGET = 110  # mean luminance a dark image is lifted towards
HIGHLIGHT_TARGET = 150  # ... and an overexposed one brought down towards
BLEND_STRENGTH = 0.5  # share of the blend source's colour statistics taken over
DENOISE_THRESHOLD = 40  # a channel this far from its blurred neighbourhood is detail, not grain


def _gamma_towards(rgb: Image.Image, target: float, low: float, high: float) -> Image.Image:
    mean = ImageStat.Stat(rgb.convert("L")).mean[0]
    if not 0 < mean < 255:
        return rgb
    gamma = min(high, max(low, math.log(target / 255) / math.log(mean / 255)))
    table = [round(255 * (v / 255) ** gamma) for v in range(256)]
    return rgb.point(table * 3)


def relight(rgb: Image.Image) -> Image.Image:
    """Stretch the tones (same curve on every channel, so hues stay) and lift the midtones."""
    stretched = ImageOps.autocontrast(rgb, cutoff=(0.5, 0.5), preserve_tone=True)
    return _gamma_towards(stretched, RELIGHT_TARGET, low=0.35, high=1.0)


def recover_highlights(rgb: Image.Image) -> Image.Image:
    """Bring bright tones down (a gamma above 1); clipped pixels stay white, as nothing is left there."""
    return _gamma_towards(rgb, HIGHLIGHT_TARGET, low=1.0, high=2.5)


def white_balance(rgb: Image.Image) -> Image.Image:
    """Grey world: scale each channel so its mean matches the mean of all three."""
    means = ImageStat.Stat(rgb).mean
    grey = sum(means) / 3
    table: list[int] = []
    for mean in means:
        factor = min(2.0, max(0.5, grey / mean)) if mean > 0 else 1.0
        table += [min(255, round(v * factor)) for v in range(256)]
    return rgb.point(table)


def denoise(rgb: Image.Image) -> Image.Image:
    """Smooth only where a pixel is close to its neighbourhood (grain), keep it where it differs a lot
    (edges). Works like a sigma filter; a median filter does better but takes seconds on a large photo."""
    smooth = rgb.filter(ImageFilter.GaussianBlur(1.2))
    red, green, blue = ImageChops.difference(rgb, smooth).split()
    distance = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    grain = distance.point(lambda v: 255 if v < DENOISE_THRESHOLD else 0)
    return Image.composite(smooth, rgb, grain)


def match_colours(rgb: Image.Image, source: Image.Image, strength: float = BLEND_STRENGTH) -> Image.Image:
    """Move each channel's mean and spread part of the way to the source's: the target keeps its
    composition and takes over the source's palette (the local stand-in for a creative blend)."""
    target_stat, source_stat = ImageStat.Stat(rgb), ImageStat.Stat(px.to_rgb(source))
    table: list[int] = []
    for channel in range(3):
        t_mean, t_std = target_stat.mean[channel], max(target_stat.stddev[channel], 1.0)
        s_mean, s_std = source_stat.mean[channel], source_stat.stddev[channel]
        for v in range(256):
            moved = (v - t_mean) / t_std * s_std + s_mean
            table.append(min(255, max(0, round(v + strength * (moved - v)))))
    return rgb.point(table)


def enhance(
    image: Image.Image, tier: EnhancementTier, defects: dict[str, bool], blend_source: Image.Image | None
) -> Image.Image:
    """The corrections the defects call for, then the tier's size (sharpening at the output size)."""
    rgb = px.to_rgb(image)
    noisy = bool(defects.get("hasNoise") or defects.get("hasVHSArtifacts"))
    if noisy:
        rgb = denoise(rgb)
    if defects.get("hasColorCast"):
        rgb = white_balance(rgb)
    if defects.get("isDark"):
        rgb = relight(rgb)
    elif defects.get("isOverexposed"):
        rgb = recover_highlights(rgb)
    if blend_source is not None:
        rgb = match_colours(rgb, blend_source)
    rgb = px.fit_long_side(rgb, px.target_long_side(tier, max(rgb.size)))
    # Sharpening brings back the grain just removed: a noisy picture is sharpened only when blurry,
    # and gently.
    if defects.get("isBlurry") or (defects.get("isLowResolution") and not noisy):
        rgb = rgb.filter(ImageFilter.UnsharpMask(radius=2, percent=60 if noisy else 120, threshold=3))
    return rgb


class LocalImaging:
    """Each decode first holds its memory in the process's decode budget (``budget``): the
    decoded pixels times the full-size copies the step makes (an upright copy, an RGB one, ...)."""

    name = "local"

    def __init__(self, budget: DecodeBudget | None = None) -> None:
        self._budget = budget or decode_budget()

    def _hold(self, *images: bytes | None, copies: int) -> AbstractAsyncContextManager[None]:
        return self._budget.hold(copies * sum(px.decoded_size(image) for image in images if image))

    async def analyse(self, image: bytes, config: AnalysisConfig) -> Analysis:
        if not config.enabled:
            return neutral_analysis()
        async with self._hold(image, copies=2):
            return await asyncio.to_thread(lambda: analyse_image(px.decode(image)))

    async def crop(self, image: bytes, analysis: Analysis, config: AutoCropConfig) -> Cropped | None:
        if not config.enabled:
            return None
        async with self._hold(image, copies=2):
            return await asyncio.to_thread(border_crop, image, config)

    def prompt(self, analysis: Analysis, config: PromptConfig, *, blend: bool) -> str:
        return build_prompt(analysis, config, blend=blend)

    async def generate(
        self,
        image: bytes,
        prompt: str,
        tier: EnhancementTier,
        config: GenerationConfig,
        analysis: Analysis,
        blend_source: bytes | None = None,
    ) -> Generated:
        def work() -> Generated:
            source = px.decode(blend_source) if blend_source is not None else None
            enhanced = enhance(px.decode(image), tier, analysis.defects, source)
            return Generated(
                image=px.encode_jpeg(enhanced),
                width=enhanced.width,
                height=enhanced.height,
                model=SOURCE,
                temperature=None,
            )

        async with self._hold(image, blend_source, copies=3):
            return await asyncio.to_thread(work)

    async def render(
        self, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        # No sampling here, so the temperature changes nothing and is not reported.
        return await asyncio.to_thread(lambda: _generated(render_picture(prompt, tier)))

    async def modify(
        self, image: bytes, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        """The edits the prompt names (see ``edits.py``); the local renderer does not understand
        free text, so a prompt naming none of them gives the image back only resized to the tier."""
        async with self._hold(image, copies=2):
            return await asyncio.to_thread(lambda: _generated(modify_picture(px.decode(image), prompt, tier)))


def _generated(picture: Image.Image) -> Generated:
    return Generated(
        image=px.encode_jpeg(picture),
        width=picture.width,
        height=picture.height,
        model=RENDERER,
        temperature=None,
    )


def border_crop(image: bytes, config: AutoCropConfig) -> Cropped | None:
    """The image without its uniform borders (``processing.find_content_box``), encoded like the input."""
    decoded = px.decode(image)
    box = px.find_content_box(decoded, config)
    if box is None:
        return None
    return Cropped(image=px.encode_like(px.apply_crop(decoded, box), decoded.format), box=box)
