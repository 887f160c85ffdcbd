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

from spikeland.integrations.boxes.browser import check_payload
from spikeland.settings import Settings

Step = tuple[str, dict[str, Any]]


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


def make_chat_planner(settings: Settings) -> ChatPlanner | None:
    if settings.gemini_api_key is None:
        return None
    # Imported here: the Gemini SDK takes ~0.4 s to import, which no process should pay unless it
    # plans with it (as ``integrations.imaging`` does for its Gemini adapter).
    from spikeland.integrations.boxes.gemini_planner import GeminiPlanner

    return GeminiPlanner(settings)
