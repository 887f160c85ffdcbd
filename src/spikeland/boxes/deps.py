"""What the boxes routes need from the app: the chat planner (Gemini when configured)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spikeland.integrations.boxes.planner import ChatPlanner, make_chat_planner


async def _planner(request: Request) -> ChatPlanner | None:
    # Made on first use, once per app: a model client costs tens of milliseconds to make.
    state = request.app.state
    if not hasattr(state, "box_chat_planner"):
        state.box_chat_planner = make_chat_planner(state.settings)
    planner: ChatPlanner | None = state.box_chat_planner
    return planner


PlannerDep = Annotated[ChatPlanner | None, Depends(_planner)]
