"""The chat planner backed by Gemini (``planner.make_chat_planner`` makes it when
``SPIKELAND_GEMINI_API_KEY`` is set): the conversation in, JSON tasks out, read by ``parse_plan``."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from google import genai
from google.genai import types

from spikeland.integrations.boxes.planner import Planned, PlannerError, parse_plan
from spikeland.settings import Settings

HISTORY = 20  # messages of the conversation the model sees
INSTRUCTIONS = """You control a web browser for the user. Plan browser tasks for their latest message.
Answer with JSON only: {"tasks": [{"type": ..., "payload": {...}}], "reply": string or null}.
Task types and payloads: navigate {"url": "https://..."}; click {"selector": CSS} or {"text": visible text};
type {"selector": CSS, "text": ...}; extract {"selector": CSS or "body", "about": topic or omitted};
screenshot {}. Tasks run in order; their results are shown to the user afterwards.
With no task to run (a greeting, a question you can answer), give "tasks": [] and a "reply"."""


class GeminiPlanner:
    def __init__(self, settings: Settings) -> None:
        if settings.gemini_api_key is None:
            raise ValueError("GeminiPlanner needs settings.gemini_api_key")
        self.model = settings.gemini_chat_model
        options = types.HttpOptions(
            base_url=settings.gemini_api_base,
            api_version="v1beta",
            timeout=round(settings.gemini_analysis_timeout_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            # httpx rather than the SDK's aiohttp session: nothing of it needs closing when the app
            # (which keeps the planner for its lifetime) goes.
            httpx_async_client=httpx.AsyncClient(),
        )
        self._client = genai.Client(
            api_key=settings.gemini_api_key.get_secret_value(), vertexai=False, http_options=options
        )

    async def plan(self, history: Sequence[tuple[str, str]], message: str) -> Planned:
        contents = [
            types.Content(
                role="model" if role == "AGENT" else "user", parts=[types.Part(text=f"[{role}] {text}")]
            )
            for role, text in list(history)[-HISTORY:]
        ]
        contents.append(types.Content(role="user", parts=[types.Part(text=message)]))
        config = types.GenerateContentConfig(
            system_instruction=INSTRUCTIONS, response_mime_type="application/json", temperature=0.0
        )
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:  # the SDK's API and transport errors alike: the local planner takes over
            raise PlannerError(f"Gemini failed: {type(exc).__name__}: {exc}") from exc
        return parse_plan(response.text or "")
