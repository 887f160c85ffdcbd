"""``GET /metrics``: admins and token-holding scrapers only; Prometheus's own parser reads it; it
counts requests per route template, ledger movements, jobs, and reads queue depth, the webhook
inbox and the pool when scraped."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from spikeland.app import create_app
from spikeland.identity.models import UserRole
from spikeland.settings import Settings
from tests.support.auth import sign_in
from tests.support.clients import http_client

TOKEN = "scrape-" + secrets.token_hex(8)


@pytest.fixture
async def metrics_app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}), database_url=database_url
    )
    async with app.router.lifespan_context(app):
        yield app


def _samples(text: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _value(samples: list[Any], **labels: str) -> float:
    return sum(s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items()))


async def test_who_may_read_it(metrics_app: FastAPI) -> None:
    async with http_client(metrics_app) as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
        wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        scraper = await anonymous.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraper.status_code == 200 and scraper.headers["content-type"].startswith("text/plain")
    async with http_client(metrics_app) as user:
        await sign_in(user, bare=True)
        assert (await user.get("/metrics")).status_code == 403
    async with http_client(metrics_app) as admin:
        await sign_in(admin, bare=True, role=UserRole.ADMIN)
        assert (await admin.get("/metrics")).status_code == 200


async def test_what_it_counts(metrics_app: FastAPI) -> None:
    async with http_client(metrics_app) as client:
        await sign_in(client)  # the sign-up's free tokens
        spent = await client.post("/api/v1/tokens/spend", json={"amount": 1, "purpose": "enhancement"})
        assert spent.status_code == 201, spent.text  # a ledger movement
        for _ in range(3):
            assert (await client.get("/api/v1/tokens/balance")).status_code == 200
        missing = secrets.token_hex(6)
        assert (await client.get(f"/api/v1/images/{missing}")).status_code == 404
        assert (await client.get("/no-such-page")).status_code == 404
        text = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    found = _samples(text)
    requests = found["spikeland_http_requests_total"]
    assert _value(requests, method="GET", route="/api/v1/tokens/balance", status="200") >= 3
    assert _value(requests, method="GET", route="/api/v1/images/{image_id}", status="404") >= 1
    assert _value(requests, route="(unmatched)", status="404") >= 1
    assert not [s for s in requests if missing in s.labels["route"]]  # the template, never the id
    durations = found["spikeland_http_request_duration_seconds_count"]
    assert _value(durations, method="GET", route="/api/v1/tokens/balance") >= 3
    assert _value(found["spikeland_ledger_movements_total"], type="SPEND_ENHANCEMENT") >= 1
    depth = found["spikeland_queue_jobs"]
    assert {s.labels["queue"] for s in depth} >= {"image_enhancement_jobs", "merch_fulfilment_jobs"}
    assert "spikeland_webhook_inbox_events" in found and "process_cpu_seconds_total" in found
    assert _value(found["spikeland_db_pool_connections"], state="size") >= 1
