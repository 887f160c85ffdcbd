"""The token ledger's service API: credit, spend, refund, reverse, adjust, tier changes,
regeneration, and the read side (balance, history, point-in-time, verification).

Every movement is one transaction row plus a conditional balance update, in the caller's
transaction (see ``ledger`` for how that stays exact under concurrency). A movement with a
``source_id`` is idempotent per (user, type, source_id): a repeat returns the first result; one
made under a client's Idempotency-Key, per (user, key), see ``idempotency``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import SpikelandError, ValidationFailed
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens import idempotency, ledger
from spikeland.tokens.costs import REGENERATION_INTERVAL, TIER_CAP
from spikeland.tokens.ledger import Db, Entry
from spikeland.tokens.ledger import Movement as Movement  # on the public surface: what a movement returns
from spikeland.tokens.models import TokenTransaction, TokenTransactionType, UserTokenBalance

EARN_TYPES = frozenset(
    {
        TokenTransactionType.EARN_PURCHASE,
        TokenTransactionType.EARN_BONUS,
        TokenTransactionType.EARN_ADMIN_ADJUSTMENT,
    }
)
SPEND_TYPES = frozenset(
    {
        TokenTransactionType.SPEND_ENHANCEMENT,
        TokenTransactionType.SPEND_MCP_GENERATION,
        TokenTransactionType.SPEND_BOX_CREATION,
    }
)


class InsufficientTokens(SpikelandError):
    status_code = 402
    code = "insufficient_tokens"

    def __init__(self, required: int, available: int) -> None:
        super().__init__(
            f"Not enough tokens: this needs {required}, the balance is {available}.",
            details={"required": required, "available": available},
        )
        self.required, self.available = required, available


def _positive(amount: int) -> None:
    if amount <= 0:
        raise ValidationFailed("The amount must be a positive number of tokens.", code="invalid_amount")


async def _move(
    session: Db,
    user_id: str,
    entry: Entry,
    *,
    floor_at_zero: bool = False,
    tier: SubscriptionTier | None = None,
) -> Movement:
    """Lock, replay-check, regenerate, check the floor, write. ``floor_at_zero`` debits what there is."""
    locked = await ledger.lock(session, user_id)
    if entry.source_id is not None:
        # A client's key names one request, whatever it moved: looked up across types, then compared.
        keyed = entry.fingerprint is not None
        previous = await ledger.find_applied(locked, None if keyed else entry.type, entry.source_id)
        if previous is not None:
            if entry.fingerprint is not None:
                idempotency.check_same_request(previous, entry.type, entry.fingerprint)
            return previous
    now = utcnow()
    regenerated, until = ledger.regeneration_due(locked, now)
    available = locked.balance + regenerated
    if available + entry.amount < 0:
        if not floor_at_zero:
            raise InsufficientTokens(-entry.amount, available)
        shortfall = -(available + entry.amount)
        metadata = {**(entry.metadata or {}), "requested": -entry.amount, "shortfall": shortfall}
        entry = Entry(entry.type, -available, entry.source, entry.source_id, metadata)
    movement = await ledger.write(
        locked, regenerated=regenerated, regenerated_until=until, entry=entry, tier=tier
    )
    assert movement is not None
    return movement


async def credit(
    session: Db,
    user_id: str,
    amount: int,
    type_: TokenTransactionType,
    *,
    source: str | None = None,
    source_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    """Add tokens (purchases, bonuses): never capped by the tier."""
    _positive(amount)
    if type_ not in EARN_TYPES:
        raise ValueError(f"{type_} is not a credit type")
    return await _move(session, user_id, Entry(type_, amount, source, source_id, metadata))


async def spend(
    session: Db,
    user_id: str,
    amount: int,
    type_: TokenTransactionType,
    *,
    source: str | None = None,
    source_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    fingerprint: str | None = None,
) -> Movement:
    """Take tokens for work (402 ``insufficient_tokens`` when the balance is short).

    A zero-cost spend (the FREE tier) is recorded as a 0-token row, so the work still has its
    ledger entry; it never fails for want of tokens. With a ``fingerprint``, ``source_id`` is a
    client's Idempotency-Key (see ``idempotency``).
    """
    if amount < 0:
        raise ValidationFailed("The amount must not be negative.", code="invalid_amount")
    if type_ not in SPEND_TYPES:
        raise ValueError(f"{type_} is not a spend type")
    metadata = idempotency.stamped(metadata, fingerprint)
    return await _move(session, user_id, Entry(type_, -amount, source, source_id, metadata, fingerprint))


async def refund(
    session: Db,
    user_id: str,
    amount: int,
    *,
    source: str,
    source_id: str,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    """Give back tokens spent on work that failed: once per source (a job is refunded once)."""
    _positive(amount)
    return await _move(
        session, user_id, Entry(TokenTransactionType.REFUND, amount, source, source_id, metadata)
    )


async def lock_balance(session: Db, user_id: str) -> None:
    """Hold the user's balance row until the transaction ends, so no spend slips between a caller's
    reading of the balance and its credit (a subscription's renewal)."""
    await ledger.lock(session, user_id)


async def find_movement(
    session: Db, user_id: str, type_: TokenTransactionType, source_id: str
) -> Movement | None:
    """The movement recorded for (user, type, source), if any; read-only, no lock (a replayed
    redemption answers with what the first one moved)."""
    return await ledger.find_movement(session, user_id, type_, source_id)


class PaidJob(Protocol):
    """A job row that may have cost tokens (image enhancement, generation)."""

    @property
    def id(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def tokens_cost(self) -> int: ...


async def refund_job(session: Db, job: PaidJob, reason: str, *, source: str) -> None:
    """Give back what a job that will not complete cost (nothing when it was free), once per job.
    The job runner calls it, through the owning domain's queue, as the job ends."""
    if job.tokens_cost > 0:
        metadata = {"jobId": job.id, "reason": reason[:500]}
        await refund(
            session, job.user_id, job.tokens_cost, source=source, source_id=job.id, metadata=metadata
        )


async def reverse(
    session: Db,
    user_id: str,
    amount: int,
    *,
    source: str,
    source_id: str,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    """Take back tokens that were bought and refunded (a negative REFUND row).

    The balance never goes below zero: what is missing is recorded as ``shortfall`` in the row's
    metadata (with ``requested``), for the operators to follow up.
    """
    _positive(amount)
    entry = Entry(TokenTransactionType.REFUND, -amount, source, source_id, metadata)
    return await _move(session, user_id, entry, floor_at_zero=True)


async def adjust(
    session: Db,
    user_id: str,
    amount: int,
    *,
    reason: str,
    actor_id: str,
    source_id: str | None = None,
    fingerprint: str | None = None,
) -> Movement:
    """An admin's correction (EARN_ADMIN_ADJUSTMENT), positive or negative; never below zero.

    With a ``fingerprint``, ``source_id`` is the admin's Idempotency-Key, one request per target
    user (see ``idempotency``)."""
    if amount == 0:
        raise ValidationFailed("An adjustment must change the balance.", code="invalid_amount")
    metadata = idempotency.stamped({"reason": reason, "adjustedBy": actor_id}, fingerprint)
    type_ = TokenTransactionType.EARN_ADMIN_ADJUSTMENT
    entry = Entry(type_, amount, "admin_adjustment", source_id, metadata, fingerprint)
    return await _move(session, user_id, entry)


async def change_tier(
    session: Db,
    user_id: str,
    tier: SubscriptionTier,
    *,
    raise_to_cap: bool,
    source: str,
    source_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement | None:
    """Set the user's tier. ``raise_to_cap`` (an upgrade) lifts the balance to the new cap at once,
    as an EARN_PURCHASE row; a downgrade keeps the balance (regeneration stops at the lower cap).
    """
    locked = await ledger.lock(session, user_id)
    now = utcnow()
    regenerated, until = ledger.regeneration_due(locked, now)
    top_up = TIER_CAP[tier] - (locked.balance + regenerated) if raise_to_cap else 0
    entry = None
    if top_up > 0:
        if source_id is not None:
            previous = await ledger.find_applied(locked, TokenTransactionType.EARN_PURCHASE, source_id)
            if previous is not None:
                return previous
        meta = {**(metadata or {}), "tier": tier.value, "previousTier": locked.tier.value}
        entry = Entry(TokenTransactionType.EARN_PURCHASE, top_up, source, source_id, meta)
    if entry is None and regenerated == 0 and tier == locked.tier:
        return None
    return await ledger.write(
        locked, regenerated=regenerated, regenerated_until=until, entry=entry, tier=tier
    )


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class BalanceView:
    balance: int
    tier: SubscriptionTier
    cap: int
    last_regeneration: datetime
    next_regeneration_at: datetime | None  # None at or above the cap


async def regenerate(session: Db, user_id: str) -> Movement | None:
    """Apply the regeneration due now (exactly once, under the balance lock)."""
    locked = await ledger.lock(session, user_id)
    regenerated, until = ledger.regeneration_due(locked, utcnow())
    if regenerated == 0:
        return None
    return await ledger.write(locked, regenerated=regenerated, regenerated_until=until, entry=None)


async def get_balance(session: AsyncSession, user_id: str) -> BalanceView:
    """The balance with regeneration applied (written only when some is due)."""
    row = (
        await session.execute(
            select(UserTokenBalance.balance, UserTokenBalance.tier, UserTokenBalance.last_regeneration).where(
                UserTokenBalance.user_id == user_id
            )
        )
    ).one_or_none()
    now = utcnow()
    if row is None or regeneration_is_due(row.balance, row.tier, row.last_regeneration, now):
        return await regenerated_balance(session, user_id, now)
    return balance_view(row.balance, row.tier, row.last_regeneration)


def regeneration_is_due(balance: int, tier: SubscriptionTier, last: datetime, now: datetime) -> bool:
    return balance < TIER_CAP[tier] and now - last >= REGENERATION_INTERVAL


async def regenerated_balance(db: Db, user_id: str, now: datetime) -> BalanceView:
    """The balance after applying the regeneration due at ``now``, under the balance lock (which
    creates the row on first use)."""
    locked = await ledger.lock(db, user_id)
    regenerated, until = ledger.regeneration_due(locked, now)
    if regenerated:
        await ledger.write(locked, regenerated=regenerated, regenerated_until=until, entry=None)
    return balance_view(locked.balance, locked.tier, locked.last_regeneration)


def balance_view(balance: int, tier: SubscriptionTier, last: datetime) -> BalanceView:
    cap = TIER_CAP[tier]
    return BalanceView(balance, tier, cap, last, last + REGENERATION_INTERVAL if balance < cap else None)


async def balance_at(session: AsyncSession, user_id: str, at: datetime) -> int:
    """The balance as it stood at ``at``: the last ``balanceAfter`` at or before it (0 before any)."""
    statement = (
        select(TokenTransaction.balance_after)
        .where(TokenTransaction.user_id == user_id, TokenTransaction.created_at <= at)
        .order_by(TokenTransaction.created_at.desc(), TokenTransaction.id.desc())
        .limit(1)
    )
    return (await session.scalar(statement)) or 0
