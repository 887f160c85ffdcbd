"""Boxes tables of the specification: box_tiers, boxes, box_actions, agent_tasks, box_messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    Json,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)
from spikeland.db.enums import JobStatus


class BoxStatus(StrEnum):
    CREATING = "CREATING"  # Box being created
    STARTING = "STARTING"  # Box starting up
    RUNNING = "RUNNING"  # Box running
    PAUSED = "PAUSED"  # Box paused
    STOPPING = "STOPPING"  # Box shutting down
    STOPPED = "STOPPED"  # Box stopped
    TERMINATED = "TERMINATED"  # Box terminated
    ERROR = "ERROR"  # Box in error state


class BoxActionType(StrEnum):
    CREATE = "CREATE"  # Create new box
    START = "START"  # Start stopped box
    STOP = "STOP"  # Stop running box
    RESTART = "RESTART"  # Restart box
    DELETE = "DELETE"  # Delete box
    CLONE = "CLONE"  # Clone box


class BoxMessageRole(StrEnum):
    USER = "USER"  # User message
    AGENT = "AGENT"  # AI agent message
    SYSTEM = "SYSTEM"  # System message


class BoxTier(Base):
    __tablename__ = "box_tiers"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    cpu: Mapped[int] = mapped_column("cpu")
    ram: Mapped[int] = mapped_column("ram")
    storage: Mapped[int] = mapped_column("storage")
    price_per_hour: Mapped[int] = mapped_column("pricePerHour")
    price_per_month: Mapped[int] = mapped_column("pricePerMonth")
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class Box(Base):
    __tablename__ = "boxes"
    __table_args__ = (
        Index(None, "userId", "createdAt"),
        Index(None, "status"),
        Index(None, "tierId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    tier_id: Mapped[str | None] = mapped_column("tierId", fk("box_tiers.id", "SET NULL"))
    status: Mapped[BoxStatus] = mapped_column(
        "status",
        pg_enum(BoxStatus),
        server_default=enum_default(BoxStatus.STOPPED),
    )
    connection_url: Mapped[str | None] = mapped_column("connectionUrl")
    storage_volume_id: Mapped[str | None] = mapped_column("storageVolumeId")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None] = mapped_column("deletedAt")
    # Migration 0014: the current run's billing start and hours paid; the agent token's SHA-256.
    run_started_at: Mapped[datetime | None] = mapped_column("runStartedAt")
    hours_charged: Mapped[int] = mapped_column("hoursCharged", server_default=server_default(0))
    token_hash: Mapped[str | None] = mapped_column("tokenHash")


class BoxAction(Base):
    __tablename__ = "box_actions"
    __table_args__ = (
        Index(None, "boxId", "createdAt"),
        Index(None, "status", "updatedAt"),  # the runner's claims, migration 0014
    )

    id: Mapped[str] = id_column()
    box_id: Mapped[str] = mapped_column("boxId", fk("boxes.id", "CASCADE"))
    action: Mapped[BoxActionType] = mapped_column("action", pg_enum(BoxActionType))
    status: Mapped[JobStatus] = mapped_column(
        "status",
        pg_enum(JobStatus),
        server_default=enum_default(JobStatus.PENDING),
    )
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    error: Mapped[str | None] = mapped_column("error")
    # Migration 0014: the job runner's columns (``error`` is the job's error).
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(3))
    run_after: Mapped[datetime | None] = mapped_column("runAfter")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class AgentTask(Base):
    __tablename__ = "agent_tasks"
    __table_args__ = (
        Index(None, "boxId", "status"),
        Index(None, "status", "updatedAt"),  # the runner's claims, migration 0014
    )

    id: Mapped[str] = id_column()
    box_id: Mapped[str] = mapped_column("boxId", fk("boxes.id", "CASCADE"))
    type: Mapped[str] = mapped_column("type")
    payload: Mapped[Any] = mapped_column("payload", Json, nullable=True)
    status: Mapped[JobStatus] = mapped_column(
        "status",
        pg_enum(JobStatus),
        server_default=enum_default(JobStatus.PENDING),
    )
    result: Mapped[Any] = mapped_column("result", Json, nullable=True)
    error: Mapped[str | None] = mapped_column("error")
    # Migration 0014: the job runner's columns (``error`` is the job's error).
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(3))
    run_after: Mapped[datetime | None] = mapped_column("runAfter")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class BoxMessage(Base):
    __tablename__ = "box_messages"
    __table_args__ = (Index(None, "boxId", "createdAt"),)

    id: Mapped[str] = id_column()
    box_id: Mapped[str] = mapped_column("boxId", fk("boxes.id", "CASCADE"))
    role: Mapped[BoxMessageRole] = mapped_column("role", pg_enum(BoxMessageRole))
    content: Mapped[str] = mapped_column("content")
    created_at: Mapped[datetime] = now_default()
