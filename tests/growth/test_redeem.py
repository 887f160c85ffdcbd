"""Checking and redeeming codes: the fixed check order, each type's effect, replays, automatic
EXPIRED/DEPLETED, the periodic job and the rate limits.

The rules live in growth.redemption/vouchers, so they are tested there, on the rolled-back
``session`` with rows from the factories (``redeem`` gets a RateLimiter of its own). The two routes
keep HTTP tests for their contract: the bodies (camelCase), 401, the replay header, the statuses an
error writes in a transaction of its own (the API's part: the request's rolls back), the per-IP
limit and Retry-After. The concurrent redemptions are in test_concurrency.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.models import Subscription, SubscriptionStatus
from spikeland.core.clock import utcnow
from spikeland.core.errors import SpikelandError, TooManyRequests
from spikeland.core.ratelimit import RateLimiter
from spikeland.db.enums import SubscriptionTier
from spikeland.growth import service, tasks
from spikeland.growth.errors import VoucherUnavailable
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.growth.redemption import Redeemed
from spikeland.identity.models import User
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support import committed_voucher, fetch, make_user, make_voucher, new_code
from tests.support.fixtures import UserClient

VALIDATE, REDEEM = "/api/v1/vouchers/validate", "/api/v1/vouchers/redeem"
PAST = timedelta(minutes=-5)
PER_HOUR = 1000  # the rate limit is its own test: the others never reach it


async def _redeem(session: AsyncSession, user: User, code: str, **options: Any) -> Redeemed:
    options.setdefault("limiter", RateLimiter())
    options.setdefault("per_hour", PER_HOUR)
    return await service.redeem(session, user.id, code, **options)


async def _check(session: AsyncSession, user: User, code: str) -> Voucher:
    return await service.check(session, code, user.id)


async def _refusal(session: AsyncSession, user: User, code: str) -> dict[str, str]:
    """The code each entry point refuses ``code`` with, by entry point."""
    codes = {}
    for name, call in (("check", _check), ("redeem", _redeem)):
        with pytest.raises(SpikelandError) as refused:
            await call(session, user, code)
        codes[name] = refused.value.code
    return codes


def _both(code: str) -> dict[str, str]:
    return {"check": code, "redeem": code}


async def _redeemed_by(session: AsyncSession, voucher: Voucher, user: User) -> None:
    session.add(VoucherRedemption(voucher_id=voucher.id, user_id=user.id, tokens_granted=0))
    await session.flush()


async def _subscription(session: AsyncSession, user: User, status: SubscriptionStatus) -> None:
    now = utcnow()
    session.add(
        Subscription(
            user_id=user.id,
            stripe_subscription_id=f"sub_{new_code()}",
            stripe_price_id="price_x",
            status=status,
            tier=SubscriptionTier.PREMIUM,
            current_period_start=now,
            current_period_end=now + timedelta(days=30),
            tokens_per_month=100,
        )
    )
    await session.flush()


async def _bonus_rows(session: AsyncSession, user: User) -> list[TokenTransaction]:
    statement = select(TokenTransaction).where(
        TokenTransaction.user_id == user.id, TokenTransaction.type == TokenTransactionType.EARN_BONUS
    )
    return list(await session.scalars(statement))


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# ----------------------------------------------------------------------------- the fixed order (service)
# Each failing check is set up so that every later check would fail too: the first one is reported.


async def test_not_found(session: AsyncSession) -> None:
    user = await make_user(session)
    assert await _refusal(session, user, new_code()) == _both("voucher_not_found")


async def test_inactive_before_expired_depleted_redeemed(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(
        session, status=VoucherStatus.INACTIVE, expires_at=utcnow() + PAST, max_uses=1, current_uses=1
    )
    await _redeemed_by(session, voucher, user)
    assert await _refusal(session, user, voucher.code) == _both("voucher_inactive")


async def test_expired_before_depleted_redeemed_and_flagged_stale(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, expires_at=utcnow() + PAST, max_uses=1, current_uses=1)
    await _redeemed_by(session, voucher, user)
    assert await _refusal(session, user, voucher.code.lower()) == _both("voucher_expired")
    # Still ACTIVE as stored: the error asks its caller to record the status, which settle_status does.
    with pytest.raises(VoucherUnavailable) as refused:
        await _check(session, user, voucher.code)
    assert (refused.value.stale, refused.value.voucher_id) == (True, voucher.id)
    assert await service.settle_status(session, voucher.id) == VoucherStatus.EXPIRED
    with pytest.raises(VoucherUnavailable) as again:
        await _check(session, user, voucher.code)
    assert (again.value.code, again.value.stale) == ("voucher_expired", False)


async def test_depleted_before_redeemed_and_flagged_stale(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, max_uses=2, current_uses=2)
    await _redeemed_by(session, voucher, user)
    assert await _refusal(session, user, voucher.code) == _both("voucher_depleted")
    assert await service.settle_status(session, voucher.id) == VoucherStatus.DEPLETED


async def test_already_redeemed(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, max_uses=5, current_uses=1)
    await _redeemed_by(session, voucher, user)
    assert await _refusal(session, user, voucher.code) == _both("voucher_already_redeemed")


async def test_a_check_without_a_user(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, max_uses=5, current_uses=2, value=40)
    await _redeemed_by(session, voucher, user)
    # Anonymous: no "already redeemed" (nobody to have redeemed it).
    checked = await service.check(session, f" {voucher.code.lower()} ", None)
    assert checked.id == voucher.id and service.remaining_uses(checked) == 3


# ----------------------------------------------------------------------------- effects (service)


async def test_fixed_tokens_credit_now_and_a_replay_returns_the_same(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, value=30, max_uses=1)
    done = await _redeem(session, user, voucher.code, replay=True)
    assert (done.tokens_granted, done.balance, done.type, done.trial_tier) == (
        30,
        40,
        VoucherType.FIXED_TOKENS,
        None,
    )
    bonus = [r for r in await _bonus_rows(session, user) if r.source == "voucher"]
    assert [(r.amount, r.source_id) for r in bonus] == [(30, done.redemption_id)]
    await session.refresh(voucher)
    assert (voucher.current_uses, voucher.status) == (1, VoucherStatus.DEPLETED)  # its last use

    replay = await _redeem(session, user, voucher.code, replay=True)
    assert replay.replayed and replay.redemption_id == done.redemption_id
    assert (replay.tokens_granted, replay.balance) == (30, 40)
    with pytest.raises(VoucherUnavailable) as refused:
        await _redeem(session, user, voucher.code)
    assert refused.value.code == "voucher_depleted"
    assert (await tokens.get_balance(session, user.id)).balance == 40


async def test_percentage_bonus_waits_for_a_purchase(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=20)
    done = await _redeem(session, user, voucher.code)
    assert (done.tokens_granted, done.bonus_percent, done.balance) == (0, 20, None)
    redemption = await session.get(VoucherRedemption, done.redemption_id)
    assert redemption is not None and redemption.tokens_granted == 0  # pending
    assert await _bonus_rows(session, user) == []  # nothing yet


async def test_trial_starts_a_trialing_subscription_and_raises_the_tier(session: AsyncSession) -> None:
    user = await make_user(session)
    metadata = {"tier": "STANDARD", "campaign": "spring"}
    voucher = await make_voucher(session, type=VoucherType.SUBSCRIPTION_TRIAL, value=14, metadata_=metadata)
    before = utcnow()
    done = await _redeem(session, user, voucher.code, replay=True)
    assert (done.tokens_granted, done.balance, done.trial_tier) == (40, 50, SubscriptionTier.STANDARD)
    sub = await session.scalar(select(Subscription).where(Subscription.user_id == user.id))
    assert sub is not None
    assert sub.status == SubscriptionStatus.TRIALING and sub.tier == SubscriptionTier.STANDARD
    assert sub.stripe_subscription_id == f"trial_{voucher.id}_{user.id}"
    assert (sub.stripe_price_id, sub.tokens_per_month, sub.cancel_at_period_end) == ("trial", 0, False)
    assert sub.current_period_end - sub.current_period_start == timedelta(days=14)
    assert sub.current_period_start >= before - timedelta(seconds=1)
    assert done.trial_ends_at == sub.current_period_end
    view = await tokens.get_balance(session, user.id)
    assert (view.tier, view.balance) == (SubscriptionTier.STANDARD, 50)
    replay = await _redeem(session, user, voucher.code, replay=True)
    assert replay.replayed and (replay.trial_tier, replay.trial_ends_at) == (
        done.trial_tier,
        done.trial_ends_at,
    )


@pytest.mark.parametrize(
    "status", [SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE]
)
async def test_trial_refused_to_a_subscriber(session: AsyncSession, status: SubscriptionStatus) -> None:
    user = await make_user(session)
    await _subscription(session, user, status)
    voucher = await make_voucher(session, type=VoucherType.SUBSCRIPTION_TRIAL, value=7)
    assert await _refusal(session, user, voucher.code) == _both("already_subscribed")
    await session.refresh(voucher)
    assert voucher.current_uses == 0
    assert await session.scalar(select(VoucherRedemption).filter_by(voucher_id=voucher.id)) is None


async def test_trial_replaces_a_canceled_subscription(session: AsyncSession) -> None:
    user = await make_user(session)
    await _subscription(session, user, SubscriptionStatus.CANCELED)
    voucher = await make_voucher(session, type=VoucherType.SUBSCRIPTION_TRIAL, value=3)
    await _redeem(session, user, voucher.code)
    sub = await session.scalar(
        select(Subscription).where(Subscription.user_id == user.id).execution_options(populate_existing=True)
    )
    assert sub is not None
    assert (sub.status, sub.tier, sub.stripe_price_id) == (
        SubscriptionStatus.TRIALING,
        SubscriptionTier.BASIC,
        "trial",
    )


async def test_a_trial_never_lowers_a_tier(session: AsyncSession) -> None:
    user = await make_user(session)
    await tokens.change_tier(session, user.id, SubscriptionTier.PREMIUM, raise_to_cap=True, source="test")
    voucher = await make_voucher(
        session, type=VoucherType.SUBSCRIPTION_TRIAL, value=7, metadata_={"tier": "BASIC"}
    )
    done = await _redeem(session, user, voucher.code)
    assert (done.tokens_granted, done.balance, done.trial_tier) == (0, None, SubscriptionTier.BASIC)
    view = await tokens.get_balance(session, user.id)
    assert (view.tier, view.balance) == (SubscriptionTier.PREMIUM, 100)


# ----------------------------------------------------------------------------- statuses and limits (service)


async def test_the_periodic_job_settles_statuses(session: AsyncSession) -> None:
    expired = await make_voucher(session, expires_at=utcnow() + PAST)
    used_up = await make_voucher(session, max_uses=3, current_uses=3)
    fine = await make_voucher(session, expires_at=utcnow() + timedelta(days=1), max_uses=3, current_uses=2)
    off = await make_voucher(session, status=VoucherStatus.INACTIVE, expires_at=utcnow() + PAST)
    counts = await tasks.settle_vouchers(session)
    assert counts["expired"] >= 1 and counts["depleted"] >= 1
    for voucher in (expired, used_up, fine, off):
        await session.refresh(voucher)
    assert [v.status for v in (expired, used_up, fine, off)] == [
        VoucherStatus.EXPIRED,
        VoucherStatus.DEPLETED,
        VoucherStatus.ACTIVE,
        VoucherStatus.INACTIVE,
    ]
    assert await tasks.settle_vouchers(session) == {"expired": 0, "depleted": 0}


async def test_redemptions_are_rate_limited_per_user(session: AsyncSession) -> None:
    user, other = await make_user(session), await make_user(session)
    limiter = RateLimiter()
    for _ in range(5):  # failed attempts count too: guessing codes is what this stops
        with pytest.raises(SpikelandError) as missing:
            await _redeem(session, user, new_code(), limiter=limiter, per_hour=5)
        assert missing.value.code == "voucher_not_found"
    voucher = await make_voucher(session)
    with pytest.raises(TooManyRequests) as limited:
        await _redeem(session, user, voucher.code, limiter=limiter, per_hour=5)
    assert limited.value.code == "rate_limited"
    assert limited.value.headers is not None and 1 <= int(limited.value.headers["Retry-After"]) <= 3600
    assert (await _redeem(session, other, voucher.code, limiter=limiter, per_hour=5)).tokens_granted == 25


# ----------------------------------------------------------------------------- contract (HTTP)


async def test_validate_route_without_a_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    voucher = await committed_voucher(app, max_uses=5, current_uses=2, value=40)
    checked = await client.post(VALIDATE, json={"code": f" {voucher.code.lower()} "})
    assert checked.status_code == 200, checked.text
    assert checked.json() == {
        "valid": True,
        "voucher": {
            "code": voucher.code,
            "type": "FIXED_TOKENS",
            "value": 40,
            "remainingUses": 3,
            "expiresAt": None,
        },
    }
    assert error(await client.post(VALIDATE, json={"code": new_code()})) == (404, "voucher_not_found")
    assert (await client.post(REDEEM, json={"code": voucher.code})).status_code == 401


async def test_redeem_route_answers_and_replays_with_a_key(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    voucher = await committed_voucher(app, value=30, max_uses=1)
    headers = {"Idempotency-Key": "redeem-1"}
    first = await client.post(REDEEM, json={"code": voucher.code}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["tokensGranted"], body["balance"], body["type"], body["trial"]) == (
        30,
        40,
        "FIXED_TOKENS",
        None,
    )
    assert (body["voucherId"], body["code"], body["bonusPercent"]) == (voucher.id, voucher.code, None)
    assert {"redemptionId", "redeemedAt"} <= set(body)
    assert "Idempotent-Replayed" not in first.headers

    replay = await client.post(REDEEM, json={"code": voucher.code}, headers=headers)
    assert replay.status_code == 200 and replay.json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert error(await client.post(REDEEM, json={"code": voucher.code})) == (409, "voucher_depleted")


async def test_redeem_route_shows_a_trial_and_validate_knows_the_user(
    app: FastAPI, user_client: UserClient
) -> None:
    client, _ = await user_client()
    voucher = await committed_voucher(app, type=VoucherType.SUBSCRIPTION_TRIAL, value=14)
    body = (await client.post(REDEEM, json={"code": voucher.code})).json()
    assert body["trial"]["tier"] == "BASIC" and body["trial"]["endsAt"] > body["redeemedAt"]
    # Signed in, validate checks for this user too.
    again = await client.post(VALIDATE, json={"code": voucher.code})
    assert error(again) == (409, "voucher_already_redeemed")


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_a_refusal_still_records_the_status(app: FastAPI, user_client: UserClient, path: str) -> None:
    """The request's transaction rolls back with the error: the route writes EXPIRED in another."""
    client, _ = await user_client()
    voucher = await committed_voucher(app, expires_at=utcnow() + PAST)
    assert error(await client.post(path, json={"code": voucher.code})) == (409, "voucher_expired")
    [stored] = await fetch(app, Voucher, id=voucher.id)
    assert stored.status == VoucherStatus.EXPIRED


async def test_validation_is_rate_limited_per_ip(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = app.state.settings.voucher_validations_per_hour
    for _ in range(limit):
        await client.post(VALIDATE, json={"code": new_code()})
    limited = await client.post(VALIDATE, json={"code": new_code()})
    assert error(limited) == (429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
