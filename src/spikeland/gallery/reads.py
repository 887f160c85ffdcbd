"""The album list of every visit, on the driver (``db.query``; see ``images.reads``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam

from spikeland.core.pagination import Asc
from spikeland.db.query import Connections, PagedQuery
from spikeland.gallery.models import Album
from spikeland.gallery.service import with_counts
from spikeland.images.service import share_url

_OWN = PagedQuery(
    with_counts().where(Album.user_id == bindparam("user_id")), (Asc(Album.sort_order), Asc(Album.id))
)


async def list_albums(
    db: Connections, user_id: str, public_url: str, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The user's albums in their chosen order (an ``AlbumPage`` payload, as the owner sees it)."""
    page = await _OWN.page(await db.reader(), limit=limit, cursor=cursor, user_id=user_id)
    items = []
    for row in page.items:
        item = dict(row)
        item["coverImageId"] = item["cover"]  # the cover, while it is still one of the album's images
        item["imageCount"] = item["image_count"]
        token = item["shareToken"]
        item["shareUrl"] = share_url(public_url, token) if token else None
        items.append(item)
    return {"items": items, "nextCursor": page.next_cursor}
