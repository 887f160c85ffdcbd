"""Voucher checks and redemption, the referral link and stats."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response

from spikeland.core.deps import ClientIp, IdempotencyKey, Limiter, Sessions, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.db.engine import transaction
from spikeland.db.session import DbSession
from spikeland.growth import service
from spikeland.growth.errors import VoucherUnavailable
from spikeland.growth.schemas import (
    RedemptionOut,
    ReferralLinkOut,
    ReferralStatsOut,
    ReferredUserOut,
    TrialOut,
    VoucherCheckOut,
    VoucherCodeIn,
    VoucherSummary,
)
from spikeland.identity.deps import CurrentCaller, CurrentUser, OptionalPrincipal, user_id_of

router = APIRouter(route_class=Route, tags=["growth"])

T = TypeVar("T")


async def _recording_status(sessions: Sessions, work: Awaitable[T]) -> T:
    """Run ``work``; when it finds a voucher whose stored ACTIVE is stale (expired, used up), record
    the real status in a transaction of its own — the request's is rolled back by the error."""
    try:
        return await work
    except VoucherUnavailable as exc:
        if exc.stale:
            async with transaction(sessions) as session:
                await service.settle_status(session, exc.voucher_id)
        raise


@router.post(
    "/vouchers/validate",
    openapi_extra=errors(
        voucher_not_found=404, voucher_expired=409, voucher_inactive=409, voucher_depleted=409
    ),
    response_model=VoucherCheckOut,
)
async def validate_voucher(
    body: VoucherCodeIn,
    session: DbSession,
    principal: OptionalPrincipal,
    settings: SettingsDep,
    limiter: Limiter,
    sessions: Sessions,
    ip: ClientIp,
) -> VoucherCheckOut:
    """Whether a code can be redeemed; signed in, also whether this user already redeemed it."""
    user_id = user_id_of(principal)
    voucher = await _recording_status(
        sessions,
        service.validate(
            session,
            body.code,
            user_id,
            limiter=limiter,
            caller=user_id or f"ip:{ip}",
            per_hour=settings.voucher_validations_per_hour,
        ),
    )
    return VoucherCheckOut(
        valid=True,
        voucher=VoucherSummary(
            code=voucher.code,
            type=voucher.type,
            value=voucher.value,
            remaining_uses=service.remaining_uses(voucher),
            expires_at=voucher.expires_at,
        ),
    )


@router.post(
    "/vouchers/redeem",
    openapi_extra=errors(
        voucher_not_found=404,
        voucher_expired=409,
        voucher_inactive=409,
        voucher_depleted=409,
        voucher_already_redeemed=409,
        already_subscribed=409,
    ),
    response_model=RedemptionOut,
)
async def redeem_voucher(
    body: VoucherCodeIn,
    response: Response,
    caller: CurrentCaller,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    sessions: Sessions,
    key: IdempotencyKey = None,
) -> RedemptionOut:
    """Redeem a code. With an Idempotency-Key, repeating a redemption that went through returns its
    result again (header ``Idempotent-Replayed: true``) instead of ``voucher_already_redeemed``."""
    done = await _recording_status(
        sessions,
        service.redeem(
            session,
            caller.user_id,
            body.code,
            limiter=limiter,
            per_hour=settings.voucher_redemptions_per_hour,
            replay=key is not None,
        ),
    )
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    trial = (
        TrialOut(tier=done.trial_tier, ends_at=done.trial_ends_at)
        if done.trial_tier is not None and done.trial_ends_at is not None
        else None
    )
    return RedemptionOut(
        redemption_id=done.redemption_id,
        voucher_id=done.voucher_id,
        code=done.code,
        type=done.type,
        tokens_granted=done.tokens_granted,
        balance=done.balance,
        bonus_percent=done.bonus_percent,
        trial=trial,
        redeemed_at=done.redeemed_at,
    )


@router.get("/referrals/link", response_model=ReferralLinkOut)
async def referral_link(user: CurrentUser, session: DbSession, settings: SettingsDep) -> ReferralLinkOut:
    found = await service.link(session, settings, user)
    return ReferralLinkOut(code=found.code, url=found.url)


@router.get("/referrals/stats", response_model=ReferralStatsOut)
async def referral_stats(
    caller: CurrentCaller,
    session: DbSession,
    limit: PageLimit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ReferralStatsOut:
    found = await service.stats(session, caller.user_id, limit=limit, cursor=cursor)
    return ReferralStatsOut(
        total_referrals=found.total,
        completed_referrals=found.completed,
        pending_referrals=found.pending,
        invalid_referrals=found.invalid,
        tokens_earned=found.tokens_earned,
        referred_users=[
            ReferredUserOut(
                referral_id=r.referral_id,
                email=r.email,
                status=r.status,
                tokens_earned=r.tokens_earned,
                created_at=r.created_at,
                completed_at=r.completed_at,
            )
            for r in found.referred
        ],
        next_cursor=found.next_cursor,
    )
