"""The local renderer and local edits behind generation jobs (text-to-image and image-to-image)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging import ImagingFatal
from spikeland.integrations.imaging.edits import edits_in
from spikeland.integrations.imaging.local import LocalImaging
from spikeland.integrations.imaging.render import closest_aspect, requested_aspect
from tests.integrations.pictures import channel_means, decode, encode, luminance, scene

imaging = LocalImaging()
PICTURE = encode(scene(600, 400))


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute per-channel difference (0..255) of two pictures of the same size."""
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


async def test_the_same_prompt_renders_the_same_bytes_and_another_prompt_another_picture() -> None:
    first = await imaging.render("a lighthouse on a cliff", EnhancementTier.TIER_1K)
    again = await imaging.render("a lighthouse on a cliff", EnhancementTier.TIER_1K, temperature=0.9)
    other = await imaging.render("a lighthouse on a hill", EnhancementTier.TIER_1K)

    assert first.image == again.image
    assert mean_difference(decode(first.image), decode(other.image)) > 10
    assert first.model == "local-render" and first.temperature is None  # no sampling to report
    assert decode(first.image).format == "JPEG"


@pytest.mark.parametrize(
    ("tier", "side"),
    [(EnhancementTier.FREE, 1024), (EnhancementTier.TIER_1K, 1024), (EnhancementTier.TIER_2K, 2048)],
)
async def test_a_render_is_square_at_the_tiers_size(tier: EnhancementTier, side: int) -> None:
    generated = await imaging.render("a quiet harbour", tier)
    assert decode(generated.image).size == (side, side) == (generated.width, generated.height)


async def test_a_4k_render_is_4096_pixels() -> None:
    generated = await imaging.render("a mountain range", EnhancementTier.TIER_4K)
    assert decode(generated.image).size == (4096, 4096)


@pytest.mark.parametrize(
    ("prompt", "size"),
    [
        ("a beach at noon, 16:9", (1024, 576)),
        ("a tall tower in 9:16", (576, 1024)),
        ("portrait of an old sailor", (768, 1024)),
        ("a wide landscape with hills", (1024, 768)),
        ("a cat, 1:1", (1024, 1024)),
        ("a bus at 7:45, 5:4", (1024, 819)),  # 7:45 is not a supported ratio
    ],
)
async def test_a_render_takes_the_aspect_the_prompt_asks_for(prompt: str, size: tuple[int, int]) -> None:
    generated = await imaging.render(prompt, EnhancementTier.TIER_1K)
    assert decode(generated.image).size == size == (generated.width, generated.height)


async def test_colour_words_steer_the_palette() -> None:
    red = channel_means(decode((await imaging.render("a red house", EnhancementTier.TIER_1K)).image))
    blue = channel_means(decode((await imaging.render("a blue house", EnhancementTier.TIER_1K)).image))
    assert red[0] > red[2] and blue[2] > blue[0]
    assert red[0] - red[2] > blue[0] - blue[2] + 50

    night = decode((await imaging.render("a city at night", EnhancementTier.TIER_1K)).image)
    snow = decode((await imaging.render("a city in the snow", EnhancementTier.TIER_1K)).image)
    assert luminance(snow) > luminance(night) + 80


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
async def test_a_blank_prompt_is_fatal(prompt: str) -> None:
    with pytest.raises(ImagingFatal):
        await imaging.render(prompt, EnhancementTier.TIER_1K)
    with pytest.raises(ImagingFatal):
        await imaging.modify(PICTURE, prompt, EnhancementTier.TIER_1K)


async def test_an_undecodable_image_is_fatal() -> None:
    with pytest.raises(ImagingFatal):
        await imaging.modify(b"not an image", "make it brighter", EnhancementTier.TIER_1K)


async def unchanged(tier: EnhancementTier = EnhancementTier.TIER_1K) -> Image.Image:
    return decode((await imaging.modify(PICTURE, "make it look nice", tier)).image)


async def modified(prompt: str) -> Image.Image:
    return decode((await imaging.modify(PICTURE, prompt, EnhancementTier.TIER_1K)).image)


async def test_unknown_wording_only_resizes_keeping_the_aspect() -> None:
    generated = await imaging.modify(PICTURE, "make it look nice", EnhancementTier.TIER_1K)
    output = decode(generated.image)
    assert output.format == "JPEG" and output.size == (1024, 683) == (generated.width, generated.height)
    assert generated.model == "local-render"
    expected = decode(PICTURE).convert("RGB").resize((1024, 683), Image.Resampling.LANCZOS)
    assert mean_difference(output, expected) < 4  # JPEG's loss on the grain only

    assert (await unchanged(EnhancementTier.TIER_2K)).size == (2048, 1365)
    assert (await unchanged(EnhancementTier.FREE)).size == (1024, 683)


async def test_black_and_white_makes_the_channels_equal() -> None:
    for prompt in ("make it black and white", "Grayscale please", "turn it monochrome"):
        red, green, blue = (await modified(prompt)).split()
        assert ImageStat.Stat(ImageChops.difference(red, green)).extrema[0][1] <= 2
        assert ImageStat.Stat(ImageChops.difference(green, blue)).extrema[0][1] <= 2


async def test_brighter_and_darker_move_the_luminance() -> None:
    plain = luminance(await unchanged())
    assert luminance(await modified("a bit brighter")) > plain + 15
    assert luminance(await modified("darker, like dusk")) < plain - 15


async def test_warmer_and_cooler_shift_red_against_blue() -> None:
    plain = channel_means(await unchanged())
    warm, cool = channel_means(await modified("warmer")), channel_means(await modified("cooler"))
    assert warm[0] > plain[0] + 5 and warm[2] < plain[2] - 5
    assert cool[0] < plain[0] - 5 and cool[2] > plain[2] + 5


async def test_flip_and_rotate_move_the_pixels() -> None:
    plain = await unchanged()
    flipped = await modified("flip it")
    assert mean_difference(flipped, ImageOps.mirror(plain)) < 2
    assert mean_difference(flipped, plain) > 10

    upside_down = await modified("flip it vertically")
    assert mean_difference(upside_down, ImageOps.flip(plain)) < 2

    turned = await modified("rotate it")  # clockwise: a portrait of the landscape input
    assert turned.size == (683, 1024)
    assert mean_difference(turned, plain.transpose(Image.Transpose.ROTATE_270)) < 2


async def test_other_edits_do_what_they_say() -> None:
    plain = await unchanged()
    inverted = await modified("invert the colours")
    assert mean_difference(inverted, ImageOps.invert(plain)) < 2

    blurred = await modified("blur the background")
    edges = ImageStat.Stat(blurred.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]
    assert edges < ImageStat.Stat(plain.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0] / 2

    contrast = ImageStat.Stat((await modified("more contrast")).convert("L")).stddev[0]
    assert contrast > ImageStat.Stat(plain.convert("L")).stddev[0] * 1.2

    red, green, blue = channel_means(await modified("old sepia photo"))
    assert red > green > blue


async def test_edits_apply_in_the_order_named() -> None:
    assert edits_in("Sepia, then invert it, then make it brighter and mirror it") == [
        "sepia",
        "invert",
        "brighter",
        "mirror",
    ]
    assert edits_in("rotate it counterclockwise and flip vertically") == ["rotate_left", "flip_vertical"]
    # Grey after the invert: neutral; invert after sepia: a blue tint.
    grey_last = channel_means(await modified("invert, then black and white"))
    assert max(grey_last) - min(grey_last) < 2
    red, _, blue = channel_means(await modified("sepia, then invert"))
    assert blue > red + 20


def test_aspect_words_and_ratios() -> None:
    assert requested_aspect("a dog") is None and requested_aspect("a square logo") is None
    assert requested_aspect("21:9 cinematic shot, portrait lighting") == "21:9"  # the ratio wins
    assert requested_aspect("at 10:30, a landscape") == "4:3"  # 10:30 is a time, not a ratio
    assert closest_aspect(600, 400) == "3:2" and closest_aspect(1080, 1920) == "9:16"
    assert closest_aspect(500, 500) == "1:1"
