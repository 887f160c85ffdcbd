"""The process's Prometheus metrics (prometheus-client): what happens here, counted as it happens.

- ``RequestMetrics`` (ASGI middleware): requests by method, route template and status, and their
  latency by method and route — the route's template (``/api/v1/images/{image_id}``), never the
  raw path (one series per route, not per id); a request no route matched is ``(unmatched)``.
  The labelled children are kept in a dict, so a request costs two clock reads and two updates.
- ``JOBS`` / ``JOB_SECONDS``: each job the runner finishes, by queue and outcome (completed,
  retried, failed, lost), and its duration (``worker.runner``).
- ``LEDGER_MOVEMENTS``: token ledger rows written, by transaction type (``tokens.ledger``); a row
  written by a transaction that then rolls back counts too (the counter lives in the process).

What is read from the database when scraped (queue depth and lag, the webhook inbox, the pool) is
collected by ``ops_api.metrics_api``, which serves ``GET /metrics``. Counters are per process:
Prometheus sums the processes (API and workers) it scrapes.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spikeland.core.logging import route_template

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Latency buckets from 1 ms (a cached read) to 30 s (an upload, a slow provider).
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HTTP_REQUESTS = Counter(
    "spikeland_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=REGISTRY
)
HTTP_SECONDS = Histogram(
    "spikeland_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer.",
    ["method", "route"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
JOBS = Counter(
    "spikeland_jobs", "Jobs the runner finished, by outcome.", ["queue", "outcome"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "spikeland_job_duration_seconds",
    "Time a job's attempt took.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    registry=REGISTRY,
)
LEDGER_MOVEMENTS = Counter(
    "spikeland_ledger_movements", "Token ledger rows written, by type.", ["type"], registry=REGISTRY
)


class RequestMetrics:
    """Counts and times every HTTP request (outermost but one: the time includes the middlewares)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _children(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_SECONDS.labels(method, route),
            )
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            count, seconds = self._children(scope["method"], route_template(scope), status)
            count.inc()
            seconds.observe(time.perf_counter() - started)
