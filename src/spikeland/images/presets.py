"""The system enhancement pipelines (the presets every user sees): images' own reference data, here
so that images reads them without importing ``spikeland.seed`` (above every domain), which seeds them."""

from __future__ import annotations

from typing import Any, NamedTuple

from spikeland.db.enums import EnhancementTier


# fmt: off
class Pipeline(NamedTuple):
    name: str
    description: str
    tier: EnhancementTier
    analysis_config: dict[str, Any]
    auto_crop_config: dict[str, Any]
    prompt_config: dict[str, Any]
    generation_config: dict[str, Any]


# Pipeline configs use the keys of the pipeline API (ref §2.6), so they validate like a user's:
#   analysisConfig   {enabled, model, temperature}          - vision analysis stage
#   autoCropConfig   {enabled, minCropRatio 0..1, allowBlackBarRemoval, allowUIElementCrop}
#   promptConfig     {customInstructions?, skipCorrections?, defectOverrides?, referenceImages?}
#   generationConfig {model, temperature?, retryAttempts 0..10}
# Defaults as the original's SYSTEM_DEFAULT_PIPELINE and stages (ref §2.3, §2.6): analysis with
# gemini-3-pro-image-preview at temperature 0.1; crop when at least 5% is cut; 3 retries; no
# generation temperature (the original sends none).
ANALYSIS = {"enabled": True, "model": "gemini-3-pro-image-preview", "temperature": 0.1}
AUTO_CROP = {"enabled": True, "minCropRatio": 0.05, "allowBlackBarRemoval": True, "allowUIElementCrop": True}
GENERATION = {"model": "gemini-3-pro-image-preview", "retryAttempts": 3}

SYSTEM_PIPELINES = (
    Pipeline(
        "Balanced", "General-purpose enhancement: fixes the detected defects at 2K.",
        EnhancementTier.TIER_2K, ANALYSIS, AUTO_CROP, {}, GENERATION,
    ),
    Pipeline(
        "Portrait", "People and faces: keeps identity and natural skin, crops only clear excess.",
        EnhancementTier.TIER_2K, ANALYSIS, {**AUTO_CROP, "minCropRatio": 0.1, "allowUIElementCrop": False},
        {"customInstructions": "Keep the person's identity, expression and natural skin texture. "
         "Do not smooth skin or change facial features, hair or eye colour."},
        GENERATION,
    ),
    Pipeline(
        "Landscape", "Scenery at 4K: level horizon, natural colour, recovered shadows and highlights.",
        EnhancementTier.TIER_4K, ANALYSIS, AUTO_CROP,
        {"customInstructions": "Keep the horizon level and the colours natural. Recover shadow and "
         "highlight detail without an HDR look. Do not add or remove objects."},
        GENERATION,
    ),
    Pipeline(
        "Product", "Product shots: true colours and sharp labels; the framing is kept as shot.",
        EnhancementTier.TIER_2K, ANALYSIS, {**AUTO_CROP, "enabled": False},
        {"customInstructions": "Keep the product's shape, colours, labels and text exactly as they are. "
         "Neutralise colour casts so colours are true to life and keep the background clean."},
        GENERATION,
    ),
)
# fmt: on
