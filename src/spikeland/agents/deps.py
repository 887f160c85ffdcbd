"""The configured coding-agent providers, as a dependency (the admin API and the console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spikeland.identity.deps import settings_of
from spikeland.integrations.agents import CodingAgent, make_coding_agents


async def coding_agents_of(request: Request) -> dict[str, CodingAgent]:
    """The configured providers, made once per app."""
    agents: dict[str, CodingAgent] | None = getattr(request.app.state, "coding_agents", None)
    if agents is None:
        agents = request.app.state.coding_agents = make_coding_agents(settings_of(request))
    return agents


CodingAgents = Annotated[dict[str, CodingAgent], Depends(coding_agents_of)]
