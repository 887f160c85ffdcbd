"""Gemini (google-genai SDK): vision analysis as JSON, and image generation by tier.

As the original platform did it (reference §2.3): the analysis asks for a fixed JSON shape at
temperature 0.1 and falls back to a default analysis when the model fails or answers nonsense;
generation pads the image to a black square, asks for an NxN result, then crops the answer back
to the input's aspect ratio and resizes it to the tier. Auto-crop is measured locally (uniform
borders), with the model's suggested crop as the fallback.

The SDK talks through an httpx client (the project's HTTP library) and makes one try per call:
the job runner owns retries, told apart by ``ImagingError`` (retry) and ``ImagingFatal`` (don't).

Generation jobs: ``render`` sends the prompt alone (with the resolution, and the aspect ratio when
the prompt asks for one) and keeps the aspect of the answer; ``modify`` sends the image as it is
(bounded, not padded) with the closest supported aspect ratio, and crops the answer back to the
input's aspect. Both come out at the tier's long side.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from google import genai
from google.genai import errors, types
from PIL import Image

from spikeland.db.enums import TIER_MAX_DIMENSION, EnhancementTier
from spikeland.integrations.imaging import (
    Analysis,
    CropBox,
    Cropped,
    Generated,
    ImagingError,
    ImagingFatal,
    quality_for,
)
from spikeland.integrations.imaging import processing as px
from spikeland.integrations.imaging.config import (
    DEFAULT_GENERATION,
    DEFECT_KEYS,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)
from spikeland.integrations.imaging.local import neutral_analysis
from spikeland.integrations.imaging.prompts import build_prompt
from spikeland.integrations.imaging.render import (
    closest_aspect,
    output_size,
    requested_aspect,
    require_prompt,
)
from spikeland.settings import Settings

_log = logging.getLogger(__name__)

ANALYSIS_PROMPT = """Analyze this image and provide a JSON object describing its content, technical flaws, \
and potential cropping needs.
The JSON MUST strictly adhere to this structure, with no additional text before or after:
{
    "mainSubject": "brief description of image content",
    "imageStyle": "photograph" OR "sketch" OR "painting" OR "screenshot" OR "other",
    "defects": {
      "isDark": boolean (true if severely underexposed/pitch black),
      "isBlurry": boolean (true if significant motion or focus blur),
      "hasNoise": boolean (true if grainy or high ISO noise),
      "hasVHSArtifacts": boolean (true if tracking lines, tape distortion, color bleed),
      "isLowResolution": boolean (true if pixelated),
      "isOverexposed": boolean (true if blown-out highlights),
      "hasColorCast": boolean (true if unnatural tint),
      "colorCastType": "yellow" OR "blue" OR "green" OR "red" OR "magenta" OR "cyan" (null if no cast)
    },
    "lightingCondition": "e.g., pitch black, dim indoors, sunny, harsh flash",
    "cropping": {
      "isCroppingNeeded": boolean (true if there are black bars, UI elements, or excessive empty space),
      "suggestedCrop": { "x": number, "y": number, "width": number, "height": number } \
(percentages 0.0-1.0, null if no crop),
      "cropReason": "reason for crop" (null if no crop needed)
    }
}"""
ANALYSIS_TEMPERATURE = 0.1
# The analysis only needs to see the picture, not every pixel of a large upload; generation inputs
# are bounded too, as a request carries at most 20 MB of inline data.
ANALYSIS_MAX_SIDE = 1536
INPUT_MAX_SIDE = 3072
IMAGE_STYLES = ("photograph", "sketch", "painting", "screenshot", "other")
CAST_TYPES = ("yellow", "blue", "green", "red", "magenta", "cyan")
IMAGE_SIZE = {EnhancementTier.TIER_1K: "1K", EnhancementTier.TIER_2K: "2K", EnhancementTier.TIER_4K: "4K"}
NO_IMAGE = "No image data received from Gemini API"
_RETRYABLE_STATUS = {408, 429}


def default_analysis() -> Analysis:
    """The original's fallback when the analysis fails: assume only low resolution."""
    defects = dict.fromkeys(DEFECT_KEYS, False)
    defects["isLowResolution"] = True
    return Analysis(
        source="default",
        main_subject="General image",
        image_style="photograph",
        defects=defects,
        color_cast_type=None,
        lighting_condition="unknown",
        quality=quality_for(defects),
    )


def _strip_fences(text: str) -> str:
    body = text.strip()
    if body.startswith("```json"):
        body = body[7:]
    elif body.startswith("```"):
        body = body[3:]
    if body.endswith("```"):
        body = body[:-3]
    return body.strip()


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number == number else default  # NaN


def crop_from_fractions(crop: Any, width: int, height: int) -> CropBox | None:
    """A suggested crop given as fractions, in pixels (the original's validation and rounding)."""
    if not isinstance(crop, dict):
        return None
    # Missing or unreadable numbers default as in the original (a zero size counts as missing).
    x, y = _number(crop.get("x"), 0.0), _number(crop.get("y"), 0.0)
    w, h = _number(crop.get("width"), 1.0) or 1.0, _number(crop.get("height"), 1.0) or 1.0
    if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.01 and y + h <= 1.01):
        return None
    left, top = max(0, round(x * width)), max(0, round(y * height))
    box_w = min(width - left, round(w * width))
    box_h = min(height - top, round(h * height))
    if box_w <= 0 or box_h <= 0 or (box_w, box_h) == (width, height):
        return None
    return CropBox(x=left, y=top, width=box_w, height=box_h)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_analysis(text: str, source: str, width: int, height: int) -> Analysis:
    """The model's JSON answer as an Analysis; ValueError when it is not a JSON object."""
    parsed = json.loads(_strip_fences(text))
    if not isinstance(parsed, dict):
        raise ValueError("the analysis is not a JSON object")
    raw_defects = _object(parsed.get("defects"))
    defects = {key: bool(raw_defects.get(key)) for key in DEFECT_KEYS}
    cast = raw_defects.get("colorCastType")
    style = parsed.get("imageStyle")
    cropping = _object(parsed.get("cropping"))
    crop = crop_from_fractions(cropping.get("suggestedCrop"), width, height)
    return Analysis(
        source=source,
        main_subject=str(parsed.get("mainSubject") or "Unknown subject"),
        image_style=style if style in IMAGE_STYLES else "photograph",
        defects=defects,
        color_cast_type=cast if cast in CAST_TYPES else None,
        lighting_condition=str(parsed.get("lightingCondition") or "unknown"),
        quality=quality_for(defects),
        suggested_crop=crop if cropping.get("isCroppingNeeded") else None,
    )


@dataclass(frozen=True)
class _Prepared:
    image: bytes  # JPEG
    width: int
    height: int
    blend: bytes | None = None


def _for_analysis(data: bytes) -> _Prepared:
    image = px.decode(data)
    small = _bounded(image, ANALYSIS_MAX_SIDE)
    return _Prepared(image=px.encode_jpeg(small), width=image.width, height=image.height)


def _bounded(image: Image.Image, max_side: int) -> Image.Image:
    rgb = px.to_rgb(image)
    return px.fit_long_side(rgb, max_side) if max(rgb.size) > max_side else rgb


def _for_generation(data: bytes, blend_source: bytes | None) -> _Prepared:
    image = px.decode(data)
    blend = px.encode_jpeg(_bounded(px.decode(blend_source), INPUT_MAX_SIDE)) if blend_source else None
    square = px.pad_to_square(_bounded(image, INPUT_MAX_SIDE))
    return _Prepared(px.encode_jpeg(square), image.width, image.height, blend)


def _post_process(output: bytes, width: int, height: int, tier: EnhancementTier) -> tuple[bytes, int, int]:
    try:
        square = px.decode(output)
    except ImagingFatal as exc:  # a broken answer may come out right the next time
        raise ImagingError(f"Gemini returned an unreadable image: {exc}") from exc
    return px.finish(px.crop_to_aspect(square, width, height), tier)


def _for_modify(data: bytes) -> _Prepared:
    image = px.decode(data)
    return _Prepared(px.encode_jpeg(_bounded(image, INPUT_MAX_SIDE)), image.width, image.height)


def _decode_answer(output: bytes) -> Image.Image:
    try:
        return px.decode(output)
    except ImagingFatal as exc:  # a broken answer may come out right the next time
        raise ImagingError(f"Gemini returned an unreadable image: {exc}") from exc


def _sized(image: Image.Image, tier: EnhancementTier) -> tuple[bytes, int, int]:
    """The tier's long side (enlarging too: a generation job pays for that size), JPEG quality 95."""
    sized = px.fit_long_side(px.to_rgb(image), TIER_MAX_DIMENSION[tier])
    return px.encode_jpeg(sized), sized.width, sized.height


def _post_process_render(output: bytes, tier: EnhancementTier) -> tuple[bytes, int, int]:
    return _sized(_decode_answer(output), tier)


def _post_process_modify(
    output: bytes, width: int, height: int, tier: EnhancementTier
) -> tuple[bytes, int, int]:
    return _sized(px.centre_crop_to_aspect(_decode_answer(output), width, height), tier)


def _first_image(response: types.GenerateContentResponse) -> bytes:
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "image/").startswith("image/"):
                return blob.data
    reasons = [str(c.finish_reason) for c in response.candidates or [] if c.finish_reason]
    blocked = response.prompt_feedback.block_reason if response.prompt_feedback else None
    detail = ", ".join([*reasons, *([f"blocked: {blocked}"] if blocked else [])])
    raise ImagingError(f"{NO_IMAGE} ({detail})" if detail else NO_IMAGE)


def _map_error(exc: Exception, what: str) -> ImagingError:
    if isinstance(exc, errors.APIError):
        message = f"Gemini {what} failed: {exc.code} {exc.status or ''} {exc.message or ''}".strip()
        if exc.code in _RETRYABLE_STATUS or exc.code >= 500:
            return ImagingError(message)
        # 400 (invalid key or request), 401, 403, 404 (unknown model): the same call fails again.
        return ImagingFatal(message)
    return ImagingError(f"Gemini {what} failed: {type(exc).__name__}: {exc}")


class GeminiImaging:
    name = "gemini"

    def __init__(self, settings: Settings) -> None:
        if settings.gemini_api_key is None:
            raise ValueError("GeminiImaging needs settings.gemini_api_key")
        self._settings = settings
        # Built once: making a client costs tens of milliseconds (TLS contexts), too much to spend
        # on the event loop for every call. Retries are the job runner's, so the SDK makes one try.
        self._http = httpx.AsyncClient()
        options = types.HttpOptions(
            base_url=settings.gemini_api_base,
            api_version="v1beta",
            timeout=round(settings.gemini_timeout_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=self._http,
        )
        self._client = genai.Client(
            api_key=settings.gemini_api_key.get_secret_value(), vertexai=False, http_options=options
        )

    async def aclose(self) -> None:
        """Release the HTTP connections (at application shutdown)."""
        self._client.close()
        await self._http.aclose()

    async def _generate_content(
        self, model: str, parts: list[types.Part], config: types.GenerateContentConfig, timeout: float
    ) -> types.GenerateContentResponse:
        config.http_options = types.HttpOptions(timeout=round(timeout * 1000))
        contents = types.Content(role="user", parts=parts)
        return await self._client.aio.models.generate_content(model=model, contents=contents, config=config)

    async def analyse(self, image: bytes, config: AnalysisConfig) -> Analysis:
        if not config.enabled:
            return neutral_analysis()
        prepared = await asyncio.to_thread(_for_analysis, image)
        model = config.model or self._settings.gemini_analysis_model
        temperature = config.temperature if config.temperature is not None else ANALYSIS_TEMPERATURE
        request = types.GenerateContentConfig(temperature=temperature, response_mime_type="application/json")
        parts = [types.Part.from_bytes(data=prepared.image, mime_type="image/jpeg")]
        parts.append(types.Part.from_text(text=ANALYSIS_PROMPT))
        try:
            response = await self._generate_content(
                model, parts, request, self._settings.gemini_analysis_timeout_seconds
            )
            return parse_analysis(response.text or "", model, prepared.width, prepared.height)
        except (errors.APIError, httpx.HTTPError, TimeoutError, OSError, ValueError) as exc:
            # As the original: a failed analysis is not worth failing the job over.
            _log.warning("using the default analysis: %s", _map_error(exc, "analysis"))
            return default_analysis()

    async def crop(self, image: bytes, analysis: Analysis, config: AutoCropConfig) -> Cropped | None:
        if not config.enabled:
            return None
        return await asyncio.to_thread(_crop, image, analysis, config)

    def prompt(self, analysis: Analysis, config: PromptConfig, *, blend: bool) -> str:
        return build_prompt(analysis, config, blend=blend)

    def _model(self, tier: EnhancementTier, config: GenerationConfig) -> tuple[str, str | None]:
        if config.model:
            model = config.model
        elif tier is EnhancementTier.FREE:
            model = self._settings.gemini_free_model
        else:
            model = self._settings.gemini_image_model
        # The free (flash) model always answers 1024 px and refuses an image size.
        size = IMAGE_SIZE.get(tier) if model != self._settings.gemini_free_model else None
        return model, size

    async def generate(
        self,
        image: bytes,
        prompt: str,
        tier: EnhancementTier,
        config: GenerationConfig,
        analysis: Analysis,
        blend_source: bytes | None = None,
    ) -> Generated:
        prepared = await asyncio.to_thread(_for_generation, image, blend_source)
        model, size = self._model(tier, config)
        side = TIER_MAX_DIMENSION[tier]
        parts = [types.Part.from_bytes(data=prepared.image, mime_type="image/jpeg")]
        if prepared.blend is not None:
            parts.append(types.Part.from_bytes(data=prepared.blend, mime_type="image/jpeg"))
        parts.append(types.Part.from_text(text=f"{prompt}\n\nGenerate at {side}x{side} resolution."))
        request = types.GenerateContentConfig(
            response_modalities=["IMAGE", "TEXT"],
            temperature=config.temperature,
            image_config=types.ImageConfig(image_size=size) if size else None,
        )
        try:
            response = await self._generate_content(
                model, parts, request, self._settings.gemini_timeout_seconds
            )
        except (errors.APIError, httpx.HTTPError, TimeoutError, OSError) as exc:
            raise _map_error(exc, "generation") from exc
        output = _first_image(response)
        data, width, height = await asyncio.to_thread(
            _post_process, output, prepared.width, prepared.height, tier
        )
        return Generated(image=data, width=width, height=height, model=model, temperature=config.temperature)

    async def _ask_for_image(
        self,
        tier: EnhancementTier,
        parts: list[types.Part],
        temperature: float | None,
        aspect: str | None,
    ) -> tuple[str, bytes]:
        """One image request: the model and the first image of its answer."""
        model, size = self._model(tier, DEFAULT_GENERATION)
        image_config = types.ImageConfig(image_size=size, aspect_ratio=aspect) if size or aspect else None
        request = types.GenerateContentConfig(
            response_modalities=["IMAGE", "TEXT"], temperature=temperature, image_config=image_config
        )
        try:
            response = await self._generate_content(
                model, parts, request, self._settings.gemini_timeout_seconds
            )
        except (errors.APIError, httpx.HTTPError, TimeoutError, OSError) as exc:
            raise _map_error(exc, "generation") from exc
        return model, _first_image(response)

    async def render(
        self, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        text = require_prompt(prompt)
        aspect = requested_aspect(text)
        width, height = output_size(tier, aspect)
        parts = [types.Part.from_text(text=f"{text}\n\nGenerate at {width}x{height} resolution.")]
        model, output = await self._ask_for_image(tier, parts, temperature, aspect)
        data, width, height = await asyncio.to_thread(_post_process_render, output, tier)
        return Generated(image=data, width=width, height=height, model=model, temperature=temperature)

    async def modify(
        self, image: bytes, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        text = require_prompt(prompt)
        prepared = await asyncio.to_thread(_for_modify, image)
        parts = [
            types.Part.from_bytes(data=prepared.image, mime_type="image/jpeg"),
            types.Part.from_text(text=text),
        ]
        aspect = closest_aspect(prepared.width, prepared.height)
        model, output = await self._ask_for_image(tier, parts, temperature, aspect)
        data, width, height = await asyncio.to_thread(
            _post_process_modify, output, prepared.width, prepared.height, tier
        )
        return Generated(image=data, width=width, height=height, model=model, temperature=temperature)


def _crop(image: bytes, analysis: Analysis, config: AutoCropConfig) -> Cropped | None:
    """Uniform borders first (measured); else the model's suggestion when it removes enough."""
    decoded = px.decode(image)
    box = px.find_content_box(decoded, config)
    suggested = analysis.suggested_crop
    if box is None and suggested is not None and _worth_it(suggested, decoded.size, config.min_crop_ratio):
        box = suggested
    if box is None:
        return None
    return Cropped(image=px.encode_like(px.apply_crop(decoded, box), decoded.format), box=box)


def _worth_it(box: CropBox, size: tuple[int, int], min_ratio: float) -> bool:
    width, height = size
    if box.x + box.width > width or box.y + box.height > height:
        return False  # suggested for another image than this one
    if min(box.width, box.height) < px.MIN_KEPT_PIXELS:
        return False
    removed = max(box.x, width - box.x - box.width) / width, max(box.y, height - box.y - box.height) / height
    return max(removed) >= min_ratio and max(removed) > 0
