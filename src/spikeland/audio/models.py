"""Audio tables of the specification: audio_mixer_projects, audio_tracks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)


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
