"""Checking and redeeming codes over HTTP: the fixed check order, each type's effect, replays,
automatic EXPIRED/DEPLETED, the periodic job and the rate limit."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from spikeland.billing.models import Subscription, SubscriptionStatus
from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import SubscriptionTier
from spikeland.growth import tasks
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support import committed_voucher, fetch, new_code
from tests.support.fixtures import UserClient

VALIDATE, REDEEM = "/api/v1/vouchers/validate", "/api/v1/vouchers/redeem"
PAST = timedelta(minutes=-5)


async def redeemed_by(app: FastAPI, voucher: Voucher, user_id: str) -> None:
    async with transaction(app.state.sessionmaker) as session:
        session.add(VoucherRedemption(voucher_id=voucher.id, user_id=user_id, tokens_granted=0))


async def status_of(app: FastAPI, voucher: Voucher) -> VoucherStatus:
    [row] = await fetch(app, Voucher, id=voucher.id)
    return row.status


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# ----------------------------------------------------------------------------- the fixed order
# Each failing check is set up so that every later check would fail too: the first one is reported.


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_not_found(user_client: UserClient, path: str) -> None:
    client, _ = await user_client()
    assert error(await client.post(path, json={"code": new_code()})) == (404, "voucher_not_found")


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_inactive_before_expired_depleted_redeemed(
    app: FastAPI, user_client: UserClient, path: str
) -> None:
    client, user_id = await user_client()
    voucher = await committed_voucher(
        app, status=VoucherStatus.INACTIVE, expires_at=utcnow() + PAST, max_uses=1, current_uses=1
    )
    await redeemed_by(app, voucher, user_id)
    assert error(await client.post(path, json={"code": voucher.code})) == (409, "voucher_inactive")
    assert await status_of(app, voucher) == VoucherStatus.INACTIVE


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_expired_before_depleted_redeemed_and_recorded(
    app: FastAPI, user_client: UserClient, path: str
) -> None:
    client, user_id = await user_client()
    voucher = await committed_voucher(app, expires_at=utcnow() + PAST, max_uses=1, current_uses=1)
    await redeemed_by(app, voucher, user_id)
    response = await client.post(path, json={"code": voucher.code.lower()})
    assert error(response) == (409, "voucher_expired")
    assert await status_of(app, voucher) == VoucherStatus.EXPIRED  # discovered, written
    assert error(await client.post(path, json={"code": voucher.code})) == (409, "voucher_expired")


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_depleted_before_redeemed_and_recorded(
    app: FastAPI, user_client: UserClient, path: str
) -> None:
    client, user_id = await user_client()
    voucher = await committed_voucher(app, max_uses=2, current_uses=2)
    await redeemed_by(app, voucher, user_id)
    assert error(await client.post(path, json={"code": voucher.code})) == (409, "voucher_depleted")
    assert await status_of(app, voucher) == VoucherStatus.DEPLETED


@pytest.mark.parametrize("path", [VALIDATE, REDEEM])
async def test_already_redeemed(app: FastAPI, user_client: UserClient, path: str) -> None:
    client, user_id = await user_client()
    voucher = await committed_voucher(app, max_uses=5, current_uses=1)
    await redeemed_by(app, voucher, user_id)
    assert error(await client.post(path, json={"code": voucher.code})) == (409, "voucher_already_redeemed")


async def test_validate_without_a_session(app: FastAPI, client: httpx.AsyncClient) -> None:
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
    assert (await client.post(REDEEM, json={"code": voucher.code})).status_code == 401


# ----------------------------------------------------------------------------- effects


async def ledger_rows(app: FastAPI, user_id: str, type_: TokenTransactionType) -> list[TokenTransaction]:
    async with transaction(app.state.sessionmaker) as session:
        statement = select(TokenTransaction).where(
            TokenTransaction.user_id == user_id, TokenTransaction.type == type_
        )
        return list((await session.scalars(statement.order_by(TokenTransaction.created_at))).all())


async def test_fixed_tokens_credit_now_and_a_keyed_repeat_replays(
    app: FastAPI, user_client: UserClient
) -> None:
    client, user_id = await user_client()
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
    bonus = [
        r for r in await ledger_rows(app, user_id, TokenTransactionType.EARN_BONUS) if r.source == "voucher"
    ]
    assert [(r.amount, r.source_id) for r in bonus] == [(30, body["redemptionId"])]
    [stored] = await fetch(app, Voucher, id=voucher.id)
    assert (stored.current_uses, stored.status) == (1, VoucherStatus.DEPLETED)  # its last use

    replay = await client.post(REDEEM, json={"code": voucher.code}, headers=headers)
    assert replay.status_code == 200 and replay.json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert error(await client.post(REDEEM, json={"code": voucher.code})) == (409, "voucher_depleted")
    async with transaction(app.state.sessionmaker) as session:
        assert (await tokens.get_balance(session, user_id)).balance == 40


async def test_percentage_bonus_waits_for_a_purchase(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    voucher = await committed_voucher(app, type=VoucherType.PERCENTAGE_BONUS, value=20)
    response = await client.post(REDEEM, json={"code": voucher.code})
    body = response.json()
    assert (body["tokensGranted"], body["bonusPercent"], body["balance"]) == (0, 20, None)
    [redemption] = await fetch(app, VoucherRedemption, voucher_id=voucher.id)
    assert redemption.tokens_granted == 0  # pending
    assert await ledger_rows(app, user_id, TokenTransactionType.EARN_BONUS) == []  # nothing yet


async def test_trial_starts_a_trialing_subscription_and_raises_the_tier(
    app: FastAPI, user_client: UserClient
) -> None:
    client, user_id = await user_client()
    metadata = {"tier": "STANDARD", "campaign": "spring"}
    voucher = await committed_voucher(app, type=VoucherType.SUBSCRIPTION_TRIAL, value=14, metadata_=metadata)
    before = utcnow()
    response = await client.post(REDEEM, json={"code": voucher.code}, headers={"Idempotency-Key": "t1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tokensGranted"], body["balance"], body["trial"]["tier"]) == (40, 50, "STANDARD")
    [sub] = await fetch(app, Subscription, user_id=user_id)
    assert sub.status == SubscriptionStatus.TRIALING and sub.tier == SubscriptionTier.STANDARD
    assert sub.stripe_subscription_id == f"trial_{voucher.id}_{user_id}"
    assert (sub.stripe_price_id, sub.tokens_per_month, sub.cancel_at_period_end) == ("trial", 0, False)
    assert sub.current_period_end - sub.current_period_start == timedelta(days=14)
    assert sub.current_period_start >= before - timedelta(seconds=1)
    async with transaction(app.state.sessionmaker) as session:
        view = await tokens.get_balance(session, user_id)
    assert (view.tier, view.balance) == (SubscriptionTier.STANDARD, 50)
    replay = await client.post(REDEEM, json={"code": voucher.code}, headers={"Idempotency-Key": "t1"})
    assert replay.json() == body


@pytest.mark.parametrize(
    "status", [SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE]
)
async def test_trial_refused_to_a_subscriber(
    app: FastAPI, user_client: UserClient, status: SubscriptionStatus
) -> None:
    client, user_id = await user_client()
    await _subscription(app, user_id, status)
    voucher = await committed_voucher(app, type=VoucherType.SUBSCRIPTION_TRIAL, value=7)
    for path in (VALIDATE, REDEEM):
        assert error(await client.post(path, json={"code": voucher.code})) == (409, "already_subscribed")
    [stored] = await fetch(app, Voucher, id=voucher.id)
    assert stored.current_uses == 0 and await fetch(app, VoucherRedemption, voucher_id=voucher.id) == []


async def test_trial_replaces_a_canceled_subscription(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    await _subscription(app, user_id, SubscriptionStatus.CANCELED)
    voucher = await committed_voucher(app, type=VoucherType.SUBSCRIPTION_TRIAL, value=3)
    assert (await client.post(REDEEM, json={"code": voucher.code})).status_code == 200
    [sub] = await fetch(app, Subscription, user_id=user_id)
    assert (sub.status, sub.tier, sub.stripe_price_id) == (
        SubscriptionStatus.TRIALING,
        SubscriptionTier.BASIC,
        "trial",
    )


async def _subscription(app: FastAPI, user_id: str, status: SubscriptionStatus) -> None:
    now = utcnow()
    async with transaction(app.state.sessionmaker) as session:
        session.add(
            Subscription(
                user_id=user_id,
                stripe_subscription_id=f"sub_{new_code()}",
                stripe_price_id="price_x",
                status=status,
                tier=SubscriptionTier.PREMIUM,
                current_period_start=now,
                current_period_end=now + timedelta(days=30),
                tokens_per_month=100,
            )
        )


# ----------------------------------------------------------------------------- statuses and limits


async def test_the_periodic_job_settles_statuses(app: FastAPI) -> None:
    expired = await committed_voucher(app, expires_at=utcnow() + PAST)
    used_up = await committed_voucher(app, max_uses=3, current_uses=3)
    fine = await committed_voucher(app, expires_at=utcnow() + timedelta(days=1), max_uses=3, current_uses=2)
    off = await committed_voucher(app, status=VoucherStatus.INACTIVE, expires_at=utcnow() + PAST)
    async with transaction(app.state.sessionmaker) as session:
        counts = await tasks.settle_vouchers(session)
    assert counts["expired"] >= 1 and counts["depleted"] >= 1
    assert await status_of(app, expired) == VoucherStatus.EXPIRED
    assert await status_of(app, used_up) == VoucherStatus.DEPLETED
    assert await status_of(app, fine) == VoucherStatus.ACTIVE
    assert await status_of(app, off) == VoucherStatus.INACTIVE
    async with transaction(app.state.sessionmaker) as session:
        assert await tasks.settle_vouchers(session) == {"expired": 0, "depleted": 0}


async def test_redemptions_are_rate_limited_per_user(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    other, _ = await user_client()
    for _ in range(5):  # failed attempts count too: guessing codes is what this stops
        assert (await client.post(REDEEM, json={"code": new_code()})).status_code == 404
    voucher = await committed_voucher(app)
    limited = await client.post(REDEEM, json={"code": voucher.code})
    assert error(limited) == (429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert (await other.post(REDEEM, json={"code": voucher.code})).status_code == 200


async def test_validation_is_rate_limited_per_ip(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = app.state.settings.voucher_validations_per_hour
    for _ in range(limit):
        await client.post(VALIDATE, json={"code": new_code()})
    assert error(await client.post(VALIDATE, json={"code": new_code()})) == (429, "rate_limited")


async def test_a_trial_never_lowers_a_tier(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    async with transaction(app.state.sessionmaker) as session:
        await tokens.change_tier(session, user_id, SubscriptionTier.PREMIUM, raise_to_cap=True, source="test")
    voucher = await committed_voucher(
        app, type=VoucherType.SUBSCRIPTION_TRIAL, value=7, metadata_={"tier": "BASIC"}
    )
    body = (await client.post(REDEEM, json={"code": voucher.code})).json()
    assert (body["tokensGranted"], body["balance"], body["trial"]["tier"]) == (0, None, "BASIC")
    async with transaction(app.state.sessionmaker) as session:
        view = await tokens.get_balance(session, user_id)
    assert (view.tier, view.balance) == (SubscriptionTier.PREMIUM, 100)
