"""The image reads of every visit (a user's images, the public gallery, one image), on the driver.

Each is a ``db.query`` statement (compiled once, run on the request's asyncpg connection) and
answers wire-ready payloads — dicts keyed by the ``ImageOut`` aliases, validated once by the
route's page or image model — rather than ORM entities mapped to views mapped to models (the
ORM's way cost ~0.3 M instructions per listed image; benchmarks/README.md, "Request path").
The ORM reads in ``images.service`` stay for the writes and the rarer reads.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import bindparam, true

from spikeland.core.pagination import Desc, Page
from spikeland.db.query import Connections, PagedQuery, Query
from spikeland.images.models import EnhancedImage
from spikeland.images.service import ImageNotFound, with_latest

_NEWEST = (Desc(EnhancedImage.created_at), Desc(EnhancedImage.id))
_OWN = PagedQuery(with_latest().where(EnhancedImage.user_id == bindparam("user_id")), _NEWEST)
_PUBLIC = PagedQuery(with_latest().where(EnhancedImage.is_public == true()), _NEWEST)
_ONE = Query(with_latest().where(EnhancedImage.id == bindparam("image_id")))
# A view is not an edit: updatedAt stays.
_COUNT_VIEW = 'UPDATE enhanced_images SET "viewCount" = "viewCount" + 1 WHERE id = $1 RETURNING "viewCount"'


def image_payload(row: asyncpg.Record, viewer_id: str | None) -> dict[str, Any]:
    """``ImageOut``'s fields (by alias) from a row of ``with_latest``, as ``viewer_id`` sees it:
    the share token is the owner's only. Built field by field from the record (no copy of the row)."""
    job_id = row["job_id"]
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "originalUrl": row["originalUrl"],
        "originalWidth": row["originalWidth"],
        "originalHeight": row["originalHeight"],
        "originalSizeBytes": row["originalSizeBytes"],
        "originalFormat": row["originalFormat"],
        "isPublic": row["isPublic"],
        "viewCount": row["viewCount"],
        "shareToken": row["shareToken"] if row["userId"] == viewer_id else None,
        "createdAt": row["createdAt"],
        "updatedAt": row["updatedAt"],
        "latestEnhancement": None
        if job_id is None
        else {
            "jobId": job_id,
            "url": row["url"],
            "width": row["width"],
            "height": row["height"],
            "tier": row["tier"],
        },
    }


def _page(page: Page[asyncpg.Record], viewer_id: str | None) -> dict[str, Any]:
    return {"items": [image_payload(row, viewer_id) for row in page.items], "nextCursor": page.next_cursor}


async def list_images(db: Connections, user_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The user's images, newest first (an ``ImagePage`` payload)."""
    return _page(await _OWN.page(await db.reader(), limit=limit, cursor=cursor, user_id=user_id), user_id)


async def list_public_images(db: Connections, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Everyone's public images, newest first (an ``ImagePage`` payload, as a signed-out visitor sees it)."""
    return _page(await _PUBLIC.page(await db.reader(), limit=limit, cursor=cursor), None)


async def read_image(db: Connections, image_id: str, viewer_id: str | None) -> dict[str, Any]:
    """The image (an ``ImageOut`` payload) for its owner or, when public, anyone; 404 otherwise.

    Anyone but the owner reading it counts as a view (in the request's transaction)."""
    row = await _ONE.one_or_none(await db.reader(), image_id=image_id)
    if row is None or not (row["isPublic"] or row["userId"] == viewer_id):
        raise ImageNotFound()
    payload = image_payload(row, viewer_id)
    if row["userId"] != viewer_id:
        count = await (await db.driver()).fetchval(_COUNT_VIEW, image_id)
        if count is not None:
            payload["viewCount"] = count
    return payload
