"""The audio mixer over HTTP (``audio.service`` has the rules): the owner's projects and tracks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from spikeland.audio import service
from spikeland.audio.decode import CONTENT_TYPES, READABLE
from spikeland.audio.schemas import (
    BrowserTrackIn,
    ProjectDetail,
    ProjectIn,
    ProjectOut,
    ProjectPage,
    ProjectUpdate,
    TrackOrder,
    TrackOut,
    TrackUpdate,
)
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import remove_objects

router = APIRouter(route_class=Route, prefix="/audio/projects", tags=["audio"])
uploads = APIRouter(route_class=Route, prefix="/audio/track-uploads", tags=["audio"])
UPLOAD_PREFIX = "/audio/track-uploads/"  # its own path: only these bodies may be 500 MB (app.py)
UPLOAD_MAX_BYTES = 500 * 1024 * 1024
_PROJECT = errors(audio_project_not_found=404)
_TRACK = errors(audio_project_not_found=404, audio_track_not_found=404)


@router.post("", response_model=ProjectOut, status_code=status.HTTP_201_CREATED)
async def create_project(body: ProjectIn, caller: CurrentCaller, session: DbSession) -> ProjectOut:
    project = await service.create_project(session, caller.user_id, body.name, body.description)
    return ProjectOut.model_validate(project)


@router.get("", response_model=ProjectPage)
async def list_projects(
    caller: CurrentCaller, session: DbSession, limit: PageLimit = 50, cursor: PageCursor = None
) -> ProjectPage:
    """The caller's projects, newest first."""
    page = await service.list_projects(session, caller.user_id, cursor=cursor, limit=limit)
    return ProjectPage(items=[ProjectOut.model_validate(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/{project_id}", response_model=ProjectDetail, openapi_extra=_PROJECT)
async def get_project(project_id: str, caller: CurrentCaller, session: DbSession) -> ProjectDetail:
    """A project with its tracks in their order."""
    project = await service.get_project(session, caller.user_id, project_id)
    found = await service.tracks(session, project.id)
    return ProjectDetail(
        **ProjectOut.model_validate(project).model_dump(), tracks=[TrackOut.model_validate(t) for t in found]
    )


@router.patch("/{project_id}", response_model=ProjectOut, openapi_extra=_PROJECT)
async def update_project(
    project_id: str, body: ProjectUpdate, caller: CurrentCaller, session: DbSession
) -> ProjectOut:
    project = await service.update_project(
        session, caller.user_id, project_id, name=body.name, description=body.description
    )
    return ProjectOut.model_validate(project)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=_PROJECT)
async def delete_project(
    project_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    background: BackgroundTasks,
) -> None:
    """The project and its tracks (their files too, once the deletion has committed)."""
    keys = await service.delete_project(session, caller.user_id, project_id)
    background.add_task(remove_objects, storage, keys)


@router.post(
    "/{project_id}/tracks/browser",
    response_model=TrackOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_PROJECT,
)
async def register_browser_track(
    project_id: str, body: BrowserTrackIn, caller: CurrentCaller, session: DbSession
) -> TrackOut:
    """A track kept in the browser (OPFS): its metadata only; it goes last."""
    return TrackOut.model_validate(
        await service.register_browser_track(session, caller.user_id, project_id, body)
    )


@router.put(
    "/{project_id}/tracks/order",
    response_model=list[TrackOut],
    openapi_extra=errors(audio_project_not_found=404, invalid_order=422),
)
async def reorder_tracks(
    project_id: str, body: TrackOrder, caller: CurrentCaller, session: DbSession
) -> list[TrackOut]:
    """Every track of the project once, in the new order."""
    ordered = await service.reorder(session, caller.user_id, project_id, body.track_ids)
    return [TrackOut.model_validate(t) for t in ordered]


@router.patch("/{project_id}/tracks/{track_id}", response_model=TrackOut, openapi_extra=_TRACK)
async def update_track(
    project_id: str, track_id: str, body: TrackUpdate, caller: CurrentCaller, session: DbSession
) -> TrackOut:
    """Rename, volume 0.0..1.0, mute, solo."""
    track = await service.update_track(
        session,
        caller.user_id,
        project_id,
        track_id,
        name=body.name,
        volume=body.volume,
        muted=body.muted,
        solo=body.solo,
    )
    return TrackOut.model_validate(track)


@router.get("/{project_id}/tracks/{track_id}/peaks", response_class=Response, openapi_extra=_TRACK)
async def track_peaks(
    project_id: str, track_id: str, caller: CurrentCaller, session: DbSession, storage: StorageDep
) -> Response:
    """An uploaded track's waveform for drawing: ``{"buckets": n, "peaks": [[min, max], ...]}``."""
    document = await service.track_peaks(session, storage, caller.user_id, project_id, track_id)
    return Response(document, media_type="application/json")


@router.get(
    "/{project_id}/tracks/{track_id}/file",
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/*": {}}}},
    openapi_extra=errors(audio_project_not_found=404, audio_track_not_found=404, storage_unavailable=503),
)
async def track_file(
    project_id: str, track_id: str, caller: CurrentCaller, session: DbSession, storage: StorageDep
) -> StreamingResponse:
    """An uploaded track's file as it was uploaded, streamed (404 for a browser track)."""
    track, pieces = await service.track_file(session, storage, caller.user_id, project_id, track_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{track.id}.{track.file_format}"',
        "Content-Length": str(track.file_size_bytes),
        "Cache-Control": "private, max-age=86400",
    }
    return StreamingResponse(pieces, media_type=CONTENT_TYPES[track.file_format], headers=headers)


@router.delete(
    "/{project_id}/tracks/{track_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=_TRACK
)
async def delete_track(
    project_id: str,
    track_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    background: BackgroundTasks,
) -> None:
    """The track (its file too, once the deletion has committed)."""
    track = await service.delete_track(session, caller.user_id, project_id, track_id)
    background.add_task(remove_objects, storage, service.stored_keys(track))


@uploads.post(
    "/{project_id}",
    response_model=TrackOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=errors(
        audio_project_not_found=404, unsupported_audio=422, payload_too_large=413, storage_unavailable=503
    ),
)
async def upload_track(
    project_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description=f"{READABLE}, at most 500 MB.")],
    name: Annotated[str | None, Form(max_length=100)] = None,
) -> TrackOut:
    """A track from an uploaded file (spooled to disk as it arrives, streamed to storage): its
    format and duration read from the audio itself; it goes last."""
    title = (name or file.filename or "Track").strip()[:100] or "Track"
    track = await service.upload_track(
        session, storage, caller.user_id, project_id, title, file.file, file.size or 0
    )
    return TrackOut.model_validate(track)
