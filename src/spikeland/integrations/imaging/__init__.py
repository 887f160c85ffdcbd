"""Image analysis, cropping, prompting and generation (enhancement, and text-to-image and
image-to-image for generation jobs): one interface, a local implementation that does real image
work with Pillow (default) and Gemini (when an API key is configured).

Every method takes and returns encoded image bytes; CPU-heavy work runs in a worker thread so
the event loop stays free. ``ImagingError`` is a failure worth retrying (the job runner retries
with backoff); ``ImagingFatal`` is one that would fail again (a refused key, an unreadable file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from spikeland.db.enums import EnhancementTier
from spikeland.integrations.imaging.config import (
    DEFECT_KEYS,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)

if TYPE_CHECKING:
    from spikeland.settings import Settings


class ImagingError(Exception):
    """The step failed this time (timeout, overloaded model, ...): try again later."""


class ImagingFatal(ImagingError):
    """The step cannot succeed with this input or configuration: do not retry."""


@dataclass(frozen=True)
class CropBox:
    x: int
    y: int
    width: int
    height: int

    def as_json(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Analysis:
    """What the analysis found; ``as_json()`` is stored in ``image_enhancement_jobs.analysisResult``."""

    source: str  # analysisSource: "local-pillow" or the Gemini model name
    main_subject: str
    image_style: str  # photograph | sketch | painting | screenshot | other
    defects: dict[str, bool]  # every key of config.DEFECT_KEYS
    color_cast_type: str | None  # yellow | blue | green | red | magenta | cyan
    lighting_condition: str
    quality: str  # low (>= 3 defects) | medium (>= 1) | high
    metrics: dict[str, float] = field(default_factory=dict)  # measured values (local analysis)
    suggested_crop: CropBox | None = None  # pixels of the analysed image

    def as_json(self) -> dict[str, Any]:
        return {
            "mainSubject": self.main_subject,
            "imageStyle": self.image_style,
            "defects": {key: bool(self.defects.get(key, False)) for key in DEFECT_KEYS},
            "colorCastType": self.color_cast_type,
            "lightingCondition": self.lighting_condition,
            "quality": self.quality,
            "metrics": dict(self.metrics),
            "suggestedCrop": self.suggested_crop.as_json() if self.suggested_crop else None,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        """The analysis back from ``as_json()`` (a job resumed after its analysis was stored)."""
        crop = data.get("suggestedCrop")
        defects = data.get("defects") or {}
        return cls(
            source=str(data.get("source", "")),
            main_subject=str(data.get("mainSubject", "")),
            image_style=str(data.get("imageStyle", "photograph")),
            defects={key: bool(defects.get(key, False)) for key in DEFECT_KEYS},
            color_cast_type=data.get("colorCastType"),
            lighting_condition=str(data.get("lightingCondition", "unknown")),
            quality=str(data.get("quality", quality_for(defects))),
            metrics={str(k): float(v) for k, v in (data.get("metrics") or {}).items()},
            suggested_crop=CropBox(**{k: int(crop[k]) for k in ("x", "y", "width", "height")})
            if crop
            else None,
        )


def quality_for(defects: dict[str, bool]) -> str:
    """low with three or more defects, medium with one or two, high with none (as the original)."""
    count = sum(1 for key in DEFECT_KEYS if defects.get(key))
    return "low" if count >= 3 else "medium" if count >= 1 else "high"


@dataclass(frozen=True)
class Cropped:
    image: bytes
    box: CropBox  # what was kept, in pixels of the input


@dataclass(frozen=True)
class Generated:
    image: bytes  # JPEG
    width: int
    height: int
    model: str  # geminiModel
    temperature: float | None  # geminiTemp


class Imaging(Protocol):
    name: str  # "local" or "gemini"

    async def analyse(self, image: bytes, config: AnalysisConfig) -> Analysis: ...

    async def crop(self, image: bytes, analysis: Analysis, config: AutoCropConfig) -> Cropped | None:
        """The image without its uniform borders, or None when nothing is worth removing."""
        ...

    def prompt(self, analysis: Analysis, config: PromptConfig, *, blend: bool) -> str: ...

    async def generate(
        self,
        image: bytes,
        prompt: str,
        tier: EnhancementTier,
        config: GenerationConfig,
        analysis: Analysis,
        blend_source: bytes | None = None,
    ) -> Generated:
        """The enhanced image, long side = the tier's size (FREE: at most 1024), JPEG quality 95."""
        ...

    async def render(
        self, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        """A new picture from a text prompt (MCP GENERATE): JPEG quality 95, long side = the tier's
        size; square unless the prompt asks for an aspect ratio ("16:9", "portrait", ...).
        ImagingFatal for a blank prompt."""
        ...

    async def modify(
        self, image: bytes, prompt: str, tier: EnhancementTier, *, temperature: float | None = None
    ) -> Generated:
        """The image changed as the prompt says (MCP MODIFY): JPEG quality 95, long side = the
        tier's size, the input's aspect ratio. ImagingFatal for an undecodable image or a blank prompt."""
        ...


def make_imaging(settings: Settings) -> Imaging:
    """Gemini when an API key is configured, otherwise the local Pillow implementation."""
    if settings.gemini_api_key is not None:
        from spikeland.integrations.imaging.gemini import GeminiImaging

        return GeminiImaging(settings)
    from spikeland.integrations.imaging.budget import decode_budget
    from spikeland.integrations.imaging.local import LocalImaging

    return LocalImaging(decode_budget(settings.decode_memory_mb))
