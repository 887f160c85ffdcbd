"""The merch tests run on a database of their own, seeded with the reference catalogue: they commit
catalogue rows, which the seed tests expect to find nowhere in the shared test database."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.app import create_app
from spikeland.db.engine import make_engine
from spikeland.seed import seed
from spikeland.settings import Settings
from tests.billing.helpers import WEBHOOK_SECRET
from tests.conftest import migrated_database
from tests.integrations.stripe_peer import StripePeer, stripe_peer


async def _seeded(url: str, settings: Settings) -> None:
    engine = make_engine(url, settings)
    try:
        async with engine.begin() as conn, AsyncSession(bind=conn) as session:
            await seed(session)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def merch_database(server_url: str, settings: Settings) -> Iterator[str]:
    with migrated_database(server_url, "spikeland_merch") as url:
        asyncio.run(_seeded(url, settings))
        yield url


@pytest.fixture(scope="session")
def stripe() -> Iterator[StripePeer]:
    with stripe_peer() as running:
        yield running


@pytest.fixture
async def app(settings: Settings, merch_database: str, stripe: StripePeer) -> AsyncIterator[FastAPI]:
    """The application on the merch database with Stripe on loopback (overrides the suite's ``app``
    in this folder)."""
    own = settings.model_copy(
        update={
            "database_url": merch_database,
            "stripe_secret_key": SecretStr("sk_test_" + secrets.token_hex(8)),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": stripe.url,
        }
    )
    app = create_app(own, database_url=merch_database)
    async with app.router.lifespan_context(app):
        yield app
