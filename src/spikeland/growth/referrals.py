"""Referrals: the link, the stats, and the life of a referral (PENDING at sign-up, COMPLETED or
INVALID when the referee verifies their email).

Completing happens exactly once: the referral row is locked (``FOR UPDATE``) while still PENDING,
so a second verification (or a concurrent one) finds nothing to do; the grants are also
idempotent in the ledger (EARN_BONUS, source "referral", sourceId the referral's id, per user).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.pagination import newest_first
from spikeland.db.cuid import cuid
from spikeland.growth.fraud import fraud_reasons
from spikeland.growth.models import Referral, ReferralStatus
from spikeland.identity.models import User
from spikeland.identity.service import new_referral_code
from spikeland.settings import Settings
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransactionType

_log = logging.getLogger(__name__)
REFERRAL_SOURCE = "referral"


@dataclass(frozen=True)
class Outcome:
    referral_id: str
    status: ReferralStatus
    reasons: list[str]


async def record_signup(session: AsyncSession, user: User, ip: str | None) -> None:
    """A user who signed up with a code (``referredById``) becomes a PENDING referral."""
    if user.referred_by_id is None:
        return
    await session.execute(
        insert(Referral)
        .values(
            id=cuid(),
            referrer_id=user.referred_by_id,
            referee_id=user.id,
            status=ReferralStatus.PENDING,
            tokens_granted=0,
            ip_address=ip if ip and ip != "unknown" else None,
        )
        .on_conflict_do_nothing(index_elements=[Referral.referrer_id, Referral.referee_id])
    )


async def complete(session: AsyncSession, referee: User, settings: Settings) -> Outcome | None:
    """Settle the referee's PENDING referral: INVALID when a fraud rule fails, else +reward to each
    side, COMPLETED. None when there is nothing pending (none, or settled already)."""
    referral = (
        await session.scalars(
            select(Referral)
            .where(Referral.referee_id == referee.id, Referral.status == ReferralStatus.PENDING)
            .order_by(Referral.created_at, Referral.id)
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if referral is None:
        return None
    referrer_email = await session.scalar(select(User.email).where(User.id == referral.referrer_id))
    reasons = await fraud_reasons(
        session, referral, referrer_email=referrer_email, referee_email=referee.email, settings=settings
    )
    now = utcnow()
    if reasons:
        referral.status = ReferralStatus.INVALID
        await session.flush()
        _log.warning(
            "referral %s (referrer %s, referee %s) invalid: %s",
            referral.id,
            referral.referrer_id,
            referral.referee_id,
            ", ".join(reasons),
        )
        return Outcome(referral.id, ReferralStatus.INVALID, reasons)
    reward = settings.referral_reward_tokens
    # Balance rows are locked in user-id order, so two completions never wait on each other in a cycle.
    for user_id in sorted({referral.referrer_id, referral.referee_id}):
        await tokens.credit(
            session,
            user_id,
            reward,
            TokenTransactionType.EARN_BONUS,
            source=REFERRAL_SOURCE,
            source_id=referral.id,
            metadata={
                "referralId": referral.id,
                "role": "referrer" if user_id == referral.referrer_id else "referee",
            },
        )
    referral.status = ReferralStatus.COMPLETED
    referral.tokens_granted = 2 * reward
    referral.completed_at = now
    await session.flush()
    await session.execute(
        update(User)
        .where(User.id == referral.referrer_id)
        .values(referral_count=User.referral_count + 1)
        .execution_options(synchronize_session=False)
    )
    return Outcome(referral.id, ReferralStatus.COMPLETED, [])


# ----------------------------------------------------------------------------- the referrer's view


@dataclass(frozen=True)
class Link:
    code: str
    url: str


async def link(session: AsyncSession, settings: Settings, user: User) -> Link:
    """The user's code and sign-up link; a user without a code (an adopted account) gets one now."""
    code = user.referral_code
    for _attempt in range(5):
        if code is not None:
            return Link(code, f"{settings.public_url.rstrip('/')}/?ref={code}")
        candidate = new_referral_code()
        try:
            async with session.begin_nested():
                code = await session.scalar(
                    update(User)
                    .where(User.id == user.id, User.referral_code.is_(None))
                    .values(referral_code=candidate)
                    .returning(User.referral_code)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            continue  # the code was taken: draw again
        if code is None:  # someone else gave this user a code meanwhile
            code = await session.scalar(select(User.referral_code).where(User.id == user.id))
    raise RuntimeError("could not draw a free referral code")


@dataclass(frozen=True)
class ReferredUser:
    referral_id: str
    email: str | None
    status: ReferralStatus
    tokens_earned: int
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Stats:
    total: int
    completed: int
    pending: int
    invalid: int
    tokens_earned: int
    referred: list[ReferredUser]
    next_cursor: str | None


def mask_email(email: str | None) -> str | None:
    """``frank@example.com`` → ``f***@example.com``."""
    if not email or "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


async def stats(session: AsyncSession, user_id: str, *, limit: int = 50, cursor: str | None = None) -> Stats:
    """Totals over all the user's referrals, and one page of them (newest first), emails masked.

    ``tokensEarned`` is the referrer's half of ``tokensGranted`` (which counts both sides).
    """
    counts: dict[ReferralStatus, tuple[int, int]] = {
        status: (count, granted or 0)
        for status, count, granted in (
            await session.execute(
                select(Referral.status, func.count(), func.sum(Referral.tokens_granted))
                .where(Referral.referrer_id == user_id)
                .group_by(Referral.status)
            )
        ).all()
    }
    page = await newest_first(
        session,
        select(Referral).where(Referral.referrer_id == user_id),
        Referral.created_at,
        Referral.id,
        limit=limit,
        cursor=cursor,
    )
    referee_ids = [r.referee_id for r in page.items]
    emails = dict(
        (await session.execute(select(User.id, User.email).where(User.id.in_(referee_ids)))).all()
        if referee_ids
        else []
    )
    referred = [
        ReferredUser(
            r.id,
            mask_email(emails.get(r.referee_id)),
            r.status,
            r.tokens_granted // 2,
            r.created_at,
            r.completed_at,
        )
        for r in page.items
    ]

    def count(status: ReferralStatus) -> int:
        return counts.get(status, (0, 0))[0]

    return Stats(
        total=sum(c for c, _ in counts.values()),
        completed=count(ReferralStatus.COMPLETED),
        pending=count(ReferralStatus.PENDING),
        invalid=count(ReferralStatus.INVALID),
        tokens_earned=counts.get(ReferralStatus.COMPLETED, (0, 0))[1] // 2,
        referred=referred,
        next_cursor=page.next_cursor,
    )
