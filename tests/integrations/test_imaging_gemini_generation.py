"""Gemini text-to-image (render) and image-to-image (modify) through the real google-genai SDK
against the loopback ``generateContent`` peer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image
from pydantic import SecretStr

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging import ImagingError, ImagingFatal
from spikeland.integrations.imaging.gemini import GeminiImaging
from spikeland.settings import Settings
from tests.integrations.gemini_peer import (
    GeminiPeer,
    error_answer,
    gemini_peer,
    image_answer,
    text_answer,
)
from tests.integrations.pictures import channel_means, decode, encode, scene


@pytest.fixture(scope="module")
def peer() -> Iterator[GeminiPeer]:
    with gemini_peer() as running:
        yield running


@pytest.fixture
async def gemini(peer: GeminiPeer) -> AsyncIterator[GeminiImaging]:
    peer.answers.clear()
    peer.received.clear()
    settings = Settings(
        database_url="postgresql://x@127.0.0.1/x",
        gemini_api_key=SecretStr("test-gemini-key"),
        gemini_api_base=peer.url,
    )
    imaging = GeminiImaging(settings)
    yield imaging
    await imaging.aclose()


def picture(width: int, height: int, colour: tuple[int, int, int] = (30, 160, 60)) -> bytes:
    return encode(Image.new("RGB", (width, height), colour))


async def test_render_sends_the_prompt_alone_and_keeps_the_free_answer(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    peer.answers.append(image_answer(picture(1024, 1024, (200, 40, 40)), "image/png"))
    generated = await gemini.render("  A red fox in the snow.  ", EnhancementTier.FREE, temperature=0.6)

    [request] = peer.received
    assert request.model == "gemini-2.5-flash-image"
    assert request.headers["x-goog-api-key"] == "test-gemini-key"
    config = request.body["generationConfig"]
    assert config == {"responseModalities": ["IMAGE", "TEXT"], "temperature": 0.6}
    assert request.images() == []
    assert request.text() == "A red fox in the snow.\n\nGenerate at 1024x1024 resolution."

    output = decode(generated.image)
    assert output.format == "JPEG" and output.size == (1024, 1024) == (generated.width, generated.height)
    assert channel_means(output)[0] > 150
    assert generated.model == "gemini-2.5-flash-image" and generated.temperature == 0.6


async def test_render_asks_for_the_tiers_size_and_the_prompts_aspect(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    peer.answers.append(image_answer(picture(1376, 768), "image/png"))  # what the model gives for 16:9
    generated = await gemini.render("A harbour at dawn, 16:9", EnhancementTier.TIER_2K)

    [request] = peer.received
    assert request.model == "gemini-3-pro-image-preview"
    config = request.body["generationConfig"]
    assert config["imageConfig"] == {"imageSize": "2K", "aspectRatio": "16:9"}
    assert "temperature" not in config
    assert request.text() == "A harbour at dawn, 16:9\n\nGenerate at 2048x1152 resolution."
    # The answer's own aspect, enlarged to the tier's long side.
    assert (generated.width, generated.height) == (2048, 1143) == decode(generated.image).size
    assert generated.model == "gemini-3-pro-image-preview" and generated.temperature is None


async def test_modify_sends_the_image_and_prompt_and_keeps_the_inputs_aspect(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    peer.answers.append(image_answer(picture(1024, 1024, (20, 20, 220)), "image/png"))
    generated = await gemini.modify(
        encode(scene(600, 400)), "Make the sky stormy.", EnhancementTier.TIER_1K, temperature=1.0
    )

    [request] = peer.received
    assert request.model == "gemini-3-pro-image-preview"
    config = request.body["generationConfig"]
    assert config["imageConfig"] == {"imageSize": "1K", "aspectRatio": "3:2"}
    assert config["responseModalities"] == ["IMAGE", "TEXT"] and config["temperature"] == 1.0
    assert "inlineData" in request.parts[0] and request.parts[1] == {"text": "Make the sky stormy."}
    [sent] = request.images()
    assert decode(sent).size == (600, 400)  # as it is: no padding

    output = decode(generated.image)
    assert output.size == (1024, 683) == (generated.width, generated.height)  # the square answer, cropped
    assert channel_means(output)[2] > 150
    assert generated.model == "gemini-3-pro-image-preview" and generated.temperature == 1.0


async def test_modify_caps_a_large_input_and_asks_for_4k(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(image_answer(picture(1024, 1536), "image/png"))
    generated = await gemini.modify(picture(2000, 4000), "Sharper.", EnhancementTier.TIER_4K)

    [request] = peer.received
    assert request.body["generationConfig"]["imageConfig"] == {"imageSize": "4K", "aspectRatio": "9:16"}
    [sent] = request.images()
    assert decode(sent).size == (1536, 3072)
    assert (generated.width, generated.height) == (2048, 4096)  # 1:2 like the input, not the 2:3 answer


async def test_an_answer_without_an_image_is_worth_a_retry(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers += [text_answer("I cannot draw that."), text_answer("Nor edit it.")]
    with pytest.raises(ImagingError, match="No image data received from Gemini API") as rendering:
        await gemini.render("a fox", EnhancementTier.TIER_1K)
    with pytest.raises(ImagingError, match="No image data received from Gemini API") as modifying:
        await gemini.modify(picture(100, 100), "brighter", EnhancementTier.TIER_1K)
    assert not isinstance(rendering.value, ImagingFatal) and not isinstance(modifying.value, ImagingFatal)


async def test_an_unreadable_answer_is_worth_a_retry(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(image_answer(b"not a picture", "image/png"))
    with pytest.raises(ImagingError) as raised:
        await gemini.render("a fox", EnhancementTier.TIER_1K)
    assert not isinstance(raised.value, ImagingFatal)


@pytest.mark.parametrize(
    ("answer", "fatal"),
    [
        (error_answer(403, "Permission denied: API key not valid.", "PERMISSION_DENIED"), True),
        (error_answer(404, "models/x is not found.", "NOT_FOUND"), True),
        (error_answer(503, "The model is overloaded. Please try again later.", "UNAVAILABLE"), False),
        (error_answer(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"), False),
    ],
)
async def test_errors_are_mapped(
    gemini: GeminiImaging, peer: GeminiPeer, answer: tuple[int, object], fatal: bool
) -> None:
    peer.answers += [answer, answer]
    with pytest.raises(ImagingError) as rendering:
        await gemini.render("a fox", EnhancementTier.TIER_1K)
    with pytest.raises(ImagingError) as modifying:
        await gemini.modify(picture(100, 100), "brighter", EnhancementTier.FREE)
    assert isinstance(rendering.value, ImagingFatal) is fatal
    assert isinstance(modifying.value, ImagingFatal) is fatal
    assert len(peer.received) == 2  # one try each: the job runner decides about retries


async def test_a_blank_prompt_or_an_undecodable_image_is_fatal_without_a_call(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    with pytest.raises(ImagingFatal):
        await gemini.render(" \n ", EnhancementTier.TIER_1K)
    with pytest.raises(ImagingFatal):
        await gemini.modify(picture(100, 100), "", EnhancementTier.TIER_1K)
    with pytest.raises(ImagingFatal):
        await gemini.modify(b"not an image", "brighter", EnhancementTier.TIER_1K)
    assert peer.received == []
