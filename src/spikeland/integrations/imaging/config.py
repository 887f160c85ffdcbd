"""The four configs of an enhancement pipeline (``enhancement_pipelines.*Config`` JSON columns).

Strict: an unknown key or an out-of-range value is refused (422 at the API). A missing config
means the system default (``DEFAULT_*``), as the original platform's SYSTEM_DEFAULT_PIPELINE.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import ConfigDict, Field

from spikeland.core.schemas import Schema

DefectKey = Literal[
    "isDark", "isBlurry", "hasNoise", "hasVHSArtifacts", "isLowResolution", "isOverexposed", "hasColorCast"
]
DEFECT_KEYS: tuple[str, ...] = get_args(DefectKey)


class _Config(Schema):
    model_config = ConfigDict(extra="forbid")


class AnalysisConfig(_Config):
    """Measure the image and name its defects. Disabled: no defects are assumed."""

    enabled: bool = True
    model: str | None = Field(default=None, max_length=100, description="Vision model (Gemini only).")
    temperature: float | None = Field(default=None, ge=0, le=2)


class AutoCropConfig(_Config):
    """Remove uniform borders (black bars, flat margins) before enhancing."""

    enabled: bool = True
    min_crop_ratio: float = Field(
        default=0.05, ge=0, le=1, description="Crop only when it removes at least this share of a side."
    )
    allow_black_bar_removal: bool = True
    allow_ui_element_crop: bool = Field(
        default=True, alias="allowUIElementCrop", description="Flat non-black margins (screenshots)."
    )


class ReferenceImage(_Config):
    url: str = Field(max_length=2000)
    r2_key: str | None = Field(default=None, max_length=500, alias="r2Key")
    description: str | None = Field(default=None, max_length=500)


class PromptConfig(_Config):
    """How the enhancement prompt is built from the analysis."""

    defect_overrides: dict[DefectKey, bool] | None = Field(
        default=None, description="Force a defect on (true) or off (false) whatever the analysis found."
    )
    custom_instructions: str | None = Field(default=None, max_length=2000)
    skip_corrections: list[DefectKey] = Field(default_factory=list, max_length=7)
    reference_images: list[ReferenceImage] = Field(default_factory=list, max_length=3)


class GenerationConfig(_Config):
    model: str | None = Field(default=None, max_length=100)
    temperature: float | None = Field(default=None, ge=0, le=2)
    retry_attempts: int = Field(default=3, ge=0, le=10, description="Tries after the first failure.")


DEFAULT_ANALYSIS = AnalysisConfig()
DEFAULT_AUTO_CROP = AutoCropConfig()
DEFAULT_PROMPT = PromptConfig()
DEFAULT_GENERATION = GenerationConfig()
