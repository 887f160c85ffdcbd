"""Tracked URLs: the site's own pages an admin wants followed (and listed in the sitemap).

A path starts with "/", names no scheme or host ("//host" and "://" are refused), holds no
whitespace or control character, and is unique (409 ``tracked_url_exists``, also when an edit would
make it a duplicate). Inactive ones stay listed for admins and leave the sitemap.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.models import TrackedUrl
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.pagination import Page, newest_first

MAX_PATH = 2048


class TrackedUrlExists(Conflict):
    code = "tracked_url_exists"


class TrackedUrlNotFound(NotFound):
    code = "tracked_url_not_found"


def check_path(path: str) -> str:
    """The path as stored, or 422 ``invalid_path`` saying what is wrong with it."""
    problem = None
    if not path.startswith("/"):
        problem = 'must start with "/"'
    elif path.startswith("//") or "://" in path:
        problem = "must not name a scheme or a host"
    elif len(path) > MAX_PATH:
        problem = f"must be at most {MAX_PATH} characters"
    elif any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        problem = "must not contain whitespace or control characters"
    if problem:
        raise ValidationFailed(f"The path {problem}.", code="invalid_path", details={"path": path[:200]})
    return path


async def _saved(
    session: AsyncSession, row: TrackedUrl, changes: dict[str, object] | None = None
) -> TrackedUrl:
    # The changes are made inside the savepoint: begin_nested() flushes what is pending first, so a
    # duplicate path set before it would fail outside the savepoint (and spoil the transaction).
    path = (changes or {}).get("path", row.path)  # read now: after a rollback the row is expired
    try:
        async with session.begin_nested():
            for name, value in (changes or {}).items():
                setattr(row, name, value)
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise TrackedUrlExists("That path is already tracked.", details={"path": path}) from None
    return row


async def create(session: AsyncSession, *, path: str, label: str | None, admin_id: str) -> TrackedUrl:
    return await _saved(session, TrackedUrl(path=check_path(path), label=label, created_by_id=admin_id))


async def get(session: AsyncSession, url_id: str) -> TrackedUrl:
    row = await session.get(TrackedUrl, url_id)
    if row is None:
        raise TrackedUrlNotFound("No such tracked URL.")
    return row


async def update(
    session: AsyncSession,
    url_id: str,
    *,
    path: str | None,
    label: str | None,
    clear_label: bool,
    active: bool | None,
) -> TrackedUrl:
    row = await get(session, url_id)
    changes: dict[str, object] = {}
    if path is not None:
        changes["path"] = check_path(path)
    if label is not None or clear_label:
        changes["label"] = label
    if active is not None:
        changes["is_active"] = active
    return await _saved(session, row, changes)


async def remove(session: AsyncSession, url_id: str) -> TrackedUrl:
    row = await get(session, url_id)
    await session.delete(row)
    await session.flush()
    return row


async def list_urls(
    session: AsyncSession, *, active: bool | None, cursor: str | None, limit: int
) -> Page[TrackedUrl]:
    statement = select(TrackedUrl)
    if active is not None:
        statement = statement.where(TrackedUrl.is_active == active)
    return await newest_first(
        session, statement, TrackedUrl.created_at, TrackedUrl.id, limit=limit, cursor=cursor
    )


async def active_paths(session: AsyncSession, limit: int) -> list[str]:
    """The active paths for the sitemap, in path order."""
    statement = select(TrackedUrl.path).where(TrackedUrl.is_active).order_by(TrackedUrl.path).limit(limit)
    return list(await session.scalars(statement))
