"""The Gemini imaging adapter through the real google-genai SDK against a loopback peer that speaks
the ``generateContent`` REST endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image
from pydantic import SecretStr

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging import Analysis, CropBox, ImagingError, ImagingFatal
from spikeland.integrations.imaging.config import (
    DEFECT_KEYS,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
)
from spikeland.integrations.imaging.gemini import ANALYSIS_PROMPT, GeminiImaging
from spikeland.settings import Settings
from tests.integrations.gemini_peer import (
    GeminiPeer,
    error_answer,
    gemini_peer,
    image_answer,
    text_answer,
)
from tests.integrations.pictures import channel_means, decode, encode, framed, scene

ANSWER = {
    "mainSubject": "a harbour at dusk",
    "imageStyle": "painting",
    "defects": {"isDark": True, "hasColorCast": True, "colorCastType": "blue", "isBlurry": False},
    "lightingCondition": "dim evening light",
    "cropping": {
        "isCroppingNeeded": True,
        "suggestedCrop": {"x": 0.1, "y": 0.0, "width": 0.8, "height": 1.0},
        "cropReason": "empty margins",
    },
}


@pytest.fixture(scope="module")
def peer() -> Iterator[GeminiPeer]:
    with gemini_peer() as running:
        yield running


@pytest.fixture
async def gemini(peer: GeminiPeer) -> AsyncIterator[GeminiImaging]:
    peer.answers.clear()
    peer.received.clear()
    peer.delay = 0.0
    settings = Settings(
        database_url="postgresql://x@127.0.0.1/x",
        gemini_api_key=SecretStr("test-gemini-key"),
        gemini_api_base=peer.url,
    )
    imaging = GeminiImaging(settings)
    yield imaging
    await imaging.aclose()


def analysis_of(defects: set[str] | None = None, crop: CropBox | None = None) -> Analysis:
    found = defects or set()
    return Analysis(
        source="test",
        main_subject="x",
        image_style="photograph",
        defects={key: key in found for key in DEFECT_KEYS},
        color_cast_type=None,
        lighting_condition="balanced",
        quality="high",
        suggested_crop=crop,
    )


async def test_analysis_sends_the_image_and_prompt_and_reads_the_json(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    peer.answers.append(text_answer("```json\n" + json.dumps(ANSWER) + "\n```"))
    analysis = await gemini.analyse(encode(scene(500, 300)), AnalysisConfig())

    [request] = peer.received
    assert request.path == "/v1beta/models/gemini-3-pro-image-preview:generateContent"
    assert request.headers["x-goog-api-key"] == "test-gemini-key"
    assert request.body["generationConfig"] == {"temperature": 0.1, "responseMimeType": "application/json"}
    [image] = request.images()
    assert decode(image).size == (500, 300)
    assert request.text() == ANALYSIS_PROMPT

    assert analysis.source == "gemini-3-pro-image-preview"
    assert analysis.main_subject == "a harbour at dusk" and analysis.image_style == "painting"
    assert (
        analysis.defects["isDark"] and analysis.defects["hasColorCast"] and not analysis.defects["isBlurry"]
    )
    assert analysis.color_cast_type == "blue" and analysis.lighting_condition == "dim evening light"
    assert analysis.quality == "medium"
    assert analysis.suggested_crop == CropBox(x=50, y=0, width=400, height=300)  # fractions to pixels


async def test_analysis_config_picks_model_and_temperature(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(text_answer(json.dumps({**ANSWER, "imageStyle": "cubist", "cropping": None})))
    analysis = await gemini.analyse(encode(scene()), AnalysisConfig(model="vision-x", temperature=0.7))

    assert peer.received[0].model == "vision-x"
    assert peer.received[0].body["generationConfig"]["temperature"] == 0.7
    assert analysis.source == "vision-x"
    assert analysis.image_style == "photograph" and analysis.suggested_crop is None  # invalid style


@pytest.mark.parametrize(
    "answer",
    [
        text_answer("The image shows a harbour."),
        text_answer("[1, 2, 3]"),
        error_answer(503, "The model is overloaded.", "UNAVAILABLE"),
        error_answer(403, "API key not valid.", "PERMISSION_DENIED"),
    ],
)
async def test_a_failed_analysis_falls_back_to_the_default(
    gemini: GeminiImaging, peer: GeminiPeer, answer: tuple[int, object]
) -> None:
    peer.answers.append(answer)
    analysis = await gemini.analyse(encode(scene()), AnalysisConfig())

    assert analysis.source == "default" and analysis.main_subject == "General image"
    assert {key for key, found in analysis.defects.items() if found} == {"isLowResolution"}
    assert analysis.lighting_condition == "unknown" and analysis.quality == "medium"


async def test_disabled_analysis_and_undecodable_input_make_no_call(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    neutral = await gemini.analyse(encode(scene()), AnalysisConfig(enabled=False))
    assert not any(neutral.defects.values())
    with pytest.raises(ImagingFatal):
        await gemini.analyse(b"not an image", AnalysisConfig())
    assert peer.received == []


async def test_generation_pads_asks_and_resizes_to_the_tier(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(image_answer(encode(Image.new("RGB", (2048, 2048), (200, 40, 40)))))
    generated = await gemini.generate(
        encode(scene(600, 400)), "Make it nice.", EnhancementTier.TIER_2K, GenerationConfig(), analysis_of()
    )

    [request] = peer.received
    assert request.model == "gemini-3-pro-image-preview"
    config = request.body["generationConfig"]
    assert config["responseModalities"] == ["IMAGE", "TEXT"] and config["imageConfig"] == {"imageSize": "2K"}
    assert "temperature" not in config
    [sent] = request.images()
    padded = decode(sent)
    assert padded.size == (600, 600)
    # Black bars above and below the picture (JPEG keeps flat black within a level or two).
    assert max(channel_means(padded.crop((0, 0, 600, 90)))) < 3
    assert max(channel_means(padded.crop((0, 510, 600, 600)))) < 3
    assert request.text() == "Make it nice.\n\nGenerate at 2048x2048 resolution."

    output = decode(generated.image)
    assert output.format == "JPEG" and output.size == (2048, 1365) == (generated.width, generated.height)
    assert channel_means(output)[0] > 150  # the model's (red) picture, cropped back to 3:2
    assert generated.model == "gemini-3-pro-image-preview" and generated.temperature is None


async def test_free_tier_uses_the_free_model_and_a_blend_image(
    gemini: GeminiImaging, peer: GeminiPeer
) -> None:
    peer.answers.append(image_answer(encode(Image.new("RGB", (1024, 1024), "white"), "JPEG"), "image/jpeg"))
    generated = await gemini.generate(
        encode(scene(300, 500)),
        "Blend them.",
        EnhancementTier.FREE,
        GenerationConfig(temperature=0.4),
        analysis_of(),
        blend_source=encode(scene(200, 200, seed=3)),
    )

    [request] = peer.received
    assert request.model == "gemini-2.5-flash-image"
    assert "imageConfig" not in request.body["generationConfig"]
    assert request.body["generationConfig"]["temperature"] == 0.4
    assert [decode(image).size for image in request.images()] == [(500, 500), (200, 200)]
    assert request.text().endswith("Generate at 1024x1024 resolution.")
    assert (generated.width, generated.height) == (614, 1024)
    assert generated.model == "gemini-2.5-flash-image" and generated.temperature == 0.4


async def test_a_model_override_wins(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(image_answer(encode(Image.new("RGB", (1024, 1024), "white"))))
    await gemini.generate(
        encode(scene()), "x", EnhancementTier.TIER_4K, GenerationConfig(model="painter-2"), analysis_of()
    )
    assert peer.received[0].model == "painter-2"
    assert peer.received[0].body["generationConfig"]["imageConfig"] == {"imageSize": "4K"}


async def test_an_answer_without_an_image_is_worth_a_retry(gemini: GeminiImaging, peer: GeminiPeer) -> None:
    peer.answers.append(text_answer("I cannot do that."))
    with pytest.raises(ImagingError, match="No image data received from Gemini API") as raised:
        await gemini.generate(
            encode(scene()), "x", EnhancementTier.TIER_1K, GenerationConfig(), analysis_of()
        )
    assert not isinstance(raised.value, ImagingFatal)


@pytest.mark.parametrize(
    ("answer", "fatal"),
    [
        (error_answer(403, "Permission denied: API key not valid.", "PERMISSION_DENIED"), True),
        (error_answer(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"), True),
        (error_answer(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"), True),
        (error_answer(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"), False),
        (error_answer(503, "The model is overloaded. Please try again later.", "UNAVAILABLE"), False),
        (error_answer(500, "Internal error encountered.", "INTERNAL"), False),
    ],
)
async def test_generation_errors_are_mapped(
    gemini: GeminiImaging, peer: GeminiPeer, answer: tuple[int, object], fatal: bool
) -> None:
    peer.answers.append(answer)
    with pytest.raises(ImagingError) as raised:
        await gemini.generate(
            encode(scene()), "x", EnhancementTier.TIER_1K, GenerationConfig(), analysis_of()
        )
    assert isinstance(raised.value, ImagingFatal) is fatal
    assert len(peer.received) == 1  # no retry inside the adapter: the job runner decides


async def test_a_timeout_is_worth_a_retry_and_falls_back_in_analysis(peer: GeminiPeer) -> None:
    settings = Settings(
        database_url="postgresql://x@127.0.0.1/x",
        gemini_api_key=SecretStr("k"),
        gemini_api_base=peer.url,
        gemini_analysis_timeout_seconds=0.3,
        gemini_timeout_seconds=0.3,
    )
    peer.answers.clear()
    peer.delay = 2.0
    imaging = GeminiImaging(settings)
    try:
        assert (await imaging.analyse(encode(scene()), AnalysisConfig())).source == "default"
        with pytest.raises(ImagingError) as raised:
            await imaging.generate(
                encode(scene()), "x", EnhancementTier.TIER_1K, GenerationConfig(), analysis_of()
            )
    finally:
        peer.delay = 0.0
        await imaging.aclose()
    assert not isinstance(raised.value, ImagingFatal)


async def test_crop_prefers_measured_borders_then_the_models_suggestion(gemini: GeminiImaging) -> None:
    letterboxed = framed(scene(400, 225), 0, 60, 0, 60, "black")
    suggested = CropBox(x=10, y=10, width=100, height=100)
    cropped = await gemini.crop(encode(letterboxed), analysis_of(crop=suggested), AutoCropConfig())
    assert cropped is not None and cropped.box == CropBox(x=0, y=60, width=400, height=225)

    plain = encode(scene(500, 300))
    by_model = await gemini.crop(plain, analysis_of(crop=CropBox(50, 0, 400, 300)), AutoCropConfig())
    assert by_model is not None and by_model.box == CropBox(50, 0, 400, 300)
    assert decode(by_model.image).size == (400, 300)

    small = AutoCropConfig(min_crop_ratio=0.5)
    assert await gemini.crop(plain, analysis_of(crop=CropBox(50, 0, 400, 300)), small) is None
    assert await gemini.crop(plain, analysis_of(), AutoCropConfig()) is None
    disabled = AutoCropConfig(enabled=False)
    assert await gemini.crop(encode(letterboxed), analysis_of(crop=suggested), disabled) is None
