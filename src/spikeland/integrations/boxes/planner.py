"""Chat planners backed by an LLM: a box's conversation in, the agent tasks to run out.

``make_chat_planner`` gives the Gemini planner when ``SPIKELAND_GEMINI_API_KEY`` is set, else None
(the boxes domain's local planner, which needs no model). The model is asked for JSON: the tasks
(the kinds of ``browser.TASK_KINDS``, each payload checked like a client's) and an optional reply to
say at once. A model that fails, or answers something that is not such a plan, is a
``PlannerError``: the caller falls back to the local planner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from google import genai
from google.genai import types

from spikeland.integrations.boxes.browser import check_payload
from spikeland.settings import Settings

HISTORY = 20  # messages of the conversation the model sees
Step = tuple[str, dict[str, Any]]

INSTRUCTIONS = """You control a web browser for the user. Plan browser tasks for their latest message.
Answer with JSON only: {"tasks": [{"type": ..., "payload": {...}}], "reply": string or null}.
Task types and payloads: navigate {"url": "https://..."}; click {"selector": CSS} or {"text": visible text};
type {"selector": CSS, "text": ...}; extract {"selector": CSS or "body", "about": topic or omitted};
screenshot {}. Tasks run in order; their results are shown to the user afterwards.
With no task to run (a greeting, a question you can answer), give "tasks": [] and a "reply"."""


class PlannerError(Exception):
    """The model gave no usable plan."""


@dataclass(frozen=True)
class Planned:
    steps: list[Step]
    reply: str | None


class ChatPlanner(Protocol):
    async def plan(self, history: Sequence[tuple[str, str]], message: str) -> Planned:
        """``history``: (role, content) oldest first, before ``message``."""
        ...


def parse_plan(text: str) -> Planned:
    try:
        document = json.loads(text.strip().removeprefix("```json").removesuffix("```"))
    except ValueError as exc:
        raise PlannerError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tasks", []), list):
        raise PlannerError("no task list")
    steps: list[Step] = []
    for task in document.get("tasks", []):
        kind = task.get("type") if isinstance(task, dict) else None
        payload = task.get("payload") or {} if isinstance(task, dict) else None
        if not isinstance(kind, str) or not isinstance(payload, dict):
            raise PlannerError("a task without a type or payload")
        problem = check_payload(kind, payload)
        if problem is not None:
            raise PlannerError(problem)
        steps.append((kind, payload))
    reply = document.get("reply")
    if not steps and not (isinstance(reply, str) and reply.strip()):
        raise PlannerError("neither tasks nor a reply")
    return Planned(steps, reply.strip()[:4000] if isinstance(reply, str) and reply.strip() else None)


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


def make_chat_planner(settings: Settings) -> ChatPlanner | None:
    return GeminiPlanner(settings) if settings.gemini_api_key is not None else None
