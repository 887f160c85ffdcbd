"""Billing tests: the application on the test database, Stripe as a real peer on loopback.

Events reach the application the way Stripe sends them: JSON signed with the endpoint's secret
(``Stripe-Signature``) posted to the webhook URL. Data is committed (the webhook and the worker
run in their own transactions), so every test makes its own users.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from spikeland.app import create_app
from spikeland.billing.models import SubscriptionPlan
from spikeland.core.clock import utcnow
from spikeland.identity.models import User
from spikeland.integrations.stripe import StripeGateway, make_gateway
from spikeland.ops.models import ErrorLog, MerchWebhookEvent
from spikeland.seed import SEED_LOCK_KEY, SUBSCRIPTION_PLANS, TOKEN_PACKAGES
from spikeland.settings import Settings
from spikeland.tokens.models import TokensPackage
from tests.billing.helpers import WEBHOOK_SECRET, Sessions, created_users
from tests.integrations.stripe_peer import StripePeer, stripe_peer
from tests.support import client_of


@pytest.fixture(scope="session")
def peer() -> Iterator[StripePeer]:
    with stripe_peer() as running:
        yield running


@pytest.fixture(scope="session")
def billing_settings(settings: Settings, peer: StripePeer) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr("sk_test_" + secrets.token_hex(8)),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": peer.url,
        }
    )


@pytest.fixture
def gateway(billing_settings: Settings) -> StripeGateway:
    made = make_gateway(billing_settings)
    assert made is not None
    return made


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture(scope="module", autouse=True)
async def catalogue(engine: AsyncEngine) -> AsyncIterator[dict[str, Any]]:
    """The packs and plans of the seed (committed), by stripePriceId.

    Billing's tests commit, so each module leaves the database as it found it: the users it
    made (and with them their payments, subscriptions and ledger rows), its inbox events and
    error rows, and the reference rows it had to add (other tests expect an unseeded database).
    """
    made = async_sessionmaker(engine, expire_on_commit=False)
    started = utcnow()
    added: list[Any] = []
    async with made() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
        existing = set((await session.scalars(select(TokensPackage.stripe_price_id))).all())
        existing |= set((await session.scalars(select(SubscriptionPlan.stripe_price_id))).all())
        for i, pack in enumerate(TOKEN_PACKAGES, 1):
            if pack.stripe_price_id not in existing:
                added.append(TokensPackage(**pack._asdict(), sort_order=i))
        for i, plan in enumerate(SUBSCRIPTION_PLANS, 1):
            if plan.stripe_price_id not in existing:
                added.append(SubscriptionPlan(**plan._asdict(), sort_order=i))
        session.add_all(added)
    async with made() as session:
        packs = (await session.scalars(select(TokensPackage))).all()
        plans = (await session.scalars(select(SubscriptionPlan))).all()
    yield {p.stripe_price_id: p for p in [*packs, *plans]}

    async with made() as session, session.begin():
        await session.execute(delete(User).where(User.id.in_(created_users)))
        await session.execute(
            delete(MerchWebhookEvent).where(
                MerchWebhookEvent.provider == "STRIPE", MerchWebhookEvent.created_at >= started
            )
        )
        await session.execute(
            delete(ErrorLog).where(ErrorLog.error_type == "StripeWebhookEvent", ErrorLog.timestamp >= started)
        )
        for row in added:
            await session.execute(delete(type(row)).where(type(row).id == row.id))
    created_users.clear()


@pytest.fixture
async def billing_app(billing_settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(billing_settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def bclient(billing_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(billing_app) as client:
        yield client
