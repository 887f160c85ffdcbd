"""The outside-service adapters of a running app (built once in ``create_app``), as dependencies,
and the request steps the image, album and visitor routes share: their rate limits and reading an
uploaded file."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, UploadFile

from spikeland.core.ratelimit import RateLimiter
from spikeland.identity.deps import client_ip, settings_of
from spikeland.images.files import Upload, inspect_upload
from spikeland.integrations.imaging.budget import decode_budget
from spikeland.integrations.storage import Storage

PUBLIC_PER_MINUTE = 100  # share pages and downloads, per IP (as the original)


# async, as every trivial dependency here: FastAPI runs a sync one in a worker thread per request.
async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


StorageDep = Annotated[Storage, Depends(_storage)]
LimiterDep = Annotated[RateLimiter, Depends(_limiter)]


def limit_uploads(request: Request, limiter: RateLimiter, user_id: str) -> None:
    limit = settings_of(request).uploads_per_minute
    limiter.take(f"upload:{user_id}", limit, 60, "Too many uploads; wait a minute.")


def limit_enhancements(request: Request, limiter: RateLimiter, user_id: str) -> None:
    """One enhancement request (a batch counts as one), in one window for every route."""
    limit = settings_of(request).enhancements_per_minute
    limiter.take(f"enhance:{user_id}", limit, 60, "Too many enhancement requests.")


def limit_public(request: Request, limiter: RateLimiter) -> None:
    """Share pages and public downloads, per IP."""
    limiter.take(f"share:{client_ip(request)}", PUBLIC_PER_MINUTE, 60, "Too many requests; wait a minute.")


async def read_upload(request: Request, file: UploadFile) -> Upload:
    """The uploaded file, checked (4xx when it is not an image we take)."""
    settings = settings_of(request)
    # One byte over the limit is enough to know the file is too large.
    data = await file.read(settings.upload_max_bytes + 1)
    return await inspect_upload(
        data,
        file.filename,
        max_bytes=settings.upload_max_bytes,
        max_pixels=settings.upload_max_pixels,
        budget=decode_budget(settings.decode_memory_mb),
    )
