"""Checkout against the Stripe peer, then the payment as Stripe reports it (signed events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spikeland.app import create_app
from spikeland.billing.models import StripePaymentStatus
from spikeland.billing.webhooks import process_pending
from spikeland.identity.models import User
from spikeland.integrations.stripe import StripeGateway
from spikeland.settings import Settings
from spikeland.tokens.models import TokenTransactionType
from tests.billing.helpers import (
    WEBHOOK_URL,
    Sessions,
    balance,
    complete,
    deliver,
    movements,
    payments,
    sign_in,
)
from tests.integrations.stripe_peer import StripePeer
from tests.support import client_of

DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined


async def test_a_pack_purchase_from_checkout_to_tokens(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id = await sign_in(bclient)
    package = catalogue["price_tokens_50"]
    headers = {"Idempotency-Key": "buy-basic-1"}
    started = await bclient.post("/api/v1/billing/checkout", json={"packageId": package.id}, headers=headers)
    assert started.status_code == 200, started.text
    session_id = started.json()["sessionId"]
    assert started.json()["url"].startswith(peer.url)
    again = await bclient.post("/api/v1/billing/checkout", json={"packageId": package.id}, headers=headers)
    assert again.json()["sessionId"] == session_id  # the same key: the same Stripe session

    # What Stripe was asked for: the pack's amount in pence, GBP, our metadata and URLs.
    created = peer.state.sessions[session_id]
    assert (created["amount_total"], created["currency"], created["mode"]) == (999, "gbp", "payment")
    assert created["metadata"] == {
        "userId": user_id,
        "packageId": package.id,
        "tokens": "50",
        "type": "token_purchase",
    }
    assert created["success_url"].startswith("http://127.0.0.1:8000/tokens?purchase=success")
    async with sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None and user.stripe_customer_id == created["customer"]

    completed = await complete(peer, session_id)
    assert (await deliver(bclient, completed)).status_code == 200
    assert await process_pending(sessions, gateway=gateway) >= 1

    [payment] = await payments(sessions, user_id)
    intent = completed["data"]["object"]["payment_intent"]
    assert intent.startswith("pi_")
    assert (payment.status, payment.package_id, payment.tokens_granted) == (
        StripePaymentStatus.SUCCEEDED,
        package.id,
        50,
    )
    assert (payment.amount_usd, payment.stripe_payment_intent_id) == (Decimal("9.99"), intent)
    [credit] = await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE)
    assert (credit.amount, credit.source, credit.source_id) == (50, "stripe", intent)
    assert (await balance(sessions, user_id)).balance == 10 + 50

    listed = await bclient.get("/api/v1/billing/payments")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["packageId"], item["tokensGranted"], item["amount"], item["status"]) == (
        package.id,
        50,
        "9.99",
        "SUCCEEDED",
    )


async def test_a_reused_idempotency_key_with_another_body_is_409(
    bclient: httpx.AsyncClient, catalogue: dict[str, Any]
) -> None:
    await sign_in(bclient)
    headers = {"Idempotency-Key": "same-key"}
    first = await bclient.post(
        "/api/v1/billing/checkout", json={"packageId": catalogue["price_tokens_10"].id}, headers=headers
    )
    assert first.status_code == 200
    other = await bclient.post(
        "/api/v1/billing/checkout", json={"packageId": catalogue["price_tokens_500"].id}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_checkout_rules(bclient: httpx.AsyncClient, catalogue: dict[str, Any]) -> None:
    assert (await bclient.post("/api/v1/billing/checkout", json={"packageId": "x"})).status_code == 401
    await sign_in(bclient)
    both = {"packageId": catalogue["price_tokens_10"].id, "planId": catalogue["price_plan_hobby"].id}
    for body in ({}, both):
        response = await bclient.post("/api/v1/billing/checkout", json=body)
        assert response.status_code == 422, body
    for body, code in (({"packageId": "nope"}, "package_not_found"), ({"planId": "nope"}, "plan_not_found")):
        response = await bclient.post("/api/v1/billing/checkout", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (404, code)


@pytest.fixture
async def unconfigured(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The application with no Stripe settings at all (the default)."""
    app: FastAPI = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        yield client


async def test_without_stripe_settings_payments_are_unavailable(
    unconfigured: httpx.AsyncClient, catalogue: dict[str, Any]
) -> None:
    await sign_in(unconfigured)
    response = await unconfigured.post(
        "/api/v1/billing/checkout", json={"packageId": catalogue["price_tokens_10"].id}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (503, "payments_unavailable")
    hook = await unconfigured.post(WEBHOOK_URL, content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
    assert (hook.status_code, hook.json()["error"]["code"]) == (503, "webhooks_unavailable")
    assert (await unconfigured.get("/api/v1/billing/subscription")).json() is None


async def test_a_declined_card_records_a_failed_payment_and_grants_nothing(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id = await sign_in(bclient)
    package = catalogue["price_tokens_150"]
    started = await bclient.post("/api/v1/billing/checkout", json={"packageId": package.id})
    failed = await complete(peer, started.json()["sessionId"], card=DECLINED_CARD)
    assert failed["type"] == "payment_intent.payment_failed"
    assert (await deliver(bclient, failed)).status_code == 200
    await process_pending(sessions, gateway=gateway)

    [payment] = await payments(sessions, user_id)
    assert (payment.status, payment.package_id, payment.tokens_granted) == (
        StripePaymentStatus.FAILED,
        package.id,
        0,
    )
    assert payment.amount_usd == Decimal("24.99")
    assert payment.stripe_payment_intent_id == failed["data"]["object"]["id"]
    assert payment.metadata_["failure"]["code"] == "card_declined"
    assert await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE) == []
    assert (await balance(sessions, user_id)).balance == 10
