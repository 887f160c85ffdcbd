"""Mixdowns over HTTP (``audio.mixdowns`` has the rules): ask for one, follow it, download it."""

from __future__ import annotations

import functools
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.audio import mixdowns
from spikeland.audio.models import AudioMixdown
from spikeland.audio.schemas import MixdownOut, MixdownPage
from spikeland.core.deps import Sessions
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import remove_objects
from spikeland.worker.events import JobEventsDep, job_stream

router = APIRouter(route_class=Route, prefix="/audio/projects", tags=["audio"])
_PROJECT = errors(audio_project_not_found=404)
_MIXDOWN = errors(audio_project_not_found=404, mixdown_not_found=404)


@router.post(
    "/{project_id}/mixdowns",
    response_model=MixdownOut,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=errors(audio_project_not_found=404, nothing_to_mix=422, track_in_browser=409),
)
async def request_mixdown(project_id: str, caller: CurrentCaller, session: DbSession) -> MixdownOut:
    """Render the project as it sounds now (volumes, mute, solo) to a stereo WAV, and an MP3 where
    the encoder is available; the same render already under way is returned rather than repeated."""
    mixdown, _ = await mixdowns.request_mixdown(session, caller.user_id, project_id)
    return MixdownOut.of(mixdown)


@router.get("/{project_id}/mixdowns", response_model=MixdownPage, openapi_extra=_PROJECT)
async def list_mixdowns(
    project_id: str,
    caller: CurrentCaller,
    session: DbSession,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> MixdownPage:
    """The project's renders, newest first."""
    page = await mixdowns.list_mixdowns(session, caller.user_id, project_id, cursor=cursor, limit=limit)
    return MixdownPage(items=[MixdownOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/{project_id}/mixdowns/{mixdown_id}", response_model=MixdownOut, openapi_extra=_MIXDOWN)
async def get_mixdown(
    project_id: str, mixdown_id: str, caller: CurrentCaller, session: DbSession
) -> MixdownOut:
    return MixdownOut.of(await mixdowns.get_mixdown(session, caller.user_id, project_id, mixdown_id))


@router.get(
    "/{project_id}/mixdowns/{mixdown_id}/events",
    openapi_extra=_MIXDOWN,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def mixdown_events(
    project_id: str,
    mixdown_id: str,
    request: Request,  # to stop streaming when the client goes (is_disconnected)
    caller: CurrentCaller,
    session: DbSession,
    hub: JobEventsDep,
    sessionmaker: Sessions,
) -> StreamingResponse:
    """Server-sent events, as an enhancement job's: a ``status`` event with the whole mixdown on
    each change (stage, progress), a ``stage`` event per change notified; it closes when it ends."""
    mixdown = await mixdowns.get_mixdown(session, caller.user_id, project_id, mixdown_id)
    return StreamingResponse(
        job_stream(
            mixdown.id, hub, functools.partial(_snapshot, sessionmaker, mixdown.id), request.is_disconnected
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession], mixdown_id: str) -> dict[str, Any] | None:
    async with sessionmaker() as session:
        mixdown = await session.get(AudioMixdown, mixdown_id)
        return MixdownOut.of(mixdown).model_dump(mode="json", by_alias=True) if mixdown else None


@router.get(
    "/{project_id}/mixdowns/{mixdown_id}/file",
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}, "audio/mpeg": {}}}},
    openapi_extra=errors(
        audio_project_not_found=404,
        mixdown_not_found=404,
        mixdown_file_not_found=404,
        storage_unavailable=503,
    ),
)
async def download_mixdown(
    project_id: str,
    mixdown_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    format: Literal["wav", "mp3"] = "wav",
) -> StreamingResponse:
    """The rendered file, streamed."""
    mixdown, content_type, pieces = await mixdowns.open_file(
        session, storage, caller.user_id, project_id, mixdown_id, format
    )
    size = mixdown.wav_size_bytes if format == "wav" else mixdown.mp3_size_bytes
    headers = {
        "Content-Disposition": f'attachment; filename="mixdown-{mixdown.id}.{format}"',
        "Cache-Control": "private, max-age=86400",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(pieces, media_type=content_type, headers=headers)


@router.delete(
    "/{project_id}/mixdowns/{mixdown_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=_MIXDOWN
)
async def delete_mixdown(
    project_id: str,
    mixdown_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    background: BackgroundTasks,
) -> None:
    """The render and its files (once the deletion has committed); one under way stops."""
    keys = await mixdowns.delete_mixdown(session, caller.user_id, project_id, mixdown_id)
    background.add_task(remove_objects, storage, keys)
