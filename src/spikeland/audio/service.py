"""Audio mixer projects and their tracks, owner only (another user's project or track is 404).

- Projects: create, rename, describe, delete (its tracks go with it), the owner's newest first.
- Tracks: an uploaded file is identified by its content and stored (R2: the platform's storage);
  a track kept in the browser (OPFS) is registered by its metadata only; a track's
  settings are its name, volume 0.0..1.0, muted and solo; the order is set for the whole project at
  once (every track named once, or 422 ``invalid_order``). New tracks go last.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import BinaryIO

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.audio.decode import identify
from spikeland.audio.models import AudioMixdown, AudioMixerProject, AudioStorageType, AudioTrack
from spikeland.audio.schemas import BrowserTrackIn
from spikeland.audio.waveform import peaks
from spikeland.core.errors import NotFound, ServiceUnavailable, ValidationFailed
from spikeland.core.pagination import Page, newest_first
from spikeland.db.cuid import cuid
from spikeland.integrations.storage import ObjectNotFound, Storage, StorageError


class ProjectNotFound(NotFound):
    code = "audio_project_not_found"


class TrackNotFound(NotFound):
    code = "audio_track_not_found"


async def get_project(
    session: AsyncSession, user_id: str, project_id: str, *, lock: bool = False
) -> AudioMixerProject:
    statement = select(AudioMixerProject).where(
        AudioMixerProject.id == project_id, AudioMixerProject.user_id == user_id
    )
    project = await session.scalar(statement.with_for_update() if lock else statement)
    if project is None:
        raise ProjectNotFound("No such project.")
    return project


async def create_project(
    session: AsyncSession, user_id: str, name: str, description: str | None
) -> AudioMixerProject:
    project = AudioMixerProject(user_id=user_id, name=name, description=description)
    session.add(project)
    await session.flush()
    return project


async def list_projects(
    session: AsyncSession, user_id: str, *, cursor: str | None, limit: int
) -> Page[AudioMixerProject]:
    statement = select(AudioMixerProject).where(AudioMixerProject.user_id == user_id)
    return await newest_first(
        session, statement, AudioMixerProject.created_at, AudioMixerProject.id, limit=limit, cursor=cursor
    )


async def update_project(
    session: AsyncSession, user_id: str, project_id: str, *, name: str | None, description: str | None
) -> AudioMixerProject:
    project = await get_project(session, user_id, project_id)
    if name is not None:
        project.name = name
    if description is not None:
        project.description = description or None
    await session.flush()
    return project


def stored_keys(track: AudioTrack) -> list[str]:
    """The objects of an uploaded track (its file and waveform); none for a browser track."""
    return [track.file_r2_key, peaks_key(track.file_r2_key)] if track.file_r2_key else []


def mixdown_keys(mixdown: AudioMixdown) -> list[str]:
    return [key for key in (mixdown.wav_r2_key, mixdown.mp3_r2_key) if key]


async def delete_project(session: AsyncSession, user_id: str, project_id: str) -> list[str]:
    """The project, its tracks and mixdowns; the stored objects to remove once this commits."""
    project = await get_project(session, user_id, project_id, lock=True)
    return await _project_files(session, [project.id], delete=True)


async def user_file_keys(session: AsyncSession, user_id: str) -> list[str]:
    """Every stored object of the user's projects, for the user's deletion (identity's
    ``on_user_delete``; the rows then go by cascade). The projects are locked, as a deletion of one
    locks it: a track upload or mixdown finishing meanwhile waits, then finds the project gone."""
    projects = await session.scalars(
        select(AudioMixerProject.id)
        .where(AudioMixerProject.user_id == user_id)
        .order_by(AudioMixerProject.id)
        .with_for_update()
    )
    return await _project_files(session, list(projects), delete=False)


async def _project_files(session: AsyncSession, project_ids: list[str], *, delete: bool) -> list[str]:
    if not project_ids:
        return []
    found = await session.scalars(select(AudioTrack).where(AudioTrack.project_id.in_(project_ids)))
    keys = [key for track in found for key in stored_keys(track)]
    renders = await session.scalars(
        select(AudioMixdown).where(AudioMixdown.project_id.in_(project_ids)).with_for_update()
    )
    keys += [key for mixdown in renders for key in mixdown_keys(mixdown)]
    if delete:
        await session.execute(delete_rows(AudioMixerProject).where(AudioMixerProject.id.in_(project_ids)))
    return keys


async def tracks(session: AsyncSession, project_id: str) -> list[AudioTrack]:
    rows = await session.scalars(
        select(AudioTrack)
        .where(AudioTrack.project_id == project_id)
        .order_by(AudioTrack.sort_order, AudioTrack.id)
    )
    return list(rows)


async def register_browser_track(
    session: AsyncSession, user_id: str, project_id: str, body: BrowserTrackIn
) -> AudioTrack:
    position = await _next_position(session, user_id, project_id)
    track = AudioTrack(
        project_id=project_id,
        name=body.name,
        file_format=body.file_format,
        duration=body.duration,
        file_size_bytes=body.file_size_bytes,
        storage_type=AudioStorageType.OPFS,
        sort_order=position,
    )
    session.add(track)
    await session.flush()
    return track


async def _next_position(session: AsyncSession, user_id: str, project_id: str) -> int:
    """The place after the project's last track, under the project's lock: one new track at a time."""
    await get_project(session, user_id, project_id, lock=True)
    last = await session.scalar(
        select(func.max(AudioTrack.sort_order)).where(AudioTrack.project_id == project_id)
    )
    return 0 if last is None else last + 1


def track_key(user_id: str, project_id: str, track_id: str, fmt: str) -> str:
    return f"users/{user_id}/audio-projects/{project_id}/tracks/{track_id}.{fmt}"


def peaks_key(file_key: str) -> str:
    return file_key.rsplit(".", 1)[0] + ".peaks.json"


async def upload_track(
    session: AsyncSession,
    storage: Storage,
    user_id: str,
    project_id: str,
    name: str,
    source: BinaryIO,
    size: int,
) -> AudioTrack:
    """Store an uploaded file as the project's last track: its format and duration read from its
    content (``audio.decode``: 422 and nothing stored when it is no audio we read), streamed to
    storage before the row is added. (A commit failing after that leaves an object no row names:
    the database failing between the two, rare; the key is the track's own, never reused.)"""
    await get_project(session, user_id, project_id)  # a stranger's project: 404 before any work
    info = await asyncio.to_thread(identify, source)  # FFmpeg formats are decoded whole to count
    track_id = cuid()
    key = track_key(user_id, project_id, track_id, info.format)
    drawn = await asyncio.to_thread(peaks, source, info)  # once, while the file is here
    try:
        await storage.put_file(key, source, info.content_type)
        document = json.dumps({"buckets": len(drawn), "peaks": drawn}, separators=(",", ":")).encode()
        await storage.put(peaks_key(key), document, "application/json")
    except StorageError as exc:
        raise ServiceUnavailable(
            "The file could not be stored; try again.", code="storage_unavailable"
        ) from exc
    track = AudioTrack(
        id=track_id,
        project_id=project_id,
        name=name,
        file_r2_key=key,
        file_format=info.format,
        duration=info.duration,
        file_size_bytes=size,
        storage_type=AudioStorageType.R2,
        # The project's lock (for the position) is taken once the file is stored, not during it.
        sort_order=await _next_position(session, user_id, project_id),
    )
    session.add(track)
    await session.flush()
    return track


async def track_peaks(
    session: AsyncSession, storage: Storage, user_id: str, project_id: str, track_id: str
) -> bytes:
    """The stored waveform of an uploaded track (JSON); 404 for a browser track (no file here)."""
    track = await get_track(session, user_id, project_id, track_id)
    if track.file_r2_key is None:
        raise TrackNotFound("This track is kept in the browser: its waveform is drawn there.")
    try:
        return await storage.get(peaks_key(track.file_r2_key))
    except ObjectNotFound:
        raise TrackNotFound("No waveform for this track.") from None
    except StorageError as exc:
        raise ServiceUnavailable(
            "The waveform could not be read; try again.", code="storage_unavailable"
        ) from exc


async def track_file(
    session: AsyncSession, storage: Storage, user_id: str, project_id: str, track_id: str
) -> tuple[AudioTrack, AsyncIterator[bytes]]:
    """An uploaded track and its file's bytes, opened; 404 for a browser track (no file here)."""
    track = await get_track(session, user_id, project_id, track_id)
    if track.file_r2_key is None:
        raise TrackNotFound("This track is kept in the browser: its file is there, not here.")
    return track, await open_stored(storage, track.file_r2_key, TrackNotFound("The track's file is missing."))


async def open_stored(storage: Storage, key: str, missing: NotFound) -> AsyncIterator[bytes]:
    """A stored file's bytes, opened for streaming: ``missing`` when it is gone, 503 when the store
    does not answer (tracks and mixdowns alike)."""
    try:
        return await storage.open(key)
    except ObjectNotFound:
        raise missing from None
    except StorageError as exc:
        raise ServiceUnavailable(
            "The file could not be read; try again.", code="storage_unavailable"
        ) from exc


async def get_track(session: AsyncSession, user_id: str, project_id: str, track_id: str) -> AudioTrack:
    await get_project(session, user_id, project_id)
    track = await session.scalar(
        select(AudioTrack).where(AudioTrack.id == track_id, AudioTrack.project_id == project_id)
    )
    if track is None:
        raise TrackNotFound("No such track.")
    return track


async def update_track(
    session: AsyncSession,
    user_id: str,
    project_id: str,
    track_id: str,
    *,
    name: str | None,
    volume: float | None,
    muted: bool | None,
    solo: bool | None,
) -> AudioTrack:
    track = await get_track(session, user_id, project_id, track_id)
    for attribute, value in (("name", name), ("volume", volume), ("muted", muted), ("solo", solo)):
        if value is not None:
            setattr(track, attribute, value)
    await session.flush()
    return track


async def reorder(
    session: AsyncSession, user_id: str, project_id: str, track_ids: list[str]
) -> list[AudioTrack]:
    await get_project(session, user_id, project_id, lock=True)
    found = await tracks(session, project_id)
    if sorted(track_ids) != sorted(t.id for t in found):
        raise ValidationFailed(
            "Name every track of the project once, in the new order.", code="invalid_order"
        )
    by_id = {t.id: t for t in found}
    for position, track_id in enumerate(track_ids):
        by_id[track_id].sort_order = position
    await session.flush()
    return [by_id[t] for t in track_ids]


async def delete_track(session: AsyncSession, user_id: str, project_id: str, track_id: str) -> AudioTrack:
    """The deleted row (its stored file, if any, is the caller's to remove after commit)."""
    track = await get_track(session, user_id, project_id, track_id)
    await session.delete(track)
    await session.flush()
    return track
