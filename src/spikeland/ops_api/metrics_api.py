"""``GET /metrics``: the Prometheus exposition of ``core.metrics`` and, read from the database when
scraped, each job table's depth and lag, the webhook inbox's backlog and the connection pool's use.

Readable by admins (their session) and by scrapers presenting ``SPIKELAND_METRICS_TOKEN`` as a
bearer token; anyone else gets 401 (403 for a signed-in user who is no admin).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.deps import SettingsDep
from spikeland.core.metrics import REGISTRY
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import require_admin

router = APIRouter(route_class=Route, tags=["ops"])

# The runner's job tables (worker.table_queue): every one has status, createdAt, runAfter.
JOB_TABLES = ("image_enhancement_jobs", "mcp_generation_jobs", "merch_fulfilment_jobs")
_QUEUE_SQL = " UNION ALL ".join(
    f"""SELECT '{table}' AS queue, status::text AS status, count(*) AS jobs,
       coalesce(extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(coalesce("runAfter", "createdAt"))), 0)
         AS oldest
FROM {table} WHERE status IN ('PENDING', 'PROCESSING') GROUP BY status"""
    for table in JOB_TABLES
)
_INBOX_SQL = """
SELECT count(*) AS events,
       coalesce(extract(epoch FROM (now() AT TIME ZONE 'UTC') - min("createdAt")), 0) AS oldest
FROM merch_webhook_events WHERE NOT processed
"""


class _Read(Collector):
    """The figures read for this scrape, as gauges."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


async def _read(session: AsyncSession, request: Request) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily(
        "spikeland_queue_jobs", "Jobs waiting or running, by table.", labels=["queue", "status"]
    )
    lag = GaugeMetricFamily(
        "spikeland_queue_oldest_seconds",
        "Age of the oldest waiting or running job.",
        labels=["queue", "status"],
    )
    seen = set()
    for queue, status, jobs, oldest in await session.execute(text(_QUEUE_SQL)):
        depth.add_metric([queue, status], jobs)
        lag.add_metric([queue, status], float(oldest))
        seen.add((queue, status))
    for queue in JOB_TABLES:  # an empty queue is a zero, not a missing series
        for status in ("PENDING", "PROCESSING"):
            if (queue, status) not in seen:
                depth.add_metric([queue, status], 0)
                lag.add_metric([queue, status], 0)
    events, oldest = (await session.execute(text(_INBOX_SQL))).one()
    inbox = GaugeMetricFamily("spikeland_webhook_inbox_events", "Provider events stored and not yet applied.")
    inbox.add_metric([], events)
    inbox_age = GaugeMetricFamily(
        "spikeland_webhook_inbox_oldest_seconds", "Age of the oldest unapplied event."
    )
    inbox_age.add_metric([], float(oldest))
    pool = request.app.state.engine.pool
    in_use = GaugeMetricFamily(
        "spikeland_db_pool_connections", "This process's pooled connections.", labels=["state"]
    )
    in_use.add_metric(["checked_out"], pool.checkedout())
    in_use.add_metric(["idle"], pool.checkedin())
    in_use.add_metric(["size"], pool.size())
    return [depth, lag, inbox, inbox_age, in_use]


def _scraper(request: Request, token: str | None) -> bool:
    presented = request.headers.get("authorization", "")
    if not token or not presented.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(presented[7:].strip().encode(), token.encode())


@router.get("/metrics", response_class=Response, openapi_extra=errors(unauthorized=401, admin_required=403))
async def metrics(
    request: Request, response: Response, session: DbSession, settings: SettingsDep
) -> Response:
    """Prometheus text format: requests, jobs, ledger movements, queues, the inbox, the pool."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if not _scraper(request, token):
        await require_admin(request, response, session)
    scrape = CollectorRegistry()
    scrape.register(_Read(await _read(session, request)))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
