"""The enhancement prompt, built from an analysis and a pipeline's prompt config.

The texts are the original platform's (its ``buildDynamicEnhancementPrompt`` and
``buildBlendEnhancementPrompt``), so a Gemini generation is asked the same thing as before. Two
deliberate differences: ``defectOverrides``, ``skipCorrections``, custom instructions and reference
images also shape the blend prompt, and skipping one of noise/low resolution drops only its own
reason for the denoise line (the original dropped the line when either was skipped).
Deterministic: the same inputs always give the same text.
"""

from __future__ import annotations

from spikeland.integrations.imaging import Analysis
from spikeland.integrations.imaging.config import PromptConfig

_BASE = (
    "You are a professional image restoration AI. Transform this input image into a stunning, "
    "high-resolution, professional photograph taken with a modern camera in ideal lighting conditions. "
    "Maintain the original subject and composition perfectly.\n\nSpecific Correction Instructions:\n"
)
_STYLE = {
    "sketch": "- Convert this sketch into a photorealistic image while preserving the composition and "
    "subject. Add realistic textures, lighting, and colors.\n",
    "painting": "- Convert this painting into a photorealistic photograph while maintaining the "
    "composition. Replace painted textures with realistic details and natural lighting.\n",
    "screenshot": "- Clean up this screenshot and enhance it to photographic quality. Remove any UI "
    "elements or compression artifacts.\n",
}
_RELIGHT = (
    "- Dramatically relight the scene. Reveal details hidden in shadows as if illuminated by strong, "
    "natural light (e.g., bright moonlight or professional studio lighting) while maintaining a "
    "realistic atmosphere.\n"
)
_HIGHLIGHTS = (
    "- Recover details in blown-out highlight areas. Restore natural texture and color to bright spots.\n"
)
_VHS = (
    "- Completely remove all analog video artifacts, including tracking lines, color bleeding, static "
    "noise, and tape distortion.\n"
)
_DENOISE = (
    "- Apply advanced noise reduction to eliminate grain. Sharpen fine details and textures that are "
    "currently pixelated or blurry.\n"
)
_SHARPEN = "- Bring the entire image into sharp, crisp focus.\n"
_FINAL = "\nFinal Output Requirement: A clean, sharp, highly detailed professional photograph."

_BLEND_BASE = """You are a professional image artist specializing in creative image blending.
You have been given TWO images:
1. The TARGET image (the main image to enhance)
2. The SOURCE image (a reference image to blend elements from)

Your task is to creatively merge visual elements, styles, or subjects from the SOURCE image into the \
TARGET image while maintaining a cohesive, professional result.

Guidelines:
- Preserve the core composition and subject of the TARGET image
- Incorporate artistic elements, color palette, or stylistic qualities from the SOURCE image
- The result should look like a natural, professional photograph
- Blend seamlessly without obvious artificial transitions
"""
_BLEND_FINAL = (
    "\nFinal Output: A stunning, high-quality photograph that artistically blends both images into a "
    "cohesive masterpiece."
)


def effective_defects(analysis: Analysis, config: PromptConfig) -> dict[str, bool]:
    """The analysis' defects with the config's overrides applied and its skipped corrections off."""
    defects = dict(analysis.defects)
    for key, value in (config.defect_overrides or {}).items():
        defects[key] = value
    for key in config.skip_corrections:
        defects[key] = False
    return defects


def _is_dark(analysis: Analysis, config: PromptConfig, defects: dict[str, bool]) -> bool:
    # The original also relit a "pitch black" scene the model did not call dark; an explicit
    # override or skip of isDark wins over that.
    overridden = "isDark" in (config.defect_overrides or {}) or "isDark" in config.skip_corrections
    pitch_black = "pitch black" in analysis.lighting_condition.lower()
    return defects.get("isDark", False) or (pitch_black and not overridden)


def _cast_line(analysis: Analysis, template: str, generic: str) -> str:
    if analysis.color_cast_type:
        return template.format(cast=analysis.color_cast_type)
    return generic


def _extras(config: PromptConfig) -> str:
    text = ""
    if config.custom_instructions and config.custom_instructions.strip():
        text += f"\nAdditional Instructions:\n{config.custom_instructions.strip()}\n"
    if config.reference_images:
        plural = "s" if len(config.reference_images) > 1 else ""
        text += "\nStyle Reference:\n"
        text += (
            "- Match the visual style, color grading, and overall aesthetic of the provided "
            f"reference image{plural}.\n"
        )
        notes = [ref.description for ref in config.reference_images if ref.description]
        if notes:
            text += f"- Reference image notes: {'; '.join(notes)}\n"
    return text


def _enhancement(analysis: Analysis, config: PromptConfig) -> str:
    defects = effective_defects(analysis, config)
    text = _BASE + _STYLE.get(analysis.image_style, "")
    if _is_dark(analysis, config, defects):
        text += _RELIGHT
    elif defects.get("isOverexposed"):
        text += _HIGHLIGHTS
    if defects.get("hasVHSArtifacts"):
        text += _VHS
    if defects.get("hasNoise") or defects.get("isLowResolution"):
        text += _DENOISE
    if defects.get("hasColorCast"):
        text += _cast_line(
            analysis,
            "- Neutralize the strong {cast} color cast to restore natural, accurate colors.\n",
            "- Neutralize the color cast to restore natural, accurate colors.\n",
        )
    if defects.get("isBlurry"):
        text += _SHARPEN
    return text + _extras(config) + _FINAL


def _blend(analysis: Analysis, config: PromptConfig) -> str:
    defects = effective_defects(analysis, config)
    text = _BLEND_BASE
    if _is_dark(analysis, config, defects):
        text += "- The target image is dark - ensure proper lighting in the blended result\n"
    if defects.get("hasNoise"):
        text += "- Remove any noise or grain from the final result\n"
    if defects.get("isBlurry"):
        text += "- Ensure the final result is sharp and in focus\n"
    if defects.get("isOverexposed"):
        text += "- Balance exposure in the final result\n"
    if defects.get("hasColorCast"):
        text += _cast_line(
            analysis,
            "- Correct the {cast} color cast in the final result\n",
            "- Correct the color cast in the final result\n",
        )
    return text + _extras(config) + _BLEND_FINAL


def build_prompt(analysis: Analysis, config: PromptConfig, *, blend: bool) -> str:
    """The prompt for the generation step: the blend variant when a second image is blended in."""
    return _blend(analysis, config) if blend else _enhancement(analysis, config)
