"""The audio mixer on the wire: projects, their tracks' settings, their mixdowns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from spikeland.audio.models import AudioMixdown, AudioStorageType
from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.db.enums import JobStatus


def _line(value: str) -> str:
    return no_control(value)


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_line)
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(_text)]


class ProjectIn(RequestSchema):
    name: Name
    description: Description | None = None


class ProjectUpdate(RequestSchema):
    name: Name | None = None
    description: Description | None = None


class ProjectOut(Schema):
    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class ProjectPage(Schema):
    items: list[ProjectOut]
    next_cursor: str | None


class BrowserTrackIn(RequestSchema):
    """A track kept in the browser (OPFS): only what it is, no file here."""

    name: Name
    file_format: Literal["wav", "mp3", "ogg", "flac", "webm", "aac", "m4a"]
    duration: float = Field(gt=0, le=24 * 3600)
    file_size_bytes: int = Field(ge=1, le=500 * 1024 * 1024)


class TrackUpdate(RequestSchema):
    name: Name | None = None
    volume: float | None = Field(default=None, ge=0.0, le=1.0)
    muted: bool | None = None
    solo: bool | None = None


class TrackOrder(RequestSchema):
    track_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=200
    )


class TrackOut(Schema):
    id: str
    name: str
    file_format: str
    duration: float
    file_size_bytes: int
    volume: float
    muted: bool
    solo: bool
    sort_order: int
    storage_type: AudioStorageType
    created_at: datetime
    updated_at: datetime


class ProjectDetail(ProjectOut):
    tracks: list[TrackOut]


class MixdownTrack(Schema):
    id: str
    name: str
    volume: float


class MixdownOut(Schema):
    """A render of the project: PENDING → PROCESSING (stage fetching, mixing, storing; progress
    0..100) → COMPLETED with its files, or FAILED with the reason."""

    id: str
    project_id: str
    status: JobStatus
    stage: str | None
    progress: int
    tracks: list[MixdownTrack]
    sample_rate: int | None
    duration: float | None
    wav_size_bytes: int | None
    mp3_size_bytes: int | None
    formats: list[Literal["wav", "mp3"]]
    error_message: str | None
    created_at: datetime
    processing_completed_at: datetime | None

    @classmethod
    def of(cls, mixdown: AudioMixdown) -> MixdownOut:
        formats: list[Literal["wav", "mp3"]] = []
        if mixdown.wav_r2_key:
            formats.append("wav")
        if mixdown.mp3_r2_key:
            formats.append("mp3")
        return cls.model_validate(
            {
                **{name: getattr(mixdown, name) for name in cls.model_fields if hasattr(mixdown, name)},
                "tracks": mixdown.tracks,
                "formats": formats,
            }
        )


class MixdownPage(Schema):
    items: list[MixdownOut]
    next_cursor: str | None
