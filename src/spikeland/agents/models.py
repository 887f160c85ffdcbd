"""Agents tables of the specification: external_agent_sessions, agent_session_activities."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import Base, Json, enum_default, fk, id_column, now_default, pg_enum, updated_at


class AgentProvider(StrEnum):
    JULES = "JULES"  # Jules coding agent
    CODEX = "CODEX"  # Codex coding agent
    OTHER = "OTHER"  # Other agent provider


class ExternalAgentStatus(StrEnum):
    QUEUED = "QUEUED"  # Task queued
    PLANNING = "PLANNING"  # Agent planning
    AWAITING_PLAN_APPROVAL = "AWAITING_PLAN_APPROVAL"  # Waiting for plan approval
    AWAITING_USER_FEEDBACK = "AWAITING_USER_FEEDBACK"  # Waiting for user feedback
    IN_PROGRESS = "IN_PROGRESS"  # Task in progress
    PAUSED = "PAUSED"  # Task paused
    FAILED = "FAILED"  # Task failed
    COMPLETED = "COMPLETED"  # Task completed


class ExternalAgentSession(Base):
    __tablename__ = "external_agent_sessions"
    __table_args__ = (
        Index(None, "externalId", unique=True),
        Index(None, "provider", "status"),
        Index(None, "status", "lastActivityAt"),
    )

    id: Mapped[str] = id_column()
    external_id: Mapped[str] = mapped_column("externalId")
    provider: Mapped[AgentProvider] = mapped_column(
        "provider",
        pg_enum(AgentProvider),
        server_default=enum_default(AgentProvider.JULES),
    )
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    status: Mapped[ExternalAgentStatus] = mapped_column("status", pg_enum(ExternalAgentStatus))
    source_repo: Mapped[str | None] = mapped_column("sourceRepo")
    starting_branch: Mapped[str | None] = mapped_column("startingBranch")
    output_branch: Mapped[str | None] = mapped_column("outputBranch")
    pull_request_url: Mapped[str | None] = mapped_column("pullRequestUrl")
    plan_summary: Mapped[str | None] = mapped_column("planSummary")
    plan_approved_at: Mapped[datetime | None] = mapped_column("planApprovedAt")
    last_activity_at: Mapped[datetime | None] = mapped_column("lastActivityAt")
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    # Migration 0015: when the periodic sync last read the session from its provider.
    synced_at: Mapped[datetime | None] = mapped_column("syncedAt")


class AgentSessionActivity(Base):
    __tablename__ = "agent_session_activities"
    __table_args__ = (
        Index(None, "sessionId", "createdAt"),
        # The provider's activities stored once each (the sync's ON CONFLICT), migration 0015.
        Index(None, "sessionId", "externalId", unique=True),
    )

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column("sessionId", fk("external_agent_sessions.id", "CASCADE"))
    external_id: Mapped[str | None] = mapped_column("externalId")
    type: Mapped[str] = mapped_column("type")
    content: Mapped[str | None] = mapped_column("content")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()
