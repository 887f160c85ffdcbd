"""The ledger's write path: every token movement is a few plain SQL statements in the caller's
transaction.

Why not the ORM, nor even Core: a movement is the hottest write in the system; the unit of work
costs ~10x a statement and SQLAlchemy's execution path (through the async bridge) still more
than the statement itself (measured: ~470 us of Python per spend against ~200 us for the same
statements on asyncpg). So the statements go straight to the asyncpg connection under the caller's
session (or, on a hot path, connection), inside its transaction, with asyncpg's prepared-statement
cache.

How a movement stays exact under concurrency:
1. the user's balance row is locked (``FOR UPDATE``); every movement of one user queues here;
2. only then is the (user, type, sourceId) — for a client's Idempotency-Key, (user, sourceId) —
   looked up, so a repeat sees the first one's row even when both arrived at once, and returns it
   instead of applying twice;
3. regeneration due so far is computed from the locked row and written first;
4. the new balance is checked (never below zero) and one statement updates the balance and
   inserts the immutable transaction row(s).
Each row's ``createdAt`` is strictly after the user's previous one (the balance row's
``updatedAt`` carries the last), so ``balanceAfter`` chains in (createdAt, id) order even when
clocks of several servers disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import to_ms, utcnow
from spikeland.core.metrics import LEDGER_MOVEMENTS
from spikeland.db.cuid import cuid
from spikeland.db.enums import SubscriptionTier
from spikeland.db.session import driver_connection
from spikeland.tokens.costs import INITIAL_BALANCE, REGENERATION_AMOUNT, REGENERATION_INTERVAL, TIER_CAP
from spikeland.tokens.models import TokenTransactionType

_MS = timedelta(milliseconds=1)

_LOCK = """
SELECT id, balance, tier, "lastRegeneration", "updatedAt"
FROM user_token_balances WHERE "userId" = $1 FOR UPDATE
"""

# The balance row appears with the FREE tier's tokens, and the ledger says where they came from,
# so the balance always equals the sum of the user's transactions.
_CREATE = """
WITH b AS (
    INSERT INTO user_token_balances
        (id, "userId", balance, tier, "lastRegeneration", "createdAt", "updatedAt")
    VALUES ($1, $2, $3, 'FREE', $4, $4, $4)
    ON CONFLICT ("userId") DO NOTHING
    RETURNING "userId"
)
INSERT INTO token_transactions
    (id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt")
SELECT $5::text, "userId", $3::integer, 'EARN_BONUS', 'initial_balance', NULL, $3::integer, NULL,
       $4::timestamp(3) FROM b
"""

# Looked up by the sourceId index alone: coalesce() keeps the planner off the (userId, createdAt)
# index, whose generic plan otherwise scans the user's whole history for every new source id
# (measured: the lookup grew with the history and dominated a spend after ~100k rows).
_FIND = """
SELECT id, type, amount, "balanceAfter", "createdAt", metadata
FROM token_transactions
WHERE "sourceId" = $1 AND coalesce("userId", '') = $2 AND type = $3::"TokenTransactionType"
ORDER BY "createdAt" LIMIT 1
"""

# A client's Idempotency-Key names one request of the user's whatever it moved: found by the same
# index, without the type (the caller compares the request's fingerprint instead).
_FIND_ANY_TYPE = """
SELECT id, type, amount, "balanceAfter", "createdAt", metadata
FROM token_transactions
WHERE "sourceId" = $1 AND coalesce("userId", '') = $2
ORDER BY "createdAt" LIMIT 1
"""

# One round trip: the balance, the regeneration row (when due) and the movement row.
_WRITE = """
WITH b AS (
    UPDATE user_token_balances
    SET balance = $2, "lastRegeneration" = $3, tier = $4::"SubscriptionTier", "updatedAt" = $5
    WHERE id = $1
    RETURNING "userId"
), regen AS (
    INSERT INTO token_transactions
        (id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt")
    SELECT $6::text, "userId", $7::integer, 'EARN_REGENERATION', 'auto_regeneration', NULL, $8::integer,
           $9::jsonb, $10::timestamp(3) FROM b
    WHERE $7::integer > 0
)
INSERT INTO token_transactions
    (id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt")
SELECT $11::text, "userId", $12::integer, $13::"TokenTransactionType", $14::text, $15::text, $2::integer,
       $16::jsonb, $5::timestamp(3) FROM b
WHERE $12::integer IS NOT NULL
"""


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Movement:
    """One applied (or, for a repeat, previously applied) ledger row."""

    transaction_id: str
    user_id: str
    type: TokenTransactionType
    amount: int
    balance_after: int
    created_at: datetime
    applied: bool  # False: this (type, sourceId) was applied before; this is that first result
    metadata: dict[str, Any] | None = None


@dataclass
class Locked:
    """The user's balance row, locked for the rest of the transaction (and the connection holding it)."""

    connection: asyncpg.Connection
    id: str
    user_id: str
    balance: int
    tier: SubscriptionTier
    last_regeneration: datetime
    last_write: datetime

    @property
    def cap(self) -> int:
        return TIER_CAP[self.tier]


# Where a movement runs: a session, or (hot paths, no session made) the request's driver connection.
Db: TypeAlias = AsyncSession | asyncpg.Connection


async def lock(db: Db, user_id: str) -> Locked:
    """Lock the user's balance row, creating it (with its initial tokens) on first use."""
    connection = await driver_connection(db)
    for _ in range(2):
        row = await connection.fetchrow(_LOCK, user_id)
        if row is not None:
            return Locked(
                connection=connection,
                id=row["id"],
                user_id=user_id,
                balance=row["balance"],
                tier=SubscriptionTier(row["tier"]),
                last_regeneration=_aware(row["lastRegeneration"]),
                last_write=_aware(row["updatedAt"]),
            )
        now = _naive(utcnow())
        await connection.execute(_CREATE, cuid(), user_id, INITIAL_BALANCE, now, cuid())
    raise RuntimeError(f"balance row of {user_id} could not be created")


async def find_applied(locked: Locked, type_: TokenTransactionType | None, source_id: str) -> Movement | None:
    """The first movement applied for (user, type, source_id) — any type when None; under the
    lock it cannot race."""
    return await _find(locked.connection, locked.user_id, type_, source_id)


async def _find(
    connection: asyncpg.Connection, user_id: str, type_: TokenTransactionType | None, source_id: str
) -> Movement | None:
    if type_ is None:
        row = await connection.fetchrow(_FIND_ANY_TYPE, source_id, user_id)
    else:
        row = await connection.fetchrow(_FIND, source_id, user_id, type_.value)
    if row is None:
        return None
    raw_metadata = row["metadata"]
    metadata = json.loads(raw_metadata) if isinstance(raw_metadata, str) else raw_metadata
    created = _aware(row["createdAt"])
    found = TokenTransactionType(row["type"])
    return Movement(row["id"], user_id, found, row["amount"], row["balanceAfter"], created, False, metadata)


async def find_movement(db: Db, user_id: str, type_: TokenTransactionType, source_id: str) -> Movement | None:
    """Read-only: the movement recorded for (user, type, source_id), if any (no lock taken)."""
    return await _find(await driver_connection(db), user_id, type_, source_id)


def regeneration_due(locked: Locked, now: datetime) -> tuple[int, datetime]:
    """Tokens regenerated by ``now`` and the new ``lastRegeneration``.

    1 token per full 15 minutes, never past the tier's cap. At or above the cap the clock
    rests (the new mark is ``now``), so a drop below the cap starts a fresh interval. The
    part of an interval not yet complete is kept, not discarded.
    """
    if locked.balance >= locked.cap:
        return 0, now
    intervals = int((now - locked.last_regeneration) / REGENERATION_INTERVAL)
    if intervals <= 0:
        return 0, locked.last_regeneration
    amount = min(intervals * REGENERATION_AMOUNT, locked.cap - locked.balance)
    if locked.balance + amount >= locked.cap:
        return amount, now
    return amount, locked.last_regeneration + intervals * REGENERATION_INTERVAL


@dataclass(frozen=True)
class Entry:
    """The movement to write after the lock: ``amount`` is signed; None writes regeneration only."""

    type: TokenTransactionType
    amount: int
    source: str | None
    source_id: str | None
    metadata: dict[str, Any] | None
    fingerprint: str | None = None  # a client's request under an Idempotency-Key (see idempotency)


async def write(
    locked: Locked,
    *,
    regenerated: int,
    regenerated_until: datetime,
    entry: Entry | None,
    tier: SubscriptionTier | None = None,
) -> Movement | None:
    """Persist regeneration and ``entry`` for a locked balance; the caller checked the new balance.

    Returns the entry's movement, else the regeneration's, else None (nothing but the row changed).
    """
    # Whole milliseconds, as timestamp(3) stores them, so the returned time is the stored one.
    now = max(to_ms(utcnow()), locked.last_write + _MS)
    regen_at = now
    if regenerated and entry is not None:
        now = now + _MS  # the regeneration row comes first in the chain
    after_regen = locked.balance + regenerated
    final = after_regen + (entry.amount if entry else 0)
    new_tier = tier or locked.tier
    # The regeneration row's id and metadata only when there is one (a spend mostly has none).
    movement_id, regen_id, regen_meta = cuid(), None, None
    if regenerated:
        regen_id = cuid()
        regen_meta = {"intervals": regenerated // REGENERATION_AMOUNT, "tier": locked.tier.value}
    await locked.connection.execute(
        _WRITE,
        locked.id,
        final,
        _naive(regenerated_until),
        new_tier.value,
        _naive(now),
        regen_id,
        regenerated,
        after_regen,
        _json(regen_meta),
        _naive(regen_at),
        movement_id,
        entry.amount if entry else None,
        entry.type.value if entry else TokenTransactionType.EARN_BONUS.value,
        entry.source if entry else None,
        entry.source_id if entry else None,
        _json(entry.metadata) if entry else None,
    )
    if regenerated:
        LEDGER_MOVEMENTS.labels(TokenTransactionType.EARN_REGENERATION.value).inc()
    if entry is not None:
        LEDGER_MOVEMENTS.labels(entry.type.value).inc()
    locked.balance, locked.last_regeneration, locked.last_write, locked.tier = (
        final,
        regenerated_until,
        now,
        new_tier,
    )
    if entry is not None:
        return Movement(
            movement_id, locked.user_id, entry.type, entry.amount, final, now, True, entry.metadata
        )
    if regenerated:
        regen = TokenTransactionType.EARN_REGENERATION
        assert regen_id is not None
        return Movement(regen_id, locked.user_id, regen, regenerated, after_regen, regen_at, True, regen_meta)
    return None
