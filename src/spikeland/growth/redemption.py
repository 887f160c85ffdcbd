"""Checking and redeeming voucher codes, and the percentage bonus a later purchase collects.

The checks run in one fixed order, each with its stable code: voucher_not_found,
voucher_inactive, voucher_expired, voucher_depleted, voucher_already_redeemed (then, for a trial,
already_subscribed).

How ``maxUses`` holds under concurrency: the use is claimed by one conditional UPDATE
(``currentUses < maxUses`` and ACTIVE, re-checked by PostgreSQL after any row-lock wait), which
also writes DEPLETED when it takes the last use; a redemption whose claim fails rolls back
(a savepoint) with everything it did. The unique (voucherId, userId) index stops a user
redeeming twice, even at once.

Pending percentage bonuses: a redemption of a PERCENTAGE_BONUS voucher with ``tokensGranted``
0 is pending; the user's next token-pack purchase grants the oldest one and writes its amount
there, which is what makes it no longer pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.ratelimit import RateLimiter
from spikeland.db.cuid import cuid
from spikeland.db.enums import SubscriptionTier
from spikeland.growth import trial, vouchers
from spikeland.growth.errors import VoucherAlreadyRedeemed, VoucherUnavailable
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransactionType

RATE_WINDOW = 3600.0
VOUCHER_SOURCE = "voucher"
BONUS_SOURCE = "voucher_bonus"


@dataclass(frozen=True)
class Redeemed:
    redemption_id: str
    voucher_id: str
    code: str
    type: VoucherType
    tokens_granted: int
    balance: int | None
    bonus_percent: int | None
    trial_tier: SubscriptionTier | None
    trial_ends_at: datetime | None
    redeemed_at: datetime
    replayed: bool = False


def _already_redeemed() -> VoucherAlreadyRedeemed:
    return VoucherAlreadyRedeemed("You have already redeemed this voucher.")


async def _redemption_of(session: AsyncSession, voucher_id: str, user_id: str) -> VoucherRedemption | None:
    statement = select(VoucherRedemption).where(
        VoucherRedemption.voucher_id == voucher_id, VoucherRedemption.user_id == user_id
    )
    return (await session.scalars(statement)).one_or_none()


async def validate(
    session: AsyncSession, code: str, user_id: str | None, *, limiter: RateLimiter, caller: str, per_hour: int
) -> Voucher:
    """``check`` for the public endpoint, throttled per ``caller`` (user or IP): it answers
    whether a code exists, so it must not become a free oracle for guessing codes."""
    key = f"voucher_validate:{caller}"
    limiter.take(key, per_hour, RATE_WINDOW, "Too many voucher checks. Please try again later.")
    return await check(session, code, user_id)


async def check(session: AsyncSession, code: str, user_id: str | None = None) -> Voucher:
    """The voucher if it can be redeemed now (by ``user_id``, when given), else the first failed check."""
    voucher = await vouchers.find_by_code(session, code)
    await _check_for(session, voucher, user_id)
    return voucher


async def _check_for(session: AsyncSession, voucher: Voucher, user_id: str | None) -> None:
    vouchers.ensure_redeemable(voucher, utcnow())
    if user_id is not None:
        if await _redemption_of(session, voucher.id, user_id) is not None:
            raise _already_redeemed()
        if voucher.type == VoucherType.SUBSCRIPTION_TRIAL:
            await trial.ensure_can_start(session, user_id)


async def redeem(
    session: AsyncSession,
    user_id: str,
    code: str,
    *,
    limiter: RateLimiter,
    per_hour: int,
    replay: bool = False,
) -> Redeemed:
    """Redeem ``code`` for the user. Every attempt counts against ``per_hour`` (guessing codes).

    ``replay`` (the caller sent an Idempotency-Key): a user who already redeemed this voucher gets
    that redemption's result again instead of ``voucher_already_redeemed`` — the redemption row,
    one per user and voucher, is the idempotency record.
    """
    key = f"voucher_redeem:{user_id}"
    limiter.take(key, per_hour, RATE_WINDOW, "Too many redemption attempts. Please try again later.")
    voucher = await vouchers.find_by_code(session, code)
    if replay:
        previous = await _redemption_of(session, voucher.id, user_id)
        if previous is not None:
            return await _replayed(session, voucher, previous)
    await _check_for(session, voucher, user_id)
    async with session.begin_nested():  # a refused claim undoes the redemption and its effects
        row = (
            await session.execute(
                insert(VoucherRedemption)
                .values(
                    id=cuid(),
                    voucher_id=voucher.id,
                    user_id=user_id,
                    tokens_granted=voucher.value if voucher.type == VoucherType.FIXED_TOKENS else 0,
                )
                .on_conflict_do_nothing(
                    index_elements=[VoucherRedemption.voucher_id, VoucherRedemption.user_id]
                )
                .returning(VoucherRedemption.id, VoucherRedemption.redeemed_at)
            )
        ).first()
        if row is None:
            raise _already_redeemed()
        result = await _apply(session, voucher, user_id, row.id, row.redeemed_at)
        await _claim_use(session, voucher)
    return result


async def _apply(
    session: AsyncSession, voucher: Voucher, user_id: str, redemption_id: str, redeemed_at: datetime
) -> Redeemed:
    granted, balance, percent, tier, ends_at = 0, None, None, None, None
    if voucher.type == VoucherType.FIXED_TOKENS:
        movement = await tokens.credit(
            session,
            user_id,
            voucher.value,
            TokenTransactionType.EARN_BONUS,
            source=VOUCHER_SOURCE,
            source_id=redemption_id,
            metadata={"voucherId": voucher.id, "code": voucher.code},
        )
        granted, balance = voucher.value, movement.balance_after
    elif voucher.type == VoucherType.PERCENTAGE_BONUS:
        percent = voucher.value
    else:
        started = await trial.start(session, voucher, user_id, redemption_id)
        granted, balance, tier, ends_at = (
            started.tokens_granted,
            started.balance,
            started.tier,
            started.ends_at,
        )
        if granted:
            await session.execute(
                update(VoucherRedemption)
                .where(VoucherRedemption.id == redemption_id)
                .values(tokens_granted=granted)
                .execution_options(synchronize_session=False)
            )
    return Redeemed(
        redemption_id,
        voucher.id,
        voucher.code,
        voucher.type,
        granted,
        balance,
        percent,
        tier,
        ends_at,
        redeemed_at,
    )


async def _claim_use(session: AsyncSession, voucher: Voucher) -> None:
    """Take one use, or raise the check that now fails (the voucher changed since it was read)."""
    now = utcnow()
    claimed = (
        await session.execute(
            update(Voucher)
            .where(
                Voucher.id == voucher.id,
                Voucher.status == VoucherStatus.ACTIVE,
                or_(Voucher.expires_at.is_(None), Voucher.expires_at > now),
                or_(Voucher.max_uses.is_(None), Voucher.current_uses < Voucher.max_uses),
            )
            .values(
                current_uses=Voucher.current_uses + 1,
                status=case(
                    (
                        and_(Voucher.max_uses.is_not(None), Voucher.current_uses + 1 >= Voucher.max_uses),
                        literal(VoucherStatus.DEPLETED, Voucher.status.type),
                    ),
                    else_=Voucher.status,
                ),
                updated_at=now,
            )
            .returning(Voucher.id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if claimed is not None:
        return
    fresh = await vouchers.find_by_code(session, voucher.code)
    vouchers.ensure_redeemable(fresh, utcnow())
    raise VoucherUnavailable(  # not expected: the claim failed yet every check passes now
        "This voucher has reached its usage limit.", code="voucher_depleted", voucher_id=voucher.id
    )


async def _replayed(session: AsyncSession, voucher: Voucher, redemption: VoucherRedemption) -> Redeemed:
    """The result of an earlier redemption, rebuilt from what it wrote."""
    balance, percent, tier, ends_at = None, None, None, None
    granted = redemption.tokens_granted
    if voucher.type == VoucherType.FIXED_TOKENS:
        type_ = TokenTransactionType.EARN_BONUS
    elif voucher.type == VoucherType.SUBSCRIPTION_TRIAL:
        type_ = TokenTransactionType.EARN_PURCHASE
        started = await trial.find(session, voucher, redemption.user_id)
        if started is not None:
            tier, ends_at = started
    else:
        type_, percent, granted = None, voucher.value, 0  # the bonus itself comes with a purchase
    if type_ is not None:
        movement = await tokens.find_movement(session, redemption.user_id, type_, redemption.id)
        balance = movement.balance_after if movement else None
    return Redeemed(
        redemption.id,
        voucher.id,
        voucher.code,
        voucher.type,
        granted,
        balance,
        percent,
        tier,
        ends_at,
        redemption.redeemed_at,
        replayed=True,
    )


async def apply_purchase_bonus(
    session: AsyncSession, user_id: str, purchased_tokens: int, source_id: str
) -> tokens.Movement | None:
    """Grant the user's oldest pending PERCENTAGE_BONUS on a token-pack purchase: floor(purchased *
    percent / 100) tokens as EARN_BONUS with ``source_id`` (the purchase), once per purchase.

    None when nothing is pending or the bonus rounds to 0 (the bonus then stays pending). A repeat
    for the same purchase returns the first grant and consumes nothing else.
    """
    if purchased_tokens <= 0:
        return None
    earlier = await tokens.find_movement(session, user_id, TokenTransactionType.EARN_BONUS, source_id)
    if earlier is not None:
        return earlier
    pending = (
        await session.execute(
            select(VoucherRedemption.id, Voucher.id.label("voucher_id"), Voucher.code, Voucher.value)
            .join(Voucher, Voucher.id == VoucherRedemption.voucher_id)
            .where(
                VoucherRedemption.user_id == user_id,
                VoucherRedemption.tokens_granted == 0,
                Voucher.type == VoucherType.PERCENTAGE_BONUS,
            )
            .order_by(VoucherRedemption.redeemed_at, VoucherRedemption.id)
            .limit(1)
            .with_for_update(of=VoucherRedemption)  # two purchases at once do not share one bonus
        )
    ).first()
    if pending is None:
        # A concurrent call for this same purchase may have taken the last one: its grant is ours.
        return await tokens.find_movement(session, user_id, TokenTransactionType.EARN_BONUS, source_id)
    amount = purchased_tokens * pending.value // 100
    if amount <= 0:
        return None
    metadata: dict[str, Any] = {
        "voucherId": pending.voucher_id,
        "code": pending.code,
        "redemptionId": pending.id,
        "percent": pending.value,
        "purchasedTokens": purchased_tokens,
    }
    movement = await tokens.credit(
        session,
        user_id,
        amount,
        TokenTransactionType.EARN_BONUS,
        source=BONUS_SOURCE,
        source_id=source_id,
        metadata=metadata,
    )
    if movement.applied:  # a repeat (same purchase, raced) leaves this redemption pending
        await session.execute(
            update(VoucherRedemption)
            .where(VoucherRedemption.id == pending.id)
            .values(tokens_granted=amount)
            .execution_options(synchronize_session=False)
        )
    return movement
