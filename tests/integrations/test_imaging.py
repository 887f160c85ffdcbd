"""The local imaging adapter (Pillow) on synthetic pictures: analysis, auto-crop and generation."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFilter
from pydantic import SecretStr

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging import Analysis, CropBox, ImagingFatal, make_imaging
from spikeland.integrations.imaging.config import (
    DEFECT_KEYS,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
)
from spikeland.integrations.imaging.local import LocalImaging
from spikeland.settings import Settings
from tests.integrations.pictures import (
    add_noise,
    channel_means,
    decode,
    encode,
    framed,
    luminance,
    scaled,
    scene,
)

imaging = LocalImaging()
ANALYSE = AnalysisConfig()
CROP = AutoCropConfig()
GENERATE = GenerationConfig()


async def analyse(image: Image.Image) -> Analysis:
    return await imaging.analyse(encode(image), ANALYSE)


def found(analysis: Analysis) -> set[str]:
    return {key for key, present in analysis.defects.items() if present}


async def test_a_clean_picture_has_no_defect_but_its_size() -> None:
    analysis = await analyse(scene())

    assert analysis.source == "local-pillow" and analysis.main_subject == "image"
    assert analysis.image_style == "photograph"
    assert set(analysis.defects) == set(DEFECT_KEYS)
    assert found(analysis) == {"isLowResolution"}  # 480 px < 1024
    assert analysis.quality == "medium" and analysis.lighting_condition == "balanced"
    assert analysis.suggested_crop is None
    assert analysis.metrics["width"] == 480 and analysis.metrics["height"] == 360
    assert not (await analyse(scene(1280, 960))).defects["isLowResolution"]


async def test_a_dark_picture_is_found_dark_and_brightened() -> None:
    dark = scaled(scene(), (0.3, 0.3, 0.3))
    analysis = await analyse(dark)
    assert analysis.defects["isDark"] and not analysis.defects["isOverexposed"]
    assert analysis.metrics["meanLuminance"] < 60
    assert analysis.lighting_condition == "dim, underexposed"

    generated = await imaging.generate(encode(dark), "", EnhancementTier.TIER_1K, GENERATE, analysis)
    assert luminance(decode(generated.image)) > luminance(dark) + 40

    black = await analyse(scaled(scene(), (0.1, 0.1, 0.1)))
    assert black.lighting_condition == "pitch black"


async def test_an_overexposed_picture_is_toned_down() -> None:
    bright = scaled(scene(), (1.8, 1.8, 1.8))
    analysis = await analyse(bright)
    assert analysis.defects["isOverexposed"] and not analysis.defects["isDark"]

    generated = await imaging.generate(encode(bright), "", EnhancementTier.TIER_1K, GENERATE, analysis)
    assert luminance(decode(generated.image)) < luminance(bright) - 20


async def test_a_yellow_cast_is_named_and_neutralised() -> None:
    yellow = scaled(scene(), (1.08, 1.05, 0.75))
    analysis = await analyse(yellow)
    assert analysis.defects["hasColorCast"] and analysis.color_cast_type == "yellow"
    assert not (await analyse(scene())).defects["hasColorCast"]

    generated = await imaging.generate(encode(yellow), "", EnhancementTier.TIER_1K, GENERATE, analysis)
    before, after = channel_means(yellow), channel_means(decode(generated.image))
    assert max(after) - min(after) < (max(before) - min(before)) / 3


@pytest.mark.parametrize(
    ("factors", "cast"),
    [((1.0, 1.0, 1.4), "blue"), ((0.75, 1.0, 1.0), "cyan"), ((1.0, 0.75, 1.0), "magenta")],
)
async def test_other_casts_are_named(factors: tuple[float, float, float], cast: str) -> None:
    assert (await analyse(scaled(scene(), factors))).color_cast_type == cast


async def test_a_blurred_picture_is_blurry_and_its_sharp_original_is_not() -> None:
    sharp = scene()
    blurred = sharp.filter(ImageFilter.GaussianBlur(2))
    sharp_analysis, blurred_analysis = await analyse(sharp), await analyse(blurred)

    assert blurred_analysis.defects["isBlurry"] and not sharp_analysis.defects["isBlurry"]
    assert sharp_analysis.metrics["sharpness"] > 10 * blurred_analysis.metrics["sharpness"]


async def test_grain_is_found_as_noise_and_reduced() -> None:
    grainy = add_noise(scene(), sigma=18)
    analysis = await analyse(grainy)
    assert analysis.defects["hasNoise"] and not (await analyse(scene())).defects["hasNoise"]

    # FREE keeps the size, so the output is measured at the same scale.
    generated = await imaging.generate(encode(grainy), "", EnhancementTier.FREE, GENERATE, analysis)
    after = await imaging.analyse(generated.image, ANALYSE)
    assert after.metrics["noise"] < analysis.metrics["noise"] / 2


async def test_a_flat_interface_picture_is_a_screenshot() -> None:
    page = Image.new("RGB", (800, 600), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 800, 50), fill=(40, 60, 120))
    for row in range(12):
        draw.text((20, 70 + row * 40), f"Setting number {row}: lorem ipsum dolor", fill=(20, 20, 20))
    analysis = await analyse(page)

    assert analysis.image_style == "screenshot"
    assert not analysis.defects["isOverexposed"] and not analysis.defects["hasColorCast"]


async def test_a_disabled_analysis_is_neutral() -> None:
    analysis = await imaging.analyse(encode(scaled(scene(), (0.2, 0.2, 0.2))), AnalysisConfig(enabled=False))
    assert not any(analysis.defects.values()) and analysis.quality == "high"
    assert analysis.metrics == {} and analysis.suggested_crop is None


async def test_analysis_json_shape_and_round_trip() -> None:
    analysis = await analyse(scaled(framed(scene(400, 225), 0, 60, 0, 60, "black"), (1.08, 1.05, 0.75)))
    data = analysis.as_json()

    assert set(data) == {
        "mainSubject",
        "imageStyle",
        "defects",
        "colorCastType",
        "lightingCondition",
        "quality",
        "metrics",
        "suggestedCrop",
        "source",
    }
    assert data["suggestedCrop"] == {"x": 0, "y": 60, "width": 400, "height": 225}
    assert data["colorCastType"] == "yellow" and data["defects"]["hasColorCast"] is True
    assert set(data["defects"]) == set(DEFECT_KEYS)
    assert Analysis.from_json(data) == analysis


async def test_black_bars_are_cropped_with_the_kept_box() -> None:
    picture = scene(400, 225)
    letterboxed = framed(picture, 0, 60, 0, 60, "black")
    cropped = await imaging.crop(encode(letterboxed), await analyse(letterboxed), CROP)

    assert cropped is not None
    assert cropped.box == CropBox(x=0, y=60, width=400, height=225)
    kept = decode(cropped.image)
    assert kept.format == "PNG" and kept.size == (400, 225)
    assert kept.tobytes() == picture.tobytes()  # lossless in, lossless out

    pillarboxed = framed(picture, 50, 0, 30, 0, "black")
    as_jpeg = await imaging.crop(encode(pillarboxed, "JPEG"), await analyse(pillarboxed), CROP)
    assert as_jpeg is not None
    # JPEG smears colour a pixel or so across the picture's edge; that pixel is kept.
    assert (as_jpeg.box.x, as_jpeg.box.y, as_jpeg.box.height) == (50, 0, 225)
    assert 400 <= as_jpeg.box.width <= 402
    assert decode(as_jpeg.image).format == "JPEG"


async def test_no_crop_when_disabled_not_allowed_or_too_small() -> None:
    letterboxed = framed(scene(400, 225), 0, 60, 0, 60, "black")
    data, analysis = encode(letterboxed), await analyse(letterboxed)

    assert await imaging.crop(data, analysis, AutoCropConfig(enabled=False)) is None
    assert await imaging.crop(data, analysis, AutoCropConfig(allow_black_bar_removal=False)) is None
    assert await imaging.crop(data, analysis, AutoCropConfig(min_crop_ratio=0.25)) is None
    thin = framed(scene(400, 300), 0, 5, 0, 5, "black")  # 5 of 310 px: under 5 %
    assert await imaging.crop(encode(thin), await analyse(thin), CROP) is None
    assert await imaging.crop(encode(scene()), await analyse(scene()), CROP) is None


async def test_flat_margins_are_cropped_only_as_ui_elements() -> None:
    margined = framed(scene(400, 300), 40, 40, 40, 40, "#f0f0f0")
    data, analysis = encode(margined), await analyse(margined)

    cropped = await imaging.crop(data, analysis, CROP)
    assert cropped is not None and cropped.box == CropBox(x=40, y=40, width=400, height=300)
    assert await imaging.crop(data, analysis, AutoCropConfig(allow_ui_element_crop=False)) is None


@pytest.mark.parametrize(
    ("tier", "source_size", "expected"),
    [
        (EnhancementTier.FREE, (480, 360), (480, 360)),  # FREE never enlarges
        (EnhancementTier.FREE, (1600, 1200), (1024, 768)),
        (EnhancementTier.TIER_1K, (480, 360), (1024, 768)),
        (EnhancementTier.TIER_2K, (360, 480), (1536, 2048)),
        (EnhancementTier.TIER_4K, (480, 270), (4096, 2304)),
    ],
)
async def test_each_tier_sets_the_long_side_and_writes_jpeg(
    tier: EnhancementTier, source_size: tuple[int, int], expected: tuple[int, int]
) -> None:
    picture = scene(*source_size)
    generated = await imaging.generate(encode(picture), "", tier, GENERATE, await analyse(picture))

    output = decode(generated.image)
    assert output.format == "JPEG" and output.mode == "RGB"
    assert output.size == expected == (generated.width, generated.height)
    assert generated.model == "local-pillow" and generated.temperature is None


async def test_transparent_input_becomes_an_rgb_jpeg() -> None:
    rgba = scene(300, 200).convert("RGBA")
    rgba.putalpha(128)
    generated = await imaging.generate(
        encode(rgba), "", EnhancementTier.TIER_1K, GENERATE, await analyse(rgba)
    )
    assert decode(generated.image).mode == "RGB" and generated.width == 1024


async def test_a_blend_source_brings_its_colours() -> None:
    picture, red = scene(), scaled(scene(seed=7), (1.6, 0.5, 0.5))
    analysis = await analyse(picture)
    plain = await imaging.generate(encode(picture), "", EnhancementTier.TIER_1K, GENERATE, analysis)
    blended = await imaging.generate(
        encode(picture), "", EnhancementTier.TIER_1K, GENERATE, analysis, blend_source=encode(red)
    )
    plain_red, plain_green, _ = channel_means(decode(plain.image))
    blend_red, blend_green, _ = channel_means(decode(blended.image))
    assert blend_red > plain_red + 15 and blend_green < plain_green - 10
    assert (blended.width, blended.height) == (plain.width, plain.height)


async def test_undecodable_bytes_are_fatal() -> None:
    junk = b"definitely not an image"
    with pytest.raises(ImagingFatal):
        await imaging.analyse(junk, ANALYSE)
    with pytest.raises(ImagingFatal):
        await imaging.crop(junk, await analyse(scene()), CROP)
    with pytest.raises(ImagingFatal):
        await imaging.generate(junk, "", EnhancementTier.FREE, GENERATE, await analyse(scene()))
    truncated = encode(scene(), "JPEG")[:200]
    with pytest.raises(ImagingFatal):
        await imaging.analyse(truncated, ANALYSE)


def test_factory_picks_local_without_a_key_and_gemini_with_one() -> None:
    plain = Settings(database_url="postgresql://x@127.0.0.1/x", gemini_api_key=None)
    assert make_imaging(plain).name == "local"
    keyed = plain.model_copy(update={"gemini_api_key": SecretStr("g-key")})
    assert make_imaging(keyed).name == "gemini"
