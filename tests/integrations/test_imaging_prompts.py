"""The enhancement prompt built from an analysis and a pipeline's prompt config."""

from __future__ import annotations

from spikeland.integrations.imaging import Analysis
from spikeland.integrations.imaging.config import DEFECT_KEYS, PromptConfig, ReferenceImage
from spikeland.integrations.imaging.local import LocalImaging
from spikeland.integrations.imaging.prompts import build_prompt

BASE = "You are a professional image restoration AI."
FINAL = "Final Output Requirement: A clean, sharp, highly detailed professional photograph."
RELIGHT = "Dramatically relight the scene."
HIGHLIGHTS = "Recover details in blown-out highlight areas."
VHS = "remove all analog video artifacts"
DENOISE = "Apply advanced noise reduction to eliminate grain."
SHARPEN = "Bring the entire image into sharp, crisp focus."
PLAIN = PromptConfig()


def analysis(
    *defects: str, style: str = "photograph", cast: str | None = None, lighting: str = "balanced"
) -> Analysis:
    return Analysis(
        source="test",
        main_subject="a harbour",
        image_style=style,
        defects={key: key in defects for key in DEFECT_KEYS},
        color_cast_type=cast,
        lighting_condition=lighting,
        quality="medium",
    )


def correction_lines(prompt: str) -> list[str]:
    return [line for line in prompt.splitlines() if line.startswith("- ")]


def test_no_defect_gives_the_base_and_the_final_requirement_only() -> None:
    prompt = build_prompt(analysis(), PLAIN, blend=False)
    assert prompt.startswith(BASE) and prompt.endswith(FINAL)
    assert correction_lines(prompt) == []
    assert prompt == build_prompt(analysis(), PLAIN, blend=False)  # deterministic


def test_one_line_per_detected_defect() -> None:
    prompt = build_prompt(
        analysis("isDark", "hasVHSArtifacts", "hasNoise", "hasColorCast", "isBlurry", cast="yellow"),
        PLAIN,
        blend=False,
    )
    lines = correction_lines(prompt)
    assert len(lines) == 5
    assert RELIGHT in lines[0] and VHS in lines[1] and DENOISE in lines[2]
    assert lines[3] == "- Neutralize the strong yellow color cast to restore natural, accurate colors."
    assert lines[4] == f"- {SHARPEN}"


def test_dark_wins_over_overexposed_and_pitch_black_relights() -> None:
    assert HIGHLIGHTS in build_prompt(analysis("isOverexposed"), PLAIN, blend=False)
    both = build_prompt(analysis("isDark", "isOverexposed"), PLAIN, blend=False)
    assert RELIGHT in both and HIGHLIGHTS not in both
    assert RELIGHT in build_prompt(analysis(lighting="Pitch black night"), PLAIN, blend=False)


def test_low_resolution_alone_asks_for_denoise_and_sharpen() -> None:
    assert DENOISE in build_prompt(analysis("isLowResolution"), PLAIN, blend=False)


def test_style_conversions() -> None:
    assert "Convert this sketch into a photorealistic image" in build_prompt(
        analysis(style="sketch"), PLAIN, blend=False
    )
    assert "Convert this painting into a photorealistic photograph" in build_prompt(
        analysis(style="painting"), PLAIN, blend=False
    )
    assert "Clean up this screenshot" in build_prompt(analysis(style="screenshot"), PLAIN, blend=False)
    assert correction_lines(build_prompt(analysis(style="other"), PLAIN, blend=False)) == []


def test_overrides_force_defects_on_and_off() -> None:
    config = PromptConfig(defect_overrides={"isBlurry": True, "isDark": False})
    prompt = build_prompt(analysis("isDark", lighting="pitch black"), config, blend=False)
    assert SHARPEN in prompt and RELIGHT not in prompt

    forced_cast = build_prompt(analysis(), PromptConfig(defect_overrides={"hasColorCast": True}), blend=False)
    assert "- Neutralize the color cast to restore natural, accurate colors." in forced_cast


def test_skipped_corrections_drop_their_lines() -> None:
    found = analysis("isDark", "hasNoise", "isBlurry", "isLowResolution", "hasColorCast", cast="blue")
    prompt = build_prompt(
        found, PromptConfig(skip_corrections=["isDark", "isBlurry", "hasColorCast"]), blend=False
    )
    assert RELIGHT not in prompt and SHARPEN not in prompt and "blue color cast" not in prompt
    assert DENOISE in prompt

    # Skipping noise keeps the line while low resolution still asks for it; skipping both drops it.
    assert DENOISE in build_prompt(found, PromptConfig(skip_corrections=["hasNoise"]), blend=False)
    both = PromptConfig(skip_corrections=["hasNoise", "isLowResolution"])
    assert DENOISE not in build_prompt(found, both, blend=False)


def test_custom_instructions_and_reference_images_are_appended() -> None:
    config = PromptConfig(
        custom_instructions="  Keep the red boat.  ",
        reference_images=[
            ReferenceImage(url="https://cdn.example/a.jpg", description="warm evening light"),
            ReferenceImage(url="https://cdn.example/b.jpg"),
            ReferenceImage(url="https://cdn.example/c.jpg", description="film grain"),
        ],
    )
    prompt = build_prompt(analysis("isBlurry"), config, blend=False)

    assert "\nAdditional Instructions:\nKeep the red boat.\n" in prompt
    assert "aesthetic of the provided reference images." in prompt
    assert "- Reference image notes: warm evening light; film grain\n" in prompt
    assert prompt.index(SHARPEN) < prompt.index("Additional Instructions") < prompt.index(FINAL)

    single = PromptConfig(reference_images=[ReferenceImage(url="https://cdn.example/a.jpg")])
    single_prompt = build_prompt(analysis(), single, blend=False)
    assert "provided reference image." in single_prompt and "Reference image notes" not in single_prompt


def test_the_blend_variant() -> None:
    config = PromptConfig(custom_instructions="Use the sky of the source.", skip_corrections=["hasNoise"])
    prompt = build_prompt(analysis("isDark", "hasNoise", "hasColorCast", cast="green"), config, blend=True)

    assert prompt.startswith("You are a professional image artist specializing in creative image blending.")
    assert "1. The TARGET image" in prompt and "2. The SOURCE image" in prompt
    assert "- The target image is dark - ensure proper lighting in the blended result" in prompt
    assert "- Correct the green color cast in the final result" in prompt
    assert "noise or grain" not in prompt
    assert "Additional Instructions:\nUse the sky of the source." in prompt
    assert prompt.endswith("artistically blends both images into a cohesive masterpiece.")
    assert BASE not in prompt


def test_the_adapter_uses_the_same_builder() -> None:
    found = analysis("isBlurry")
    assert LocalImaging().prompt(found, PLAIN, blend=False) == build_prompt(found, PLAIN, blend=False)
