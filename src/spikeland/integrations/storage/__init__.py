"""Object storage for originals and enhanced images: one interface, a local-filesystem
implementation (default, under the data dir) and an S3-compatible one (Cloudflare R2) via boto3.

Keys are per user: ``users/{userId}/originals/{imageId}.{ext}``, ``users/{userId}/enhanced/{jobId}.jpg``
(see ``original_key`` / ``enhanced_key``). Files reach users through the API, which checks access;
nothing here decides who may read what.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from spikeland.settings import Settings


_log = logging.getLogger(__name__)


class ObjectNotFound(Exception):
    """No object under that key."""


class StorageError(Exception):
    """The store did not answer or refused the operation."""


_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# S3 allows 1024 bytes per key; most filesystems 255 per name.
_MAX_KEY = 1024
_MAX_SEGMENT = 255


def check_key(key: str) -> str:
    """The key itself when it is a safe relative path; ValueError otherwise.

    Both implementations apply the same rule, so a key that works against R2 also works locally.
    Segments may not start with a dot: that rules out ``.`` and ``..`` and keeps keys apart from
    the local store's temporary files.
    """
    if not key or len(key) > _MAX_KEY:
        raise ValueError("storage key must be 1 to 1024 characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment) or segment.startswith(".") or len(segment) > _MAX_SEGMENT:
            raise ValueError(f"invalid storage key: {key!r}")
    return key


def original_key(user_id: str, image_id: str, ext: str) -> str:
    return f"users/{user_id}/originals/{image_id}.{ext}"


def enhanced_key(user_id: str, job_id: str) -> str:
    return f"users/{user_id}/enhanced/{job_id}.jpg"


class Storage(Protocol):
    name: str  # "local" or "s3"

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def put_file(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store what ``source`` (a seekable file, read from its start) holds, in pieces: a large
        upload is never held whole in memory."""
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound when there is none."""
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in pieces, for a large one (a download, a worker's input): opened
        here, so ObjectNotFound comes before the first piece."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""
        ...

    async def exists(self, key: str) -> bool: ...


CHUNK = 1024 * 1024


async def chunks(read: Callable[[int], bytes], close: Callable[[], object]) -> AsyncIterator[bytes]:
    """An open object's pieces, each read in a worker thread (blocking reads off the event loop)."""
    try:
        while piece := await asyncio.to_thread(read, CHUNK):
            yield piece
    finally:
        await asyncio.to_thread(close)


async def remove_objects(storage: Storage, keys: Iterable[str]) -> None:
    """Delete stored objects, logging (not raising) failures: for files whose rows are already gone,
    run after the deletion committed. A key with no object left is no failure."""
    for key in keys:
        try:
            await storage.delete(key)
        except (StorageError, ValueError) as exc:
            _log.warning("could not delete stored object %s: %s", key, exc)


def make_storage(settings: Settings) -> Storage:
    """S3 (R2) when a bucket is configured, otherwise files under ``data_dir/storage``."""
    if settings.s3_bucket:
        from spikeland.integrations.storage.s3 import S3Storage

        return S3Storage(settings)
    from spikeland.integrations.storage.local import LocalStorage

    return LocalStorage(settings.data_dir / "storage")


__all__ = [
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "check_key",
    "enhanced_key",
    "make_storage",
    "original_key",
    "remove_objects",
]
