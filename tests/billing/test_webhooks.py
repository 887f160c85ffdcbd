"""The webhook endpoint and the inbox: signatures, malformed bodies, duplicates, the worker."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from spikeland.billing import webhooks
from spikeland.billing.models import StripePaymentStatus
from spikeland.billing.webhooks import process_pending
from spikeland.integrations.stripe import StripeGateway
from spikeland.ops.models import ErrorLog
from spikeland.settings import Settings
from spikeland.tokens.models import TokenTransactionType
from tests.billing.helpers import (
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    Sessions,
    deliver,
    inbox,
    movements,
    new_user,
    pack_completed,
    payments,
)
from tests.integrations.stripe_peer import event, sign


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_signature_failures_are_400_and_store_nothing(bclient: httpx.AsyncClient) -> None:
    sent = event("customer.created", {"id": "cus_x", "object": "customer"})
    body = json.dumps(sent).encode()
    cases: dict[str, dict[str, str]] = {
        "missing": {},
        "garbage": {"Stripe-Signature": "not a signature"},
        "wrong secret": {"Stripe-Signature": sign(body, "whsec_someone_else")},
        "too old": {"Stripe-Signature": sign(body, WEBHOOK_SECRET, int(time.time()) - 3600)},
        "other body": {"Stripe-Signature": sign(body + b" ", WEBHOOK_SECRET)},
    }
    for name, headers in cases.items():
        response = await bclient.post(WEBHOOK_URL, content=body, headers=headers)
        assert response.status_code == 400, name
        assert _code(response) == "invalid_signature", name


async def test_malformed_payloads_are_400_never_500(bclient: httpx.AsyncClient) -> None:
    bodies = [
        b"{not json",
        b"\xff\xfe\x00binary",
        b"[1, 2, 3]",
        json.dumps({"id": "evt_1", "type": "x"}).encode(),  # no data.object
        json.dumps({"type": "x", "data": {"object": {}}}).encode(),  # no id
        json.dumps({"id": 5, "type": "x", "data": {"object": {}}}).encode(),
        json.dumps({"id": "evt_nul", "type": "x", "data": {"object": {"name": "a\u0000b"}}}).encode(),
    ]
    for body in bodies:
        response = await bclient.post(
            WEBHOOK_URL, content=body, headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)}
        )
        assert response.status_code == 400, (body, response.text)
        assert _code(response) in ("malformed_payload", "invalid_signature")


async def test_a_body_over_64_kb_is_413(bclient: httpx.AsyncClient) -> None:
    sent = event("customer.created", {"id": "cus_x", "padding": "x" * 70_000})
    response = await deliver(bclient, sent)
    assert response.status_code == 413
    assert _code(response) == "payload_too_large"


async def test_unknown_event_type_is_recorded_and_marked_processed(
    bclient: httpx.AsyncClient, sessions: Sessions, gateway: StripeGateway
) -> None:
    sent = event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    response = await deliver(bclient, sent)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    [row] = await inbox(sessions, sent["id"])
    assert (row.provider, row.event_type, row.processed) == ("STRIPE", "customer.tax_id.created", False)
    assert row.payload == sent

    await process_pending(sessions, gateway=gateway)
    [row] = await inbox(sessions, sent["id"])
    assert row.processed and row.processed_at is not None


async def test_a_redelivery_answers_200_and_changes_nothing(
    bclient: httpx.AsyncClient, sessions: Sessions, catalogue: dict[str, Any], gateway: StripeGateway
) -> None:
    user_id = await new_user(sessions)
    sent = pack_completed(user_id, catalogue["price_tokens_10"])
    first = await deliver(bclient, sent)
    await process_pending(sessions, gateway=gateway)
    again = await deliver(bclient, sent)
    assert first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    await process_pending(sessions, gateway=gateway)
    assert len(await inbox(sessions, sent["id"])) == 1
    assert len(await payments(sessions, user_id)) == 1


async def test_one_event_delivered_ten_times_at_once_credits_once(
    bclient: httpx.AsyncClient, sessions: Sessions, catalogue: dict[str, Any], gateway: StripeGateway
) -> None:
    user_id = await new_user(sessions)
    package = catalogue["price_tokens_150"]
    sent = pack_completed(user_id, package)
    responses = await asyncio.gather(*(deliver(bclient, sent) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sum(not r.json()["duplicate"] for r in responses) == 1

    await asyncio.gather(
        process_pending(sessions, gateway=gateway), process_pending(sessions, gateway=gateway)
    )
    [payment] = await payments(sessions, user_id)
    assert payment.status == StripePaymentStatus.SUCCEEDED
    assert payment.package_id == package.id
    assert payment.tokens_granted == 150
    assert payment.amount_usd == Decimal("24.99")
    assert payment.stripe_payment_intent_id == sent["data"]["object"]["payment_intent"]
    [credit] = await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE)
    assert (credit.amount, credit.source, credit.source_id) == (
        150,
        "stripe",
        payment.stripe_payment_intent_id,
    )
    [row] = await inbox(sessions, sent["id"])
    assert row.processed


async def test_an_event_that_can_never_apply_is_logged_and_not_retried(
    bclient: httpx.AsyncClient, sessions: Sessions, catalogue: dict[str, Any], gateway: StripeGateway
) -> None:
    sent = pack_completed("c_no_such_user_000000000000", catalogue["price_tokens_10"])
    assert (await deliver(bclient, sent)).status_code == 200
    await process_pending(sessions, gateway=gateway)
    [row] = await inbox(sessions, sent["id"])
    assert row.processed
    async with sessions() as session:
        logged = (
            await session.scalars(select(ErrorLog).where(ErrorLog.error_type == "StripeWebhookEvent"))
        ).all()
    assert any(sent["id"] in entry.message for entry in logged)


async def test_a_failing_event_stays_pending_without_blocking_the_others(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    catalogue: dict[str, Any],
    gateway: StripeGateway,
    settings: Settings,
) -> None:
    """A plan checkout needs Stripe (the subscription's period); without a key it cannot apply now."""
    user_id = await new_user(sessions)
    plan = catalogue["price_plan_hobby"]
    stuck = event(
        "checkout.session.completed",
        {
            "id": "cs_test_stuck",
            "object": "checkout.session",
            "mode": "subscription",
            "payment_status": "paid",
            "subscription": "sub_missing",
            "metadata": {"userId": user_id, "planId": plan.id},
        },
    )
    later = pack_completed(user_id, catalogue["price_tokens_10"])
    await deliver(bclient, stuck)
    await deliver(bclient, later)

    webhooks._failures.clear()
    await process_pending(sessions, gateway=None, settings=settings)
    assert not (await inbox(sessions, stuck["id"]))[0].processed
    assert (await inbox(sessions, later["id"]))[0].processed
    assert len(await payments(sessions, user_id)) == 1

    # Backed off: the next run leaves it alone; once due it is tried again (and, with Stripe
    # answering that the subscription does not exist, still waits).
    await process_pending(sessions, gateway=gateway)
    assert webhooks._failures[(await inbox(sessions, stuck["id"]))[0].id][0] == 1
    webhooks._failures.clear()
    await process_pending(sessions, gateway=gateway)
    assert not (await inbox(sessions, stuck["id"]))[0].processed
    async with sessions() as session, session.begin():  # leave no stuck event to later tests
        row = (await inbox(sessions, stuck["id"]))[0]
        await session.execute(
            webhooks.MerchWebhookEvent.__table__.update()
            .where(webhooks.MerchWebhookEvent.id == row.id)
            .values(processed=True)
        )
    webhooks._failures.clear()
