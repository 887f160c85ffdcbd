"""Uploaded images: creating one (file first, then its row), reading with access checks, listing,
editing, sharing by token and deleting.

Reads that return an image also carry its latest COMPLETED enhancement, joined in the same query
(a LATERAL subquery on the ``imageId`` index), so a page of images costs one statement.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row, Select, delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from spikeland.core.errors import NotFound, ServiceUnavailable
from spikeland.db.cuid import cuid
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.images.files import Upload
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.integrations.storage import (
    ObjectNotFound,
    Storage,
    StorageError,
    original_key,
    remove_objects,
)
from spikeland.tokens import service as tokens

_log = logging.getLogger(__name__)

# secrets.token_urlsafe(12): 16 characters, 96 random bits.
SHARE_TOKEN_BYTES = 12
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTENT_TYPES = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class ImageNotFound(NotFound):
    code = "image_not_found"

    def __init__(self) -> None:
        super().__init__("No such image.")


class ShareNotFound(NotFound):
    code = "share_not_found"

    def __init__(self) -> None:
        super().__init__("This share link does not exist or was revoked.")


class FileNotFound(NotFound):
    code = "file_not_found"

    def __init__(self) -> None:
        super().__init__("The file of this image is missing.")


def storage_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The file store is not available; try again later.", code="storage_unavailable")


@dataclass(frozen=True)
class Enhancement:
    """The latest COMPLETED enhancement job of an image."""

    job_id: str
    url: str | None
    key: str | None
    width: int | None
    height: int | None
    tier: EnhancementTier


@dataclass(frozen=True)
class ImageView:
    image: EnhancedImage
    enhancement: Enhancement | None


@dataclass(frozen=True)
class SharedImage:
    """What an image share token opens (album tokens are resolved by the gallery's service)."""

    image: EnhancedImage
    enhancement: Enhancement | None
    kind: Literal["image"] = "image"


Shared = SharedImage


# ----------------------------------------------------------------------------- reading


@functools.cache  # a statement is immutable: the lateral is built once, each read extends it
def with_latest() -> Select[Any]:
    job = ImageEnhancementJob
    latest = (
        select(
            job.id.label("job_id"),
            job.enhanced_url.label("url"),
            job.enhanced_r2_key.label("key"),
            job.enhanced_width.label("width"),
            job.enhanced_height.label("height"),
            job.tier.label("tier"),
        )
        .where(job.image_id == EnhancedImage.id, job.status == JobStatus.COMPLETED)
        .order_by(job.created_at.desc(), job.id.desc())
        .limit(1)
        .lateral("latest")
    )
    return select(EnhancedImage, latest).outerjoin(latest, true())


def _view(row: Row[Any]) -> ImageView:
    enhancement = None
    if row.job_id is not None:
        enhancement = Enhancement(
            job_id=row.job_id, url=row.url, key=row.key, width=row.width, height=row.height, tier=row.tier
        )
    return ImageView(row[0], enhancement)


async def _one_view(session: AsyncSession, *where: Any) -> ImageView | None:
    row = (await session.execute(with_latest().where(*where))).first()
    return _view(row) if row is not None else None


async def get_owned_image(session: AsyncSession, user_id: str, image_id: str) -> EnhancedImage:
    """The user's image; 404 ``image_not_found`` when it does not exist or belongs to someone else."""
    image = await session.scalar(
        select(EnhancedImage).where(EnhancedImage.id == image_id, EnhancedImage.user_id == user_id)
    )
    if image is None:
        raise ImageNotFound()
    return image


@dataclass(frozen=True)
class PrintSource:
    """The version of a user's image a print is made from: the original, or an enhancement."""

    image_id: str
    job_id: str | None  # None: the original
    width: int
    height: int
    key: str
    url: str


async def best_version(session: AsyncSession, user_id: str, image_id: str) -> PrintSource:
    """The user's image at its most pixels: the original or its largest COMPLETED enhancement (the
    newest on a tie); 404 ``image_not_found`` for someone else's."""
    image = await get_owned_image(session, user_id, image_id)
    job = ImageEnhancementJob
    largest = await session.scalar(
        select(job)
        .where(
            job.image_id == image.id,
            job.status == JobStatus.COMPLETED,
            job.enhanced_width.is_not(None),
            job.enhanced_height.is_not(None),
            job.enhanced_r2_key.is_not(None),
            job.enhanced_url.is_not(None),
        )
        .order_by((job.enhanced_width * job.enhanced_height).desc(), job.created_at.desc(), job.id.desc())
        .limit(1)
    )
    original = PrintSource(
        image.id, None, image.original_width, image.original_height, image.original_r2_key, image.original_url
    )
    if largest is None:
        return original
    assert (
        largest.enhanced_width
        and largest.enhanced_height
        and largest.enhanced_r2_key
        and largest.enhanced_url
    )
    if largest.enhanced_width * largest.enhanced_height <= image.original_width * image.original_height:
        return original
    return PrintSource(
        image.id,
        largest.id,
        largest.enhanced_width,
        largest.enhanced_height,
        largest.enhanced_r2_key,
        largest.enhanced_url,
    )


def _readable(image: EnhancedImage, user_id: str | None) -> bool:
    return image.is_public or (user_id is not None and image.user_id == user_id)


async def image_readable_by(session: AsyncSession, image_id: str, user_id: str | None) -> EnhancedImage:
    """The image when ``user_id`` owns it or it is public (``None``: a signed-out visitor); else 404."""
    image = await session.get(EnhancedImage, image_id)
    if image is None or not _readable(image, user_id):
        raise ImageNotFound()
    return image


async def count_view(session: AsyncSession, image: EnhancedImage) -> None:
    """One more view, atomically; ``updatedAt`` stays (a view is not an edit)."""
    count = await session.scalar(
        update(EnhancedImage)
        .where(EnhancedImage.id == image.id)
        .values(view_count=EnhancedImage.view_count + 1, updated_at=EnhancedImage.updated_at)
        .returning(EnhancedImage.view_count)
        .execution_options(synchronize_session=False)
    )
    if count is not None:
        # Not an attribute change: the ORM must not write it back.
        set_committed_value(image, "view_count", count)


async def views_of(
    session: AsyncSession, image_ids: Collection[str], *, owner_id: str | None = None
) -> dict[str, ImageView]:
    """The images among ``image_ids`` (only ``owner_id``'s, when given) with their latest
    enhancement, by id, in one statement; ids of no such image are left out."""
    if not image_ids:
        return {}
    statement = with_latest().where(EnhancedImage.id.in_(list(image_ids)))
    if owner_id is not None:
        statement = statement.where(EnhancedImage.user_id == owner_id)
    rows = (await session.execute(statement)).all()
    return {view.image.id: view for view in map(_view, rows)}


# ----------------------------------------------------------------------------- writing


def original_url(public_url: str, image_id: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/images/{image_id}/original"


async def create_image(
    session: AsyncSession, storage: Storage, user_id: str, upload: Upload, *, public_url: str
) -> ImageView:
    """Store the checked upload, then its row. A store that fails leaves no row (503); a row that
    fails removes the stored file again."""
    image_id = cuid()
    key = original_key(user_id, image_id, upload.ext)
    try:
        await storage.put(key, upload.data, upload.content_type)
    except StorageError as exc:
        _log.warning("storing upload %s failed: %s", key, exc)
        raise storage_unavailable() from exc
    statement = (
        insert(EnhancedImage)
        .values(
            id=image_id,
            user_id=user_id,
            name=upload.name,
            original_url=original_url(public_url, image_id),
            original_r2_key=key,
            original_width=upload.width,
            original_height=upload.height,
            original_size_bytes=upload.size,
            original_format=upload.format,
            is_public=False,
        )
        .returning(EnhancedImage)
    )
    try:
        image = (await session.scalars(statement)).one()
    except BaseException:
        await remove_objects(storage, [key])
        raise
    return ImageView(image, None)


_UNSET: Any = object()


async def update_image(
    session: AsyncSession,
    user_id: str,
    image_id: str,
    *,
    name: str | None = None,
    description: str | None = _UNSET,
    is_public: bool | None = None,
) -> ImageView:
    """Rename, describe (``None`` clears) or publish/unpublish one of the user's images."""
    image = await get_owned_image(session, user_id, image_id)
    if name is not None:
        image.name = name
    if description is not _UNSET:
        image.description = description
    if is_public is not None:
        image.is_public = is_public
    await session.flush()
    view = await _one_view(session, EnhancedImage.id == image.id)
    assert view is not None
    return view


async def delete_image(session: AsyncSession, user_id: str, image_id: str) -> list[str]:
    """Delete the image and its jobs; return the storage keys to remove once this commits.

    The jobs are deleted here rather than left to the cascade so that RETURNING hands back the
    output key of each as deleted — a job finishing meanwhile cannot slip its file past the list.
    """
    image = await get_owned_image(session, user_id, image_id)
    await _refund_unfinished(session, image)
    job_keys = await session.scalars(
        delete(ImageEnhancementJob)
        .where(ImageEnhancementJob.image_id == image.id)
        .returning(ImageEnhancementJob.enhanced_r2_key)
        .execution_options(synchronize_session=False)
    )
    keys = [image.original_r2_key, *(k for k in job_keys if k)]
    await session.execute(
        delete(EnhancedImage).where(EnhancedImage.id == image.id).execution_options(synchronize_session=False)
    )
    session.expunge(image)
    return keys


async def _refund_unfinished(session: AsyncSession, image: EnhancedImage) -> None:
    """Paid jobs of the image that have not ended are deleted with it: give their tokens back.

    Keyed by the job id like every job refund, so a worker ending the job at the same moment
    cannot refund it a second time; the job rows are locked first, in the worker's lock order.
    """
    unfinished = await session.execute(
        select(ImageEnhancementJob.id, ImageEnhancementJob.tokens_cost)
        .where(
            ImageEnhancementJob.image_id == image.id,
            ImageEnhancementJob.status.in_([JobStatus.PENDING, JobStatus.PROCESSING]),
            ImageEnhancementJob.tokens_cost > 0,
        )
        .order_by(ImageEnhancementJob.id)
        .with_for_update()
    )
    for job_id, cost in unfinished.all():
        await tokens.refund(
            session,
            image.user_id,
            cost,
            source="image_deleted",
            source_id=job_id,
            metadata={"jobId": job_id, "reason": "image deleted before the job ended"},
        )


async def user_file_keys(session: AsyncSession, user_id: str) -> list[str]:
    """The storage keys of the user's originals and enhancement results, for the user's deletion
    (identity's ``on_user_delete``; the rows then go by cascade): one statement per table.

    The deletion holds the user row's lock, so no image or job of theirs can be added meanwhile (an
    insert must share-lock the user it refers to). A job can still finish: its rows are locked
    here, so a worker completing one waits for the deletion and then finds the row gone, instead
    of writing a result key after it was read.
    """
    originals = await session.scalars(
        select(EnhancedImage.original_r2_key).where(EnhancedImage.user_id == user_id)
    )
    keys = list(originals.all())
    results = await session.scalars(
        select(ImageEnhancementJob.enhanced_r2_key)
        .where(ImageEnhancementJob.user_id == user_id)
        .order_by(ImageEnhancementJob.id)
        .with_for_update()
    )
    keys += [key for key in results.all() if key]
    return keys


async def remove_files(storage: Storage, keys: Sequence[str]) -> None:
    """Delete stored objects, logging (not raising) failures: run after the rows are gone."""
    await remove_objects(storage, keys)


# ----------------------------------------------------------------------------- sharing


def share_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/share/{token}"


async def share_image(session: AsyncSession, user_id: str, image_id: str) -> str:
    """The image's share token, made on first use. Two concurrent calls get the same token: only
    the update that still finds no token sets one, and both read back what was stored."""
    image = await get_owned_image(session, user_id, image_id)
    if image.share_token:
        return image.share_token
    await session.execute(
        update(EnhancedImage)
        .where(EnhancedImage.id == image.id, EnhancedImage.share_token.is_(None))
        .values(share_token=secrets.token_urlsafe(SHARE_TOKEN_BYTES))
        .execution_options(synchronize_session=False)
    )
    token = await session.scalar(select(EnhancedImage.share_token).where(EnhancedImage.id == image.id))
    if token is None:  # revoked or deleted between the two statements
        raise ImageNotFound()
    set_committed_value(image, "share_token", token)
    return token


async def revoke_share(session: AsyncSession, user_id: str, image_id: str) -> None:
    image = await get_owned_image(session, user_id, image_id)
    if image.share_token is not None:
        image.share_token = None
        await session.flush()


async def resolve_share(session: AsyncSession, token: str) -> Shared:
    """What a share token opens; 404 ``share_not_found`` for an unknown or revoked token."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ShareNotFound()
    view = await _one_view(session, EnhancedImage.share_token == token)
    if view is None:
        raise ShareNotFound()
    return SharedImage(view.image, view.enhancement)


# ----------------------------------------------------------------------------- files


def content_type_of(image: EnhancedImage) -> str:
    """From the stored format, or the key's extension for rows that name it differently."""
    return _CONTENT_TYPES.get(image.original_format.lower()) or content_type_of_key(image.original_r2_key)


def content_type_of_key(key: str) -> str:
    """From a stored object's extension (keys end in .jpg, .png or .webp)."""
    return _CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


async def read_file(storage: Storage, key: str | None) -> bytes:
    """A stored object's bytes; 404 ``file_not_found`` when missing, 503 when the store fails."""
    if not key:
        raise FileNotFound()
    try:
        return await storage.get(key)
    except (ObjectNotFound, ValueError):
        raise FileNotFound() from None
    except StorageError as exc:
        _log.warning("reading stored object %s failed: %s", key, exc)
        raise storage_unavailable() from exc
