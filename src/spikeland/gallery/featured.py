"""The featured gallery: the admin's curation (create from a finished job or from URLs, update,
delete, reorder) and the public listing, cached in process.

Display order is ``sortOrder`` ascending, then newest first (``createdAt``, ``id`` descending),
as the original listed it. A new item without a ``sortOrder`` goes after every existing one.

Admin changes are not written to ``audit_logs``: the specified ``AuditAction`` enumeration has no
value for them (and its labels are fixed by the specification); they are logged instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from math import gcd

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.http_cache import VersionedCache
from spikeland.core.pagination import Asc, Desc, Page, keyset_page, ordering
from spikeland.db.cuid import cuid
from spikeland.db.enums import JobStatus
from spikeland.db.session import RequestDb
from spikeland.gallery.featured_schemas import (
    MAX_ASPECT,
    FeaturedGallery,
    FeaturedItemCreate,
    FeaturedItemPublic,
    FeaturedItemUpdate,
)
from spikeland.gallery.models import FeaturedGalleryItem, GalleryCategory
from spikeland.identity.models import User
from spikeland.images import jobs
from spikeland.images.models import ImageEnhancementJob

_log = logging.getLogger(__name__)

Item = FeaturedGalleryItem
DEFAULT_ASPECT = (16, 9)
MAX_PUBLIC = 500  # a curated showcase; the public listing is one cached answer, so it is bounded
CACHE_SECONDS = 60


class FeaturedItemNotFound(NotFound):
    code = "featured_item_not_found"

    def __init__(self) -> None:
        super().__init__("No such featured gallery item.")


# The gallery's display order: the admins' order, then newest first.
DISPLAY_ORDER = (Asc(Item.sort_order), Desc(Item.created_at), Desc(Item.id))


def _display_order(statement: Select[Item]) -> Select[Item]:
    return statement.order_by(*ordering(DISPLAY_ORDER))


def aspect_ratio(width: int, height: int, limit: int = MAX_ASPECT) -> tuple[int, int]:
    """``width:height`` in terms of 1..``limit``: the reduced ratio when it fits (1920x1080 → 16:9),
    else the nearest ratio whose terms fit, smallest terms first on a tie (1024x683 → 3:2)."""
    divisor = gcd(width, height)
    if width // divisor <= limit and height // divisor <= limit:
        return width // divisor, height // divisor
    target = Fraction(width, height)
    best: tuple[Fraction, int, int] | None = None
    for q in range(1, limit + 1):
        p = round(target * q)
        if 1 <= p <= limit and (best is None or abs(Fraction(p, q) - target) < best[0]):
            best = (abs(Fraction(p, q) - target), p, q)
    if best is None:  # more extreme than limit:1 either way
        return (limit, 1) if width > height else (1, limit)
    _, p, q = best
    return p // gcd(p, q), q // gcd(p, q)


@dataclass(frozen=True)
class _Source:
    original_url: str
    enhanced_url: str
    source_image_id: str | None
    source_job_id: str | None
    aspect: tuple[int, int]


def file_url(public_url: str, item_id: str, which: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/gallery/featured/{item_id}/{which}"


async def _from_job(session: AsyncSession, job_id: str) -> _Source:
    """URLs, image and aspect ratio of a COMPLETED job (422 when unknown, 409 when not finished)."""
    # Any user's job: the images service only offers owner-scoped reads, so the row is read here.
    job = await session.get(ImageEnhancementJob, job_id)
    if job is None:
        raise ValidationFailed("No such enhancement job.", code="unknown_source_job")
    if job.status != JobStatus.COMPLETED or job.enhanced_url is None:
        raise Conflict(
            f"Only a completed job can be featured; this one is {job.status.value}.",
            code="job_not_completed",
            details={"status": job.status.value},
        )
    image = await jobs.image_of(session, job)
    width = job.enhanced_width or image.original_width
    height = job.enhanced_height or image.original_height
    return _Source(
        original_url=image.original_url,
        enhanced_url=job.enhanced_url,
        source_image_id=image.id,
        source_job_id=job.id,
        aspect=aspect_ratio(width, height) if width > 0 and height > 0 else DEFAULT_ASPECT,
    )


async def _next_sort_order(session: AsyncSession) -> int:
    highest = await session.scalar(select(func.max(Item.sort_order)))
    return 0 if highest is None else highest + 1


async def create_item(
    session: AsyncSession, actor: User, data: FeaturedItemCreate, *, public_url: str
) -> Item:
    """A new item. From a job, its URLs are this gallery's public file routes: the job's own
    (``/jobs/{id}/download``, ``/images/{id}/original``) answer only the job's owner."""
    item_id = cuid()
    if data.source_job_id is not None:
        source = await _from_job(session, data.source_job_id)
        source = replace(
            source,
            original_url=file_url(public_url, item_id, "original"),
            enhanced_url=file_url(public_url, item_id, "enhanced"),
        )
    else:
        assert data.original_url is not None and data.enhanced_url is not None  # the schema's rule
        source = _Source(data.original_url, data.enhanced_url, None, None, DEFAULT_ASPECT)
    width, height = (data.width, data.height) if data.width and data.height else source.aspect
    item = Item(
        id=item_id,
        title=data.title,
        description=data.description,
        category=data.category,
        original_url=source.original_url,
        enhanced_url=source.enhanced_url,
        width=width,
        height=height,
        source_image_id=source.source_image_id,
        source_job_id=source.source_job_id,
        sort_order=data.sort_order if data.sort_order is not None else await _next_sort_order(session),
        is_active=data.is_active,
        created_by=actor.id,
    )
    session.add(item)
    await session.flush()
    await session.refresh(item)  # the stored timestamps (milliseconds), not Python's microseconds
    _log.info("featured item %s created by %s (job %s)", item.id, actor.id, item.source_job_id)
    return item


async def public_file_key(session: AsyncSession, item_id: str, which: str) -> str:
    """The stored file behind an active item made from a job: its original or its enhanced image.
    404 for an inactive item, an item with outside URLs, or a source since deleted."""
    item = await session.get(Item, item_id)
    if item is None or not item.is_active or item.source_job_id is None:
        raise FeaturedItemNotFound()
    job = await session.get(ImageEnhancementJob, item.source_job_id)
    if job is None:
        raise FeaturedItemNotFound()
    if which == "enhanced":
        key = job.enhanced_r2_key
    else:
        image = await jobs.image_of(session, job)
        key = image.original_r2_key
    if key is None:
        raise FeaturedItemNotFound()
    return key


async def get_item(session: AsyncSession, item_id: str, *, lock: bool = False) -> Item:
    statement = select(Item).where(Item.id == item_id).execution_options(populate_existing=True)
    if lock:
        statement = statement.with_for_update()
    item = (await session.scalars(statement)).one_or_none()
    if item is None:
        raise FeaturedItemNotFound()
    return item


async def update_item(session: AsyncSession, actor: User, item_id: str, data: FeaturedItemUpdate) -> Item:
    item = await get_item(session, item_id, lock=True)
    changed = sorted(data.model_fields_set)
    for name in changed:
        setattr(item, name, getattr(data, name))
    await session.flush()
    await session.refresh(item)
    _log.info("featured item %s updated by %s: %s", item.id, actor.id, ", ".join(changed))
    return item


async def delete_item(session: AsyncSession, actor: User, item_id: str) -> None:
    removed = await session.scalar(delete(Item).where(Item.id == item_id).returning(Item.id))
    if removed is None:
        raise FeaturedItemNotFound()
    _log.info("featured item %s deleted by %s", item_id, actor.id)


async def reorder(session: AsyncSession, actor: User, item_ids: list[str]) -> list[Item]:
    """Give the listed items sortOrder 0..n-1 in the order given; other items keep theirs.

    All or nothing: an unknown id refuses the whole list (422) before anything changes.
    """
    statement = select(Item.id).where(Item.id.in_(item_ids)).with_for_update()
    found = set((await session.scalars(statement)).all())
    missing = [item_id for item_id in item_ids if item_id not in found]
    if missing:
        raise ValidationFailed(
            "Some items do not exist.", code="unknown_featured_items", details={"itemIds": missing}
        )
    positions = {item_id: position for position, item_id in enumerate(item_ids)}
    await session.execute(
        update(Item)
        .where(Item.id.in_(item_ids))
        .values(sort_order=case(positions, value=Item.id), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        _display_order(select(Item).where(Item.id.in_(item_ids))).execution_options(populate_existing=True)
    )
    _log.info("featured items reordered by %s: %d items", actor.id, len(item_ids))
    return list(rows)


# ----------------------------------------------------------------------------- admin listing


async def list_items(
    session: AsyncSession,
    *,
    category: GalleryCategory | None = None,
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Item]:
    """Every item (inactive ones too), in display order, keyset-paginated along that order."""
    statement = select(Item)
    if category is not None:
        statement = statement.where(Item.category == category)
    if active is not None:
        statement = statement.where(Item.is_active == active)
    return await keyset_page(session, statement, DISPLAY_ORDER, limit=limit, cursor=cursor)


# ----------------------------------------------------------------------------- public listing


class FeaturedCache(VersionedCache[str, FeaturedGallery]):
    """The public listing per category (``core.http_cache.VersionedCache``): an admin change shows
    at once in this process, in others after at most ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl, clock)


async def public_gallery(
    db: RequestDb, cache: FeaturedCache, category: GalleryCategory | None
) -> FeaturedGallery:
    """Active items in display order (of one category, or all), from the cache when it holds them."""
    key = category.value if category is not None else "*"
    cached = cache.get(key)
    if cached is not None:
        return cached
    version = cache.version  # noted before the query: see FeaturedCache
    session = await db.session()  # only on a miss: a hit costs the request no connection
    statement = select(Item).where(Item.is_active)  # indexable, unlike IS TRUE
    if category is not None:
        statement = statement.where(Item.category == category)
    rows = await session.scalars(_display_order(statement).limit(MAX_PUBLIC))
    gallery = FeaturedGallery(items=[FeaturedItemPublic.model_validate(row) for row in rows])
    cache.put(key, version, gallery)
    return gallery
