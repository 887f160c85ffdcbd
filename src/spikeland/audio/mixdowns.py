"""Mixdowns: a project rendered to a stereo WAV (and MP3), by a job of the runner (``audio.tasks``).

- What is mixed is decided when it is asked for: the tracks that sound — not muted, and when any
  track is soloed only the soloed ones (a muted track stays silent even when soloed) — with their
  volumes, in a snapshot on the row, so editing the project meanwhile changes no render in progress.
- Nothing to mix (no track sounds) → 422 ``nothing_to_mix``; a sounding track kept in the browser
  (OPFS: its file is not here) → 409 ``track_in_browser``, naming the tracks (mute them, or mix in
  the browser).
- Asking again while a render of exactly the same snapshot is unfinished returns that render: a
  double click or a retried request starts one job, not two.
- Files only through the API, to the owner; deleting a mixdown removes its files (one still
  rendering stops: its worker's writes no longer find the row, and it removes what it stored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.audio.models import AudioMixdown, AudioStorageType
from spikeland.audio.queue import notify_new_jobs
from spikeland.audio.service import get_project, mixdown_keys, open_stored, tracks
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.pagination import Page, newest_first
from spikeland.db.enums import JobStatus
from spikeland.integrations.storage import Storage

UNFINISHED = (JobStatus.PENDING, JobStatus.PROCESSING)
FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}


class MixdownNotFound(NotFound):
    code = "mixdown_not_found"


async def request_mixdown(session: AsyncSession, user_id: str, project_id: str) -> tuple[AudioMixdown, bool]:
    """The render of the project as it sounds now, and whether it is new (False: the same render
    was already under way)."""
    project = await get_project(session, user_id, project_id, lock=True)  # one request at a time
    found = await tracks(session, project.id)
    soloed = any(t.solo and not t.muted for t in found)
    sounding = [t for t in found if not t.muted and (t.solo or not soloed) and t.volume > 0]
    if not sounding:
        raise ValidationFailed("No track would sound: every track is muted or silent.", code="nothing_to_mix")
    in_browser = [t.id for t in sounding if t.storage_type == AudioStorageType.OPFS or not t.file_r2_key]
    if in_browser:
        raise Conflict(
            "Some tracks are kept in the browser, not here: mute them or mix in the browser.",
            code="track_in_browser",
            details={"trackIds": in_browser},
        )
    snapshot = [{"id": t.id, "name": t.name, "key": t.file_r2_key, "volume": t.volume} for t in sounding]
    same = await session.scalar(
        select(AudioMixdown)
        .where(AudioMixdown.project_id == project.id, AudioMixdown.status.in_(UNFINISHED))
        .where(AudioMixdown.tracks == snapshot)
        .limit(1)
    )
    if same is not None:
        return same, False
    mixdown = AudioMixdown(project_id=project.id, user_id=user_id, tracks=snapshot)
    session.add(mixdown)
    await session.flush()
    await notify_new_jobs(session)
    return mixdown, True


async def list_mixdowns(
    session: AsyncSession, user_id: str, project_id: str, *, cursor: str | None, limit: int
) -> Page[AudioMixdown]:
    project = await get_project(session, user_id, project_id)
    statement = select(AudioMixdown).where(AudioMixdown.project_id == project.id)
    return await newest_first(
        session, statement, AudioMixdown.created_at, AudioMixdown.id, limit=limit, cursor=cursor
    )


async def get_mixdown(
    session: AsyncSession, user_id: str, project_id: str, mixdown_id: str, *, lock: bool = False
) -> AudioMixdown:
    await get_project(session, user_id, project_id)
    statement = select(AudioMixdown).where(
        AudioMixdown.id == mixdown_id, AudioMixdown.project_id == project_id
    )
    mixdown = await session.scalar(statement.with_for_update() if lock else statement)
    if mixdown is None:
        raise MixdownNotFound("No such mixdown.")
    return mixdown


async def open_file(
    session: AsyncSession, storage: Storage, user_id: str, project_id: str, mixdown_id: str, fmt: str
) -> tuple[AudioMixdown, str, AsyncIterator[bytes]]:
    """The render, the content type of its ``fmt`` file, and that file's bytes, opened."""
    mixdown = await get_mixdown(session, user_id, project_id, mixdown_id)
    key, content_type = _file_of(mixdown, fmt)
    missing = MixdownNotFound("The mixdown's file is missing.", code="mixdown_file_not_found")
    return mixdown, content_type, await open_stored(storage, key, missing)


def _file_of(mixdown: AudioMixdown, fmt: str) -> tuple[str, str]:
    """The stored key and content type of the render in ``fmt``; 404 when it has none (yet)."""
    key = mixdown.wav_r2_key if fmt == "wav" else mixdown.mp3_r2_key
    if mixdown.status != JobStatus.COMPLETED or key is None:
        raise MixdownNotFound(f"This mixdown has no {fmt.upper()} file (yet).", code="mixdown_file_not_found")
    return key, FORMATS[fmt]


async def delete_mixdown(session: AsyncSession, user_id: str, project_id: str, mixdown_id: str) -> list[str]:
    """Delete the render; its stored files, to remove once this commits."""
    mixdown = await get_mixdown(session, user_id, project_id, mixdown_id, lock=True)
    keys = mixdown_keys(mixdown)
    await session.delete(mixdown)
    await session.flush()
    return keys
