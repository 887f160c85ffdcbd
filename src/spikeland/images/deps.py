"""The request steps the image, album and visitor routes share: their rate limits (as route
dependencies, see ``core.deps.rate_limit``) and reading an uploaded file."""

from __future__ import annotations

from fastapi import UploadFile

from spikeland.core.deps import rate_limit
from spikeland.identity.deps import by_user
from spikeland.images.files import Upload, inspect_upload
from spikeland.integrations.imaging.budget import decode_budget
from spikeland.settings import Settings

PUBLIC_PER_MINUTE = 100  # share pages and downloads, per IP (as the original)

LimitUploads = rate_limit(
    "upload", per=lambda s: s.uploads_per_minute, by=by_user, message="Too many uploads; wait a minute."
)
# One enhancement request (a batch counts as one), in one window for every route.
LimitEnhancements = rate_limit(
    "enhance", per=lambda s: s.enhancements_per_minute, by=by_user, message="Too many enhancement requests."
)
# Share pages and public downloads, per IP.
LimitPublic = rate_limit("share", per=PUBLIC_PER_MINUTE, message="Too many requests; wait a minute.")


async def read_upload(settings: Settings, file: UploadFile) -> Upload:
    """The uploaded file, checked (4xx when it is not an image we take)."""
    # One byte over the limit is enough to know the file is too large.
    data = await file.read(settings.upload_max_bytes + 1)
    return await inspect_upload(
        data,
        file.filename,
        max_bytes=settings.upload_max_bytes,
        max_pixels=settings.upload_max_pixels,
        budget=decode_budget(settings.decode_memory_mb),
    )
