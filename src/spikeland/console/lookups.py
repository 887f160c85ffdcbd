"""Small reads every list page makes: the addresses of the users one page names, and a "user (id or
email)" filter's user."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import ValidationFailed
from spikeland.identity.models import User


async def emails_of(session: AsyncSession, user_ids: Iterable[str | None]) -> dict[str, str | None]:
    """The addresses of one page's users, in one query."""
    ids = {user_id for user_id in user_ids if user_id}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in rows}


async def user_named(session: AsyncSession, text: str | None) -> User | None:
    """The user a filter names by id or by address (any case); None when nobody is."""
    wanted = (text or "").strip()[:320]
    if not wanted:
        return None
    found: User | None = await session.scalar(
        select(User).where(or_(User.id == wanted, User.email == wanted.lower())).limit(1)
    )
    return found


async def owner_id(session: AsyncSession, text: str) -> str:
    """An "owner" filter's user id; 422 when nobody has that id or address."""
    user = await user_named(session, text)
    if user is None:
        raise ValidationFailed(f"No user with the id or email {text.strip()[:80]}.", code="user_not_found")
    return user.id


async def user_filter(session: AsyncSession, text: str | None) -> str | None:
    """A "user (id or email)" filter's user id; text naming nobody is kept as it is (it then
    matches nothing: no id holds an "@"), empty is no filter."""
    user = await user_named(session, text)
    return user.id if user is not None else ((text or "").strip() or None)
