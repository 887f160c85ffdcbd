"""External agent sessions on the wire (bounded as the original bounded them: title 1..200,
task and message 1..4000)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from spikeland.agents.models import AgentProvider, ExternalAgentStatus
from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control


def _line(value: str) -> str:
    return no_control(value)


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_line)
]
Text4000 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(_text)
]
# GitHub's owner/name: letters, digits, "-", "_" and "." (the name goes into the provider's source).
Repo = Annotated[str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
Branch = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")]


class SessionCreate(RequestSchema):
    title: Title
    task: Text4000
    source_repo: Repo | None = Field(default=None, description="owner/name; unset: the configured default.")
    starting_branch: Branch = "main"
    provider: AgentProvider = AgentProvider.JULES


class MessageIn(RequestSchema):
    message: Text4000


class ActivityOut(Schema):
    id: str
    session_id: str
    external_id: str | None
    type: str
    content: str | None
    metadata: Any = Field(validation_alias="metadata_")
    created_at: datetime


class SessionOut(Schema):
    id: str
    external_id: str
    provider: AgentProvider
    name: str
    description: str | None
    status: ExternalAgentStatus
    source_repo: str | None
    starting_branch: str | None
    output_branch: str | None
    pull_request_url: str | None
    plan_summary: str | None
    plan_approved_at: datetime | None
    last_activity_at: datetime | None
    error_message: str | None
    metadata: Any = Field(validation_alias="metadata_")
    synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SessionDetail(Schema):
    session: SessionOut
    activities: list[ActivityOut] = Field(description="The latest 50, newest first.")


class SessionPage(Schema):
    items: list[SessionOut]
    next_cursor: str | None
    status_counts: dict[ExternalAgentStatus, int] = Field(description="Every session, by status.")


class SyncOut(Schema):
    synced: int
    failed: int
    activities: int
