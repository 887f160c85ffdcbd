"""The dashboard: the operations figures (``ops_api.dashboard``) for a chosen range, as charts."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from spikeland.console.charts import figure
from spikeland.console.web import ConsoleAdmin, ConsoleRoute, render
from spikeland.core.clock import utcnow
from spikeland.core.deps import SettingsDep
from spikeland.core.errors import ValidationFailed
from spikeland.db.session import DbSession
from spikeland.ops_api import dashboard as figures

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
RANGES = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last year"}


def _range(days: str | None, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or utcnow().date()
    if start is None:
        count = int(days) if days in RANGES else 30
        start = end - timedelta(days=count - 1)
    if start > end:
        raise ValidationFailed("The start is after the end.", code="invalid_date_range")
    return start, end


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    settings: SettingsDep,
    days: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> HTMLResponse:
    first, last = _range(days, start, end)
    found = await figures.dashboard(session, first, last, settings.session_days)
    users, tokens, revenue, jobs = found["users"], found["tokens"], found["revenue"], found["jobs"]
    day = [row["date"] for row in users["newPerDay"]]
    charts = {
        "signups": figure(
            "Sign-ups per day", [go.Bar(x=day, y=[r["new"] for r in users["newPerDay"]], name="new users")]
        ),
        "revenue": figure(
            "Revenue per day (GBP)",
            [
                go.Bar(x=day, y=[float(r["packs"]) for r in revenue["perDay"]], name="token packs"),
                go.Bar(x=day, y=[float(r["merch"]) for r in revenue["perDay"]], name="merch"),
            ],
        ),
        "tokens": figure(
            "Tokens earned and spent per day",
            [
                go.Scatter(
                    x=day, y=[r["earned"] for r in tokens["perDay"]], name="earned", mode="lines+markers"
                ),
                go.Scatter(
                    x=day, y=[-r["spent"] for r in tokens["perDay"]], name="spent", mode="lines+markers"
                ),
            ],
        ),
        "jobs": figure(
            "Enhancement jobs by status",
            [
                go.Bar(
                    x=[r["status"] for r in jobs["byStatus"]],
                    y=[r["jobs"] for r in jobs["byStatus"]],
                    name="jobs",
                )
            ],
        ),
        "durations": figure(
            "Time worked per tier (seconds)",
            [
                go.Bar(
                    x=[r["tier"] for r in jobs["byTier"]],
                    y=[r["p50Seconds"] or 0 for r in jobs["byTier"]],
                    name="median",
                ),
                go.Bar(
                    x=[r["tier"] for r in jobs["byTier"]],
                    y=[r["p95Seconds"] or 0 for r in jobs["byTier"]],
                    name="95th percentile",
                ),
            ],
        ),
        "queues": figure(
            "Queues now",
            [
                go.Bar(
                    x=[q["queue"] for q in found["queues"]],
                    y=[q["pending"] for q in found["queues"]],
                    name="waiting",
                ),
                go.Bar(
                    x=[q["queue"] for q in found["queues"]],
                    y=[q["processing"] for q in found["queues"]],
                    name="working",
                ),
            ],
        ),
    }
    return render(
        request,
        "dashboard.html",
        found=found,
        charts=charts,
        ranges=RANGES,
        days=days,
        start=first,
        end=last,
    )
