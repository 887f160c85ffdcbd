"""The caller's own account as ``GET /me`` reads it, on the driver (``db.query``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from spikeland.db.query import Connections, Query
from spikeland.identity.models import User

# UserOut's fields only: never the password hash.
_ME = Query(
    select(
        User.id,
        User.email,
        User.name,
        User.image,
        User.role,
        User.email_verified,
        User.referral_code,
        User.referral_count,
        User.created_at,
    ).where(User.id == bindparam("user_id"))
)


async def me(db: Connections, user_id: str) -> dict[str, Any] | None:
    """The user (a ``UserOut`` payload), None once deleted."""
    row = await _ME.one_or_none(await db.reader(), user_id=user_id)
    return dict(row) if row is not None else None
