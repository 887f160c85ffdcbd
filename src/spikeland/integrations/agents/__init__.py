"""External coding agents: start a coding session on a repository, approve its plan, talk to it, and
read back its state and activity stream.

One small interface (:class:`CodingAgent`); Jules (``jules.py``, its REST API) is the one
implementation. Codex and OTHER have the interface and no client yet: :func:`make_coding_agents`
leaves them out, and the agents domain answers 501 for them. A provider whose settings are missing
is left out too; :func:`missing_settings` names what to set (the domain answers 503 with them).

This layer knows nothing of our tables: states and activity types are the provider's own words,
mapped by the agents domain. Any failure to talk to the provider, or an answer that cannot be read,
is :class:`AgentProviderError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spikeland.settings import Settings

JULES = "JULES"
CODEX = "CODEX"
OTHER = "OTHER"
SUPPORTED = frozenset({JULES})  # the providers a client exists for


class AgentProviderError(Exception):
    """The provider could not be reached, refused the call, or answered something unreadable."""


@dataclass(frozen=True)
class AgentSession:
    external_id: str  # the provider's resource name, e.g. "sessions/123"
    state: str | None  # the provider's state, e.g. "AWAITING_PLAN_APPROVAL"
    url: str | None = None  # where a person can watch the session
    pull_request_url: str | None = None
    output_branch: str | None = None


@dataclass(frozen=True)
class AgentActivity:
    external_id: str  # unique within its session
    type: str  # snake_case, e.g. "plan_generated", "agent_messaged"
    content: str | None
    created_at: datetime | None
    plan_summary: str | None = None  # set on a generated plan
    failure: str | None = None  # set when the session failed
    metadata: dict[str, Any] = field(default_factory=dict)


class CodingAgent:
    """What the agents domain needs of a provider; a subclass speaks its API."""

    provider: str

    async def create_session(
        self, *, title: str, task: str, source_repo: str, starting_branch: str
    ) -> AgentSession:
        """A new session on ``source_repo`` ("owner/name") whose plan waits for approval."""
        raise NotImplementedError

    async def approve_plan(self, external_id: str) -> None:
        raise NotImplementedError

    async def send_message(self, external_id: str, message: str) -> None:
        raise NotImplementedError

    async def get_session(self, external_id: str) -> AgentSession:
        raise NotImplementedError

    async def list_activities(self, external_id: str) -> list[AgentActivity]:
        """Every activity of the session, oldest first."""
        raise NotImplementedError


def missing_settings(settings: Settings, provider: str) -> list[str]:
    """The environment variables still to set before ``provider`` can be used."""
    if provider == JULES:
        return [] if settings.jules_api_key else ["SPIKELAND_JULES_API_KEY"]
    return []


def make_coding_agents(settings: Settings) -> dict[str, CodingAgent]:
    """The configured providers, by AgentProvider value."""
    from spikeland.integrations.agents.jules import Jules

    found: dict[str, CodingAgent] = {}
    if settings.jules_api_key:
        found[JULES] = Jules(settings, settings.jules_api_key.get_secret_value())
    return found
