"""Albums: the three defaults every user gets, CRUD, who may read one, share links, the album's images
(add, remove, reorder, cover), uploads into an album and album batch enhancement; the public gallery.

Who reads an album: its owner always; anyone when it is PUBLIC; an UNLISTED album only through its
share token (by id it is 404 to everyone but the owner — the original let anyone read it by id).
UNLISTED and PUBLIC albums always hold a share token; making an album PRIVATE revokes it, and making
it UNLISTED or PUBLIC again draws a new one (so that is how a leaked link is replaced).

An album's images are ordered by ``sortOrder`` (ties by link id, i.e. by when they were added); an
album holds at most ``MAX_ALBUM_IMAGES`` images, so its whole list is one page and one reorder.
Writes that change an album's images lock the album row first, so appends and reorders of one album
run one after the other and the "max + 1" positions they compute never collide.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    case,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.pagination import Desc, Page, keyset_page
from spikeland.db.cuid import cuid
from spikeland.db.enums import EnhancementTier
from spikeland.db.integrity import violated_constraint
from spikeland.gallery.models import Album, AlbumImage, AlbumPrivacy
from spikeland.gallery.schemas import MAX_ALBUM_IMAGES, AlbumCreate
from spikeland.images import jobs, pipelines
from spikeland.images import service as images
from spikeland.images.files import Upload
from spikeland.images.service import ImageNotFound, ImageView, ShareNotFound
from spikeland.integrations.storage import Storage
from spikeland.tokens.costs import enhancement_cost
from spikeland.tokens.service import InsufficientTokens

# The original made "Private Gallery" and "Public Gallery"; the spec promises one per privacy level.
DEFAULT_ALBUMS = (
    ("Private Gallery", AlbumPrivacy.PRIVATE, "My private photos"),
    ("Unlisted Gallery", AlbumPrivacy.UNLISTED, "Shared with whoever has the link"),
    ("Public Gallery", AlbumPrivacy.PUBLIC, "My public enhancements"),
)
MAX_ENHANCE = 100  # images per album batch enhancement
SHARE_TOKEN_BYTES = 12  # secrets.token_urlsafe(12): 16 characters, 96 random bits
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME_INDEX = "albums_userId_name_privacy_key"
_LINK_INDEX = "album_images_albumId_imageId_key"


class AlbumNotFound(NotFound):
    code = "album_not_found"

    def __init__(self) -> None:
        super().__init__("No such album.")


class AlbumExists(Conflict):
    code = "album_exists"

    def __init__(self) -> None:
        super().__init__("You already have an album with this name and privacy.")


class ImageInAlbum(Conflict):
    code = "image_in_album"


@dataclass(frozen=True)
class AlbumView:
    album: Album
    image_count: int
    cover_image_id: str | None  # the cover, while it is still one of the album's images


@dataclass(frozen=True)
class AlbumItem:
    """One image of an album, with its place in the album."""

    view: ImageView
    sort_order: int
    added_at: datetime


# ----------------------------------------------------------------------------- reading albums


def with_counts() -> Select[Any]:
    count = select(func.count()).where(AlbumImage.album_id == Album.id).correlate(Album).scalar_subquery()
    cover = (
        select(AlbumImage.image_id)
        .where(AlbumImage.album_id == Album.id, AlbumImage.image_id == Album.cover_image_id)
        .correlate(Album)
        .scalar_subquery()
    )
    return select(Album, count.label("image_count"), cover.label("cover"))


def _album_view(row: Row[Any]) -> AlbumView:
    return AlbumView(row[0], row.image_count, row.cover)


async def _find(session: AsyncSession, *where: ColumnElement[bool]) -> AlbumView | None:
    statement = with_counts().where(*where).execution_options(populate_existing=True)
    row = (await session.execute(statement)).first()
    return _album_view(row) if row is not None else None


async def _owned(session: AsyncSession, user_id: str, album_id: str, *, lock: bool = False) -> Album:
    statement = select(Album).where(Album.id == album_id, Album.user_id == user_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    album = (await session.scalars(statement)).one_or_none()
    if album is None:
        raise AlbumNotFound()
    return album


def _readable(album: Album, viewer_id: str | None) -> bool:
    return album.privacy == AlbumPrivacy.PUBLIC or (viewer_id is not None and album.user_id == viewer_id)


async def read_album(session: AsyncSession, album_id: str, viewer_id: str | None) -> AlbumView:
    """The album for its owner, or anyone when PUBLIC (``viewer_id`` None: signed out); else 404."""
    view = await _find(session, Album.id == album_id)
    if view is None or not _readable(view.album, viewer_id):
        raise AlbumNotFound()
    return view


async def _readable_album(session: AsyncSession, album_id: str, viewer_id: str | None) -> Album:
    album = await session.get(Album, album_id)
    if album is None or not _readable(album, viewer_id):
        raise AlbumNotFound()
    return album


async def public_albums(
    session: AsyncSession, *, limit: int = 50, cursor: str | None = None
) -> Page[AlbumView]:
    """PUBLIC albums that hold at least one image, newest first, keyset-paginated on (createdAt, id).

    Empty ones are left out: every user has an empty default "Public Gallery" until they fill it.
    """
    has_images = exists().where(AlbumImage.album_id == Album.id)
    statement = with_counts().where(Album.privacy == AlbumPrivacy.PUBLIC, has_images)
    order = (Desc(Album.created_at), Desc(Album.id))
    page = await keyset_page(session, statement, order, limit=limit, cursor=cursor, rows=True)
    return Page([_album_view(row) for row in page.items], page.next_cursor)


# ----------------------------------------------------------------------------- writing albums


def _new_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


async def _save(session: AsyncSession, album: Album, apply: Callable[[], None] | None = None) -> None:
    """Flush the album; the unique (userId, name, privacy) index turns a duplicate into 409.

    ``apply`` makes the album's changes inside the savepoint: ``begin_nested()`` first flushes
    what is pending, so a duplicate set before it would fail outside the savepoint and leave the
    caller's transaction unusable (a request rolls back anyway; a service caller would not)."""
    try:
        async with session.begin_nested():
            if apply is not None:
                apply()
            session.add(album)
            await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == _NAME_INDEX:
            raise AlbumExists() from None
        raise


async def create_default_albums(session: AsyncSession, user_id: str) -> None:
    """The user's three default albums, one per privacy level (kept as they are when they exist)."""
    now = utcnow()
    rows = [
        {
            "id": cuid(),
            "user_id": user_id,
            "name": name,
            "description": description,
            "privacy": privacy,
            "default_tier": EnhancementTier.TIER_1K,
            "share_token": None if privacy == AlbumPrivacy.PRIVATE else _new_token(),
            "sort_order": position,
            "updated_at": now,
        }
        for position, (name, privacy, description) in enumerate(DEFAULT_ALBUMS)
    ]
    statement = (
        insert(Album)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Album.user_id, Album.name, Album.privacy])
    )
    await session.execute(statement)


async def _check_pipeline(session: AsyncSession, user_id: str, pipeline_id: str) -> None:
    # The owner must be able to run the pipeline: their own, a system or PUBLIC one (else 404).
    await pipelines.get_pipeline(session, pipeline_id, user_id)


async def create_album(session: AsyncSession, user_id: str, data: AlbumCreate) -> AlbumView:
    """A new album, placed after the user's others unless ``sortOrder`` is given.

    One INSERT: the place computed in it, and a duplicate (the unique (userId, name, privacy)
    index) answered by ON CONFLICT DO NOTHING, so 409 without a savepoint. Under load a write's
    latency is its round trips times the event loop's turn (benchmarks/README.md, mixed.py): this
    was six (the max, SAVEPOINT, INSERT, RELEASE, the re-read with counts) and is one."""
    if data.pipeline_id is not None:
        await _check_pipeline(session, user_id, data.pipeline_id)
    sort_order: Any = data.sort_order
    if sort_order is None:
        last = select(func.max(Album.sort_order)).where(Album.user_id == user_id).scalar_subquery()
        sort_order = func.coalesce(last + 1, 0)
    statement = (
        insert(Album)
        .values(
            id=cuid(),
            user_id=user_id,
            name=data.name,
            description=data.description,
            privacy=data.privacy,
            default_tier=data.default_tier,
            pipeline_id=data.pipeline_id,
            sort_order=sort_order,
            share_token=None if data.privacy == AlbumPrivacy.PRIVATE else _new_token(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[Album.user_id, Album.name, Album.privacy])
        .returning(Album)
    )
    album = (await session.scalars(statement)).one_or_none()
    if album is None:
        raise AlbumExists()
    return AlbumView(album, 0, None)  # a new album: no images, so no cover yet


def _set_privacy(album: Album, privacy: AlbumPrivacy) -> None:
    album.privacy = privacy
    if privacy == AlbumPrivacy.PRIVATE:
        album.share_token = None
    elif album.share_token is None:
        album.share_token = _new_token()


async def update_album(
    session: AsyncSession, user_id: str, album_id: str, changes: dict[str, Any]
) -> AlbumView:
    """Apply the fields present in ``changes`` (AlbumUpdate's names); see AlbumUpdate for nulls."""
    album = await _owned(session, user_id, album_id, lock=True)
    # Every check's query runs before the album changes: a query autoflushes the session, and a
    # flushed duplicate name would raise outside _save's guard (a 500 instead of the 409).
    pipeline_id = changes.get("pipeline_id")
    if pipeline_id is not None and pipeline_id != album.pipeline_id:
        await _check_pipeline(session, user_id, pipeline_id)
    cover = changes.get("cover_image_id")
    if cover is not None:
        await _require_in_album(session, album, [cover])

    def apply() -> None:
        for field in ("name", "description", "default_tier", "sort_order", "pipeline_id", "cover_image_id"):
            if field in changes:
                setattr(album, field, changes[field])
        if "privacy" in changes:
            _set_privacy(album, changes["privacy"])

    await _save(session, album, apply)
    view = await _find(session, Album.id == album.id)
    assert view is not None
    return view


async def delete_album(session: AsyncSession, user_id: str, album_id: str) -> None:
    """Delete the album; its images stay (only their links to it go, by the foreign key's cascade)."""
    deleted = await session.scalar(
        delete(Album)
        .where(Album.id == album_id, Album.user_id == user_id)
        .returning(Album.id)
        .execution_options(synchronize_session=False)
    )
    if deleted is None:
        raise AlbumNotFound()


async def share_album(session: AsyncSession, user_id: str, album_id: str) -> str:
    """The album's share token (drawn when missing); a PRIVATE album has none (409)."""
    album = await _owned(session, user_id, album_id, lock=True)
    if album.privacy == AlbumPrivacy.PRIVATE:
        raise Conflict(
            "A private album has no share link; make it UNLISTED or PUBLIC first.", code="album_private"
        )
    if album.share_token is None:
        album.share_token = _new_token()
        await session.flush()
    return album.share_token


async def shared_album(session: AsyncSession, token: str) -> AlbumView:
    """The UNLISTED or PUBLIC album this token opens; 404 ``share_not_found`` otherwise."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ShareNotFound()
    view = await _find(session, Album.share_token == token, Album.privacy != AlbumPrivacy.PRIVATE)
    if view is None:
        raise ShareNotFound()
    return view


async def pipeline_in_use(session: AsyncSession, pipeline_id: str) -> bool:
    """Does any album use this pipeline as its default?"""
    return bool(await session.scalar(select(exists().where(Album.pipeline_id == pipeline_id))))


# ----------------------------------------------------------------------------- an album's images


async def album_items(session: AsyncSession, album: Album) -> list[AlbumItem]:
    """All the album's images in the album's order, each with its latest enhancement."""
    links = (
        await session.execute(
            select(AlbumImage.image_id, AlbumImage.sort_order, AlbumImage.added_at)
            .where(AlbumImage.album_id == album.id)
            .order_by(AlbumImage.sort_order, AlbumImage.id)
            .limit(MAX_ALBUM_IMAGES)
        )
    ).all()
    views = await images.views_of(session, [link.image_id for link in links], owner_id=album.user_id)
    return [
        AlbumItem(views[link.image_id], link.sort_order, link.added_at)
        for link in links
        if link.image_id in views
    ]


async def readable_items(
    session: AsyncSession, album_id: str, viewer_id: str | None
) -> tuple[Album, list[AlbumItem]]:
    album = await _readable_album(session, album_id, viewer_id)
    return album, await album_items(session, album)


async def _image_in(session: AsyncSession, album: Album, image_id: str) -> ImageView:
    linked = await session.scalar(
        select(exists().where(AlbumImage.album_id == album.id, AlbumImage.image_id == image_id))
    )
    view = (await images.views_of(session, [image_id], owner_id=album.user_id)).get(image_id)
    if not linked or view is None:
        raise ImageNotFound()
    return view


async def readable_image(
    session: AsyncSession, album_id: str, image_id: str, viewer_id: str | None
) -> ImageView:
    """An image of an album the viewer may read (owner, or PUBLIC album); else 404."""
    return await _image_in(session, await _readable_album(session, album_id, viewer_id), image_id)


async def shared_image(session: AsyncSession, token: str, image_id: str) -> ImageView:
    """An image of the album this share token opens; else 404."""
    return await _image_in(session, (await shared_album(session, token)).album, image_id)


async def _linked_ids(session: AsyncSession, album: Album) -> list[str]:
    ids = await session.scalars(
        select(AlbumImage.image_id)
        .where(AlbumImage.album_id == album.id)
        .order_by(AlbumImage.sort_order, AlbumImage.id)
    )
    return list(ids)


async def _require_in_album(session: AsyncSession, album: Album, image_ids: Sequence[str]) -> None:
    """404 when one of the ids is no image of the owner's, 422 when one is theirs but not in the album."""
    outside = sorted(set(image_ids) - set(await _linked_ids(session, album)))
    if not outside:
        return
    owned = await images.views_of(session, outside, owner_id=album.user_id)
    if len(owned) < len(outside):
        raise ImageNotFound()
    raise ValidationFailed(
        "These images are not in the album.", code="image_not_in_album", details={"imageIds": outside}
    )


async def _append(
    session: AsyncSession, album: Album, image_ids: Sequence[str]
) -> Sequence[Row[str, int, datetime]]:
    """Link the images at the end of the album (the album row is locked by the caller)."""
    count, last = (
        await session.execute(
            select(func.count(), func.max(AlbumImage.sort_order)).where(AlbumImage.album_id == album.id)
        )
    ).one()
    if count + len(image_ids) > MAX_ALBUM_IMAGES:
        raise ValidationFailed(
            f"An album holds at most {MAX_ALBUM_IMAGES} images.",
            code="album_full",
            details={"count": count, "adding": len(image_ids)},
        )
    start = 0 if last is None else last + 1
    rows = [
        {"id": cuid(), "album_id": album.id, "image_id": image_id, "sort_order": start + offset}
        for offset, image_id in enumerate(image_ids)
    ]
    statement = (
        insert(AlbumImage)
        .values(rows)
        .returning(AlbumImage.image_id, AlbumImage.sort_order, AlbumImage.added_at)
    )
    try:
        async with session.begin_nested():
            return (await session.execute(statement)).all()
    except IntegrityError as exc:
        if violated_constraint(exc) == _LINK_INDEX:
            raise ImageInAlbum("An image is already in this album.") from None
        raise


async def add_images(
    session: AsyncSession, user_id: str, album_id: str, image_ids: Sequence[str]
) -> list[AlbumItem]:
    """Add the user's images at the end of the album, in the given order; all or none.

    Another user's (or no) image → 404; an image already in the album → 409 ``image_in_album``.
    """
    if len(set(image_ids)) != len(image_ids):
        raise ValidationFailed("An image appears twice in the list.", code="duplicate_image")
    album = await _owned(session, user_id, album_id, lock=True)
    views = await images.views_of(session, image_ids, owner_id=user_id)
    if len(views) < len(image_ids):
        raise ImageNotFound()
    present = set(await _linked_ids(session, album)) & set(image_ids)
    if present:
        raise ImageInAlbum("These images are already in the album.", details={"imageIds": sorted(present)})
    added = await _append(session, album, image_ids)
    return [AlbumItem(views[row.image_id], row.sort_order, row.added_at) for row in added]


async def remove_image(session: AsyncSession, user_id: str, album_id: str, image_id: str) -> None:
    """Take the image out of the album (the image itself stays); it stops being the cover."""
    album = await _owned(session, user_id, album_id, lock=True)
    removed = await session.scalar(
        delete(AlbumImage)
        .where(AlbumImage.album_id == album.id, AlbumImage.image_id == image_id)
        .returning(AlbumImage.id)
        .execution_options(synchronize_session=False)
    )
    if removed is None:
        raise ImageNotFound()
    if album.cover_image_id == image_id:
        album.cover_image_id = None
        await session.flush()


async def reorder(
    session: AsyncSession, user_id: str, album_id: str, image_ids: Sequence[str]
) -> list[AlbumItem]:
    """Set the album's order: ``image_ids`` must be exactly its images, each once (422 otherwise;
    404 for an id that is no image of the user's)."""
    if len(set(image_ids)) != len(image_ids):
        raise ValidationFailed("An image appears twice in the order.", code="invalid_order")
    album = await _owned(session, user_id, album_id, lock=True)
    await _require_in_album(session, album, image_ids)
    missing = sorted(set(await _linked_ids(session, album)) - set(image_ids))
    if missing:
        raise ValidationFailed(
            "The order must list every image of the album.",
            code="invalid_order",
            details={"missing": missing},
        )
    if image_ids:
        position = case(
            {image_id: index for index, image_id in enumerate(image_ids)}, value=AlbumImage.image_id
        )
        await session.execute(
            update(AlbumImage)
            .where(AlbumImage.album_id == album.id)
            .values(sort_order=position)
            .execution_options(synchronize_session=False)
        )
    return await album_items(session, album)


# ----------------------------------------------------------------------------- uploads and enhancement


async def upload_to_album(
    session: AsyncSession, storage: Storage, user_id: str, album_id: str, upload: Upload, *, public_url: str
) -> tuple[ImageView, jobs.Queued]:
    """Store the upload as a new image, add it to the album and queue its enhancement at the album's
    tier with the album's pipeline — all in the caller's transaction. When anything fails after the
    file was stored (a short balance: 402), the file is removed again; the rows roll back with the
    transaction."""
    album = await _owned(session, user_id, album_id, lock=True)
    view = await images.create_image(session, storage, user_id, upload, public_url=public_url)
    try:
        await _append(session, album, [view.image.id])
        queued = await jobs.enhance(
            session, user_id, jobs.Request(view.image.id, album.default_tier, album.pipeline_id)
        )
    except BaseException:
        await images.remove_files(storage, [view.image.original_r2_key])
        raise
    return view, queued


async def enhance_album(
    session: AsyncSession,
    user_id: str,
    album_id: str,
    tier: EnhancementTier | None = None,
    *,
    idempotency_key: str | None = None,
) -> list[jobs.Queued]:
    """One paid job per image of the album, at ``tier`` (default: the album's) with the album's
    pipeline; all or none — a short balance (402) refuses the whole album. With an Idempotency-Key,
    a repeat returns the jobs the first request made (each image's spend is keyed by it)."""
    album = await _owned(session, user_id, album_id)
    image_ids = await _linked_ids(session, album)
    if not image_ids:
        raise ValidationFailed("The album has no images.", code="album_empty")
    if len(image_ids) > MAX_ENHANCE:
        raise ValidationFailed(
            f"An album batch enhances at most {MAX_ENHANCE} images.",
            code="album_too_large",
            details={"count": len(image_ids), "max": MAX_ENHANCE},
        )
    if tier is None:
        tier = album.default_tier
    queued: list[jobs.Queued] = []
    for image_id in image_ids:
        key = f"album:{album.id}:{idempotency_key}:{image_id}" if idempotency_key else None
        request = jobs.Request(image_id, tier, album.pipeline_id)
        try:
            queued.append(await jobs.enhance(session, user_id, request, idempotency_key=key))
        except InsufficientTokens as exc:
            # Report the whole album's cost against the balance before this batch paid anything.
            spent = sum(q.job.tokens_cost for q in queued if q.created)
            raise InsufficientTokens(enhancement_cost(tier) * len(image_ids), exc.available + spent) from None
    return queued
