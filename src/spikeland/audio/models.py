"""Audio tables of the specification: audio_mixer_projects, audio_tracks; and audio_mixdowns (0012)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index
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


class AudioStorageType(StrEnum):
    R2 = "R2"  # Cloudflare R2 storage
    OPFS = "OPFS"  # Browser Origin Private File System


class AudioMixerProject(Base):
    __tablename__ = "audio_mixer_projects"
    __table_args__ = (Index(None, "userId", "createdAt"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class AudioTrack(Base):
    __tablename__ = "audio_tracks"
    __table_args__ = (Index(None, "projectId", "sortOrder"),)

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column("projectId", fk("audio_mixer_projects.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    file_url: Mapped[str | None] = mapped_column("fileUrl")
    file_r2_key: Mapped[str | None] = mapped_column("fileR2Key")
    file_format: Mapped[str] = mapped_column("fileFormat")
    duration: Mapped[float] = mapped_column("duration")
    file_size_bytes: Mapped[int] = mapped_column("fileSizeBytes")
    volume: Mapped[float] = mapped_column("volume", server_default=server_default(1.0))
    muted: Mapped[bool] = mapped_column("muted", server_default=server_default(False))
    solo: Mapped[bool] = mapped_column("solo", server_default=server_default(False))
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    storage_type: Mapped[AudioStorageType] = mapped_column(
        "storageType",
        pg_enum(AudioStorageType),
        server_default=enum_default(AudioStorageType.R2),
    )
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class AudioMixdown(Base):
    """A render of a project to a stereo file, as a job of the runner (migration 0012 says why it is
    a table of its own). ``tracks`` is what was asked for: the audible tracks' ids, files and
    volumes at the time, so later edits never change a render in progress."""

    __tablename__ = "audio_mixdowns"
    __table_args__ = (
        Index(None, "projectId", "createdAt"),
        Index(None, "userId"),
        Index(None, "status", "updatedAt"),
    )

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column("projectId", fk("audio_mixer_projects.id", "CASCADE"))
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    status: Mapped[JobStatus] = mapped_column(
        "status", pg_enum(JobStatus), server_default=enum_default(JobStatus.PENDING)
    )
    stage: Mapped[str | None] = mapped_column("stage")
    progress: Mapped[int] = mapped_column("progress", server_default=server_default(0))
    tracks: Mapped[list[dict[str, Any]]] = mapped_column("tracks", Json)
    sample_rate: Mapped[int | None] = mapped_column("sampleRate")
    duration: Mapped[float | None] = mapped_column("duration")
    wav_r2_key: Mapped[str | None] = mapped_column("wavR2Key")
    wav_size_bytes: Mapped[int | None] = mapped_column("wavSizeBytes", BigInteger)
    mp3_r2_key: Mapped[str | None] = mapped_column("mp3R2Key")
    mp3_size_bytes: Mapped[int | None] = mapped_column("mp3SizeBytes", BigInteger)
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(3))
    run_after: Mapped[datetime | None] = mapped_column("runAfter")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
