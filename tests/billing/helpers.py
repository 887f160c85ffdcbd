"""Billing test steps: making buyers, delivering signed events, and reading the billing state back."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.billing.models import StripePayment, Subscription
from spikeland.core.clock import utcnow
from spikeland.ops.models import MerchWebhookEvent
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokensPackage, TokenTransaction, TokenTransactionType
from tests import support
from tests.integrations.stripe_peer import StripePeer, event, sign
from tests.support import make_user, new_email

WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(8)
WEBHOOK_URL = "/api/v1/billing/webhooks/stripe"
Sessions = async_sessionmaker[AsyncSession]

# Users the module's tests committed, deleted when the module ends (billing's ``catalogue`` fixture).
created_users: list[str] = []


async def payments(sessions: Sessions, user_id: str) -> list[StripePayment]:
    async with sessions() as session:
        return list(
            (await session.scalars(select(StripePayment).where(StripePayment.user_id == user_id))).all()
        )


async def movements(
    sessions: Sessions, user_id: str, type_: TokenTransactionType | None = None
) -> list[TokenTransaction]:
    statement = select(TokenTransaction).where(TokenTransaction.user_id == user_id)
    if type_ is not None:
        statement = statement.where(TokenTransaction.type == type_)
    async with sessions() as session:
        return list((await session.scalars(statement.order_by(TokenTransaction.created_at))).all())


async def balance(sessions: Sessions, user_id: str) -> tokens.BalanceView:
    async with sessions() as session, session.begin():
        return await tokens.get_balance(session, user_id)


async def subscription(sessions: Sessions, user_id: str) -> Subscription:
    async with sessions() as session:
        sub = (await session.scalars(select(Subscription).where(Subscription.user_id == user_id))).one()
        return sub


async def inbox(sessions: Sessions, event_id: str) -> list[MerchWebhookEvent]:
    async with sessions() as session:
        statement = select(MerchWebhookEvent).where(MerchWebhookEvent.event_id == event_id)
        return list((await session.scalars(statement)).all())


def pack_completed(user_id: str, package: TokensPackage, *, intent: str | None = None) -> dict[str, Any]:
    """A checkout.session.completed for a token pack, as Stripe sends it."""
    amount = int(package.price_usd * 100)
    return event(
        "checkout.session.completed",
        {
            "id": f"cs_test_{secrets.token_hex(8)}",
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": amount,
            "currency": "gbp",
            "customer": f"cus_{secrets.token_hex(6)}",
            "payment_intent": intent or f"pi_{secrets.token_hex(8)}",
            "metadata": {
                "userId": user_id,
                "packageId": package.id,
                "tokens": str(package.tokens),
                "type": "token_purchase",
            },
            "created": int(time.time()),
        },
    )


async def complete(peer: StripePeer, session_id: str, card: str | None = None) -> Any:
    """The buyer pays on Stripe's page; returns the event Stripe then sends."""
    async with httpx.AsyncClient(base_url=peer.url, headers={"Authorization": "Bearer sk_test_x"}) as stripe:
        answer = await stripe.post(
            f"/_test/checkout/sessions/{session_id}/complete", data={"card": card} if card else {}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def invoice_paid(subscription_id: str, reason: str, start: datetime, end: datetime) -> dict[str, Any]:
    """An invoice.paid as Stripe sends it today (the subscription under ``parent``)."""
    return event(
        "invoice.paid",
        {
            "id": f"in_{secrets.token_hex(8)}",
            "object": "invoice",
            "billing_reason": reason,
            "status": "paid",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription_id},
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "object": "line_item",
                        "period": {"start": int(start.timestamp()), "end": int(end.timestamp())},
                    }
                ],
            },
        },
    )


async def end_period(sessions: Sessions, user_id: str) -> tuple[datetime, datetime]:
    """Let a month pass: the subscription's period ends now. Returns the next period."""
    now = utcnow().replace(microsecond=0)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Subscription)
            .where(Subscription.user_id == user_id)
            .values(
                current_period_start=now - timedelta(days=30), current_period_end=now - timedelta(seconds=1)
            )
        )
    return now - timedelta(seconds=1), now + timedelta(days=30)


async def spend(sessions: Sessions, user_id: str, amount: int) -> None:
    async with sessions() as session, session.begin():
        await tokens.spend(
            session,
            user_id,
            amount,
            TokenTransactionType.SPEND_ENHANCEMENT,
            source="test",
            source_id=secrets.token_hex(6),
        )


async def buy(sessions: Sessions, user_id: str, amount: int) -> None:
    """Tokens bought (as a pack purchase credits them)."""
    async with sessions() as session, session.begin():
        await tokens.credit(
            session,
            user_id,
            amount,
            TokenTransactionType.EARN_PURCHASE,
            source="stripe",
            source_id=f"pi_{secrets.token_hex(6)}",
        )


async def new_user(sessions: Sessions, **fields: Any) -> str:
    async with sessions() as session, session.begin():
        user_id = (await make_user(session, **fields)).id
    created_users.append(user_id)
    return user_id


async def sign_in(client: httpx.AsyncClient) -> str:
    """A new user signed in on ``client`` (deleted with the module's other users); returns the id."""
    user_id = (await support.sign_in(client, new_email("buyer"))).id
    created_users.append(user_id)
    return user_id


async def deliver(
    client: httpx.AsyncClient,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    """Post ``event`` as Stripe does: the JSON body and its signature."""
    body = json.dumps(event).encode()
    return await client.post(
        WEBHOOK_URL,
        content=body,
        headers={"Stripe-Signature": sign(body, secret, timestamp), "Content-Type": "application/json"},
    )
