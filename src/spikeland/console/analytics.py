"""Analytics: the campaign reports of the admin API (``analytics.metrics``: overview, daily,
campaigns, funnel; cached an hour) for a range of days and an attribution model, as figures,
charts and tables, and each report as the API's CSV export."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from spikeland.analytics import metrics
from spikeland.analytics.models import AttributionType
from spikeland.console.charts import figure
from spikeland.console.web import ConsoleAdmin, ConsoleRoute, choice, render
from spikeland.core.clock import utcnow
from spikeland.core.errors import NotFound, ValidationFailed
from spikeland.db.session import DbSession

router = APIRouter(prefix="/admin/analytics", route_class=ConsoleRoute, include_in_schema=False)
MODELS = [("FIRST_TOUCH", "First touch"), ("LAST_TOUCH", "Last touch")]
EXPORTS = ("overview", "daily", "campaigns", "sources", "funnel")
DEFAULT_DAYS = 30


def _period(start: str | None, end: str | None, model: str | None) -> metrics.Period:
    """The report's days (the last 30 unless chosen) and model; ``metrics.Period`` checks the range."""
    try:
        last = date.fromisoformat(end) if end else utcnow().date()
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ValidationFailed("Dates are YYYY-MM-DD.", code="validation_error") from None
    return metrics.Period(first, last, choice(AttributionType, model) or AttributionType.FIRST_TOUCH)


def _charts(days: list[dict[str, Any]], steps: list[dict[str, Any]]) -> dict[str, str]:
    day = [row["date"] for row in days]

    def series(name: str) -> list[Any]:
        return [row[name] for row in days]

    return {
        "visits": figure(
            "Visits per day",
            [
                go.Scatter(x=day, y=series("sessions"), name="sessions", mode="lines+markers"),
                go.Scatter(x=day, y=series("visitors"), name="visitors", mode="lines+markers"),
            ],
        ),
        "conversions": figure(
            "Conversions per day",
            [go.Bar(x=day, y=series(name), name=name) for name in ("signups", "enhancements", "purchases")],
        ),
        "money": figure(
            "Revenue and ad spend per day (GBP)",
            [
                go.Bar(x=day, y=series("revenue"), name="revenue"),
                go.Bar(x=day, y=series("spend"), name="spend"),
            ],
        ),
        "funnel": figure(
            "Funnel (people)",
            [go.Funnel(y=[s["step"] for s in steps], x=[s["count"] for s in steps], name="people")],
        ),
    }


@router.get("", response_class=HTMLResponse)
async def analytics(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    start: str | None = None,
    end: str | None = None,
    model: str | None = None,
) -> HTMLResponse:
    period = _period(start, end, model)
    found = {
        name: (await metrics.report(session, name, period))[0]
        for name in ("overview", "daily", "campaigns", "funnel")
    }
    query = f"start={period.start}&end={period.end}&model={period.model.value}"
    return render(
        request,
        "analytics.html",
        overview=found["overview"],
        campaigns=found["campaigns"]["campaigns"],
        steps=found["funnel"]["steps"],
        charts=_charts(found["daily"]["days"], found["funnel"]["steps"]),
        start=period.start,
        end=period.end,
        model=period.model.value,
        models=MODELS,
        exports=[(name, f"/admin/analytics/export/{name}?{query}") for name in EXPORTS],
    )


@router.get("/export/{report}")
async def export(
    report: str,
    admin: ConsoleAdmin,
    session: DbSession,
    start: str | None = None,
    end: str | None = None,
    model: str | None = None,
) -> Response:
    """A report as the admin API exports it (CSV)."""
    if report not in EXPORTS:
        raise NotFound("No such report.", code="report_not_found")
    name, media_type, body = await metrics.export(session, report, _period(start, end, model), False)
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
