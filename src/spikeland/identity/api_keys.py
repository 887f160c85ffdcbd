"""API keys: ``sk_live_`` + 32 random bytes; only the SHA-256 digest and a display prefix are kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.security import digest, new_secret
from spikeland.identity import key_cache
from spikeland.identity.key_cache import KeyCache
from spikeland.identity.models import ApiKey, User

KEY_PREFIX = "sk_live_"
# "sk_live_" + 4 of the 43 random characters: enough to tell keys apart, far too little to use one.
DISPLAY_PREFIX_LENGTH = 12
MAX_ACTIVE_KEYS = 10
MAX_NAME_LENGTH = 50
# A list shows every active key (at most 10) and the most recent revoked ones, up to this many rows.
LIST_LIMIT = 100
# lastUsedAt is written only when it is older than this, so a busy key is not a write per request.
LAST_USED_GRANULARITY = timedelta(minutes=5)


# The hot-path lookup (``identify``): plain SQL on the driver, no ORM (see ``tokens.ledger`` for why).
# A key's user always exists (the foreign key cascades), so the key row alone answers.
_OWNER = 'SELECT id, "userId", "lastUsedAt" FROM api_keys WHERE "keyHash" = $1 AND "isActive"'
_TOUCH = 'UPDATE api_keys SET "lastUsedAt" = $2, "updatedAt" = $2 WHERE id = $1'


def _well_formed(presented: str) -> bool:
    return presented.startswith(KEY_PREFIX) and len(presented) <= 200


def _stale(last_used: datetime | None, now: datetime) -> bool:
    return last_used is None or now - last_used >= LAST_USED_GRANULARITY


@dataclass(frozen=True)
class KeyOwner:
    api_key_id: str
    user_id: str


async def identify(
    reader: Callable[[], Awaitable[asyncpg.Connection]],
    write: Callable[..., None],
    presented: str,
    cache: KeyCache | None = None,
) -> KeyOwner | None:
    """Like ``authenticate``, without loading the user: the key's id and its owner's id.

    ``reader`` gives the request's driver connection for the lookup (``RequestDb.reader``), asked
    for only when ``cache`` does not answer; ``write`` queues the lastUsedAt write, when it is due,
    into the request's transaction (``RequestDb.write``: sent at its commit, whichever connection
    the request ends on). The cache holds a key only with a recent lastUsedAt as committed: a key
    due for its lastUsedAt write is looked up and written in the request's transaction (and
    remembered again only once a later request reads it written), so a request that fails leaves
    it as it was, cached or not.
    """
    if not _well_formed(presented):
        return None
    hashed = digest(presented)
    now = utcnow()
    known = cache.get(hashed) if cache is not None else None
    if known is not None and not _stale(datetime.fromtimestamp(known.last_used, UTC), now):
        return KeyOwner(api_key_id=known.api_key_id, user_id=known.user_id)
    generation = cache.generation() if cache is not None else 0
    row = await (await reader()).fetchrow(_OWNER, hashed)
    if row is None:
        return None
    last_used = None if row["lastUsedAt"] is None else row["lastUsedAt"].replace(tzinfo=UTC)
    if _stale(last_used, now):
        write(_TOUCH, row["id"], now.replace(tzinfo=None))
    elif cache is not None and last_used is not None:
        cache.put(hashed, row["id"], row["userId"], last_used.timestamp(), generation)
    return KeyOwner(api_key_id=row["id"], user_id=row["userId"])


@dataclass(frozen=True)
class AuthenticatedKey:
    user: User
    api_key_id: str


# Every API-key request runs it: built once, the digest bound per request (building it cost more
# Python than its execution, benchmarks/README.md "Request path").
_KEY_OWNER = (
    select(User, ApiKey.id, ApiKey.last_used_at)
    .join(ApiKey, ApiKey.user_id == User.id)
    .where(ApiKey.key_hash == bindparam("digest"), ApiKey.is_active.is_(True))
)


async def authenticate(session: AsyncSession, presented: str) -> AuthenticatedKey | None:
    """The owner of an active key, or None for an unknown, malformed or revoked one."""
    if not _well_formed(presented):
        return None
    row = (await session.execute(_KEY_OWNER, {"digest": digest(presented)})).one_or_none()
    if row is None:
        return None
    user, key_id, last_used = row
    now = utcnow()
    if _stale(last_used, now):
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    return AuthenticatedKey(user=user, api_key_id=key_id)


@dataclass(frozen=True)
class CreatedKey:
    api_key: ApiKey
    secret: str  # the full key: returned once, at creation, and never stored


async def create_key(session: AsyncSession, user_id: str, name: str) -> CreatedKey:
    """A new active key for ``user_id``; a user holds at most ``MAX_ACTIVE_KEYS`` active keys.

    The owner's row is locked for the count-then-insert, so concurrent creations queue instead of
    each seeing nine keys. ``FOR NO KEY UPDATE`` does not block inserts that merely reference the
    user (sessions, audit rows), which take ``FOR KEY SHARE``.
    """
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationFailed(f"The name must be 1 to {MAX_NAME_LENGTH} characters.", code="invalid_name")
    owner = await session.scalar(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    if owner is None:
        raise NotFound("No such user.", code="user_not_found")
    active = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.is_active.is_(True))
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise Conflict(
            f"At most {MAX_ACTIVE_KEYS} active API keys are allowed. Revoke one first.",
            code="api_key_limit_reached",
        )
    secret = KEY_PREFIX + new_secret(32)
    statement = (
        insert(ApiKey)
        .values(
            user_id=user_id,
            name=name,
            key_hash=digest(secret),
            key_prefix=secret[:DISPLAY_PREFIX_LENGTH],
        )
        .returning(ApiKey)
    )
    api_key = (await session.scalars(statement)).one()
    return CreatedKey(api_key=api_key, secret=secret)


async def list_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    """The user's keys, active ones first, newest first within each group."""
    result = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id)
        .order_by(ApiKey.is_active.desc(), ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(result.all())


async def revoke_key(session: AsyncSession, user_id: str, key_id: str) -> None:
    """Deactivate one of the user's keys; revoking a revoked key changes nothing.

    Another user's key is "not found", exactly like a key that does not exist.
    """
    found = await session.scalar(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id)
        .values(is_active=False)
        .returning(ApiKey.id)
    )
    if found is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    # At once in this process (the trigger's NOTIFY reaches every process, this one too, only
    # after the commit), whoever revokes: a route, the CLI, a job.
    key_cache.forget_key(key_id)
