"""Image previews for admins: any user's original, a job's enhanced output, a generation's input and
output, streamed from storage to a signed-in ADMIN. The pages use them as ``<img>`` sources (the
CSP allows images from the console's own origin only); the API's own file routes answer only each
file's owner, and the featured gallery's only active items."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from spikeland.console.web import ConsoleAdmin, ConsoleRoute
from spikeland.db.session import DbSession
from spikeland.generation import admin_jobs as generation_jobs
from spikeland.images import admin_jobs as enhancement_jobs
from spikeland.images import service as images
from spikeland.images.models import EnhancedImage
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import ObjectNotFound, Storage, StorageError

router = APIRouter(prefix="/admin/media", route_class=ConsoleRoute, include_in_schema=False)
JPEG = "image/jpeg"  # every enhanced and generated file is stored as JPEG


async def _stream(storage: Storage, key: str | None, content_type: str) -> StreamingResponse:
    """The stored object in pieces; a missing one is a 404 before anything is sent."""
    if not key:
        raise images.FileNotFound()
    try:
        pieces = await storage.open(key)
    except (ObjectNotFound, ValueError):
        raise images.FileNotFound() from None
    except StorageError as exc:
        raise images.storage_unavailable() from exc
    # Private: an admin's browser may keep a preview a while; no shared cache may.
    headers = {"Cache-Control": "private, max-age=300", "Content-Disposition": "inline"}
    return StreamingResponse(pieces, media_type=content_type, headers=headers)


@router.get("/images/{image_id}/original")
async def image_original(
    image_id: str, admin: ConsoleAdmin, session: DbSession, storage: StorageDep
) -> StreamingResponse:
    image = await session.get(EnhancedImage, image_id)
    if image is None:
        raise images.ImageNotFound()
    return await _stream(storage, image.original_r2_key, images.content_type_of(image))


@router.get("/jobs/{job_id}/enhanced")
async def job_enhanced(
    job_id: str, admin: ConsoleAdmin, session: DbSession, storage: StorageDep
) -> StreamingResponse:
    job = await enhancement_jobs.get(session, job_id)
    return await _stream(storage, job.enhanced_r2_key, JPEG)


@router.get("/generations/{job_id}/input")
async def generation_input(
    job_id: str, admin: ConsoleAdmin, session: DbSession, storage: StorageDep
) -> StreamingResponse:
    job = await generation_jobs.get(session, job_id)
    key = job.input_image_r2_key
    return await _stream(storage, key, images.content_type_of_key(key) if key else JPEG)


@router.get("/generations/{job_id}/output")
async def generation_output(
    job_id: str, admin: ConsoleAdmin, session: DbSession, storage: StorageDep
) -> StreamingResponse:
    job = await generation_jobs.get(session, job_id)
    return await _stream(storage, job.output_image_r2_key, JPEG)
