"""The error log: filters (environment, type or level, source file, route, words of the message,
days) over keyset pages, the counts of what is filtered, an error with its stack, and delete by
filter (``ops.error_logs``: at least one filter), audited as the admin API's ERROR_LOG_DELETE with
the filters in its metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.console.charts import figure
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    day_range,
    done,
    page_url,
    render,
)
from spikeland.core.errors import NotFound
from spikeland.db.session import DbSession
from spikeland.ops import error_logs
from spikeland.ops.models import ErrorEnvironment, ErrorLog

router = APIRouter(prefix="/admin/errors", route_class=ConsoleRoute, include_in_schema=False)
ENVIRONMENTS = [(e.value, e.value) for e in ErrorEnvironment]


def _filter(values: dict[str, str]) -> error_logs.ErrorFilter:
    since, before = day_range(values.get("start"), values.get("end"))
    return error_logs.ErrorFilter(
        environment=choice(ErrorEnvironment, values.get("environment")),
        error_type=values.get("type") or None,
        route=values.get("route") or None,
        since=since,
        before=before,
        text=values.get("q") or None,
        source=values.get("source") or None,
    )


def _chosen(values: Mapping[str, str | None]) -> dict[str, str]:
    """The filters given (trimmed, bounded as the API bounds them), without the empty ones."""
    return {name: value.strip()[:500] for name, value in values.items() if value and value.strip()}


@router.get("", response_class=HTMLResponse)
async def errors(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    environment: str | None = None,
    error_type: Annotated[str | None, Query(alias="type")] = None,
    source: str | None = None,
    route: str | None = None,
    q: str | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    values = _chosen(
        {"environment": environment, "type": error_type, "source": source, "route": route}
        | {"q": q, "start": start, "end": end}
    )
    found = _filter(values)
    page = await error_logs.list_errors(session, found, cursor=cursor, limit=50)
    stats = await error_logs.stats(session, found)
    days = stats["byDay"]
    labels = [
        date.fromisoformat(d["key"]).strftime("%d %b") for d in days
    ]  # a category a day, not a time axis
    chart = figure("Errors per day (UTC)", [go.Bar(x=labels, y=[d["count"] for d in days], name="errors")])
    return render(
        request,
        "errors.html",
        errors=page.items,
        stats=stats,
        chart=chart,
        values=values,
        environments=ENVIRONMENTS,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{error_id}", response_class=HTMLResponse)
async def error(request: Request, error_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    found = await session.get(ErrorLog, error_id)
    if found is None:
        raise NotFound("No such error.", code="error_not_found")
    return render(request, "error_log.html", error=found)


@router.post("/delete")
async def delete(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    environment: Annotated[str, Form(max_length=20)] = "",
    error_type: Annotated[str, Form(alias="type", max_length=100)] = "",
    source: Annotated[str, Form(max_length=500)] = "",
    route: Annotated[str, Form(max_length=500)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    start: Annotated[str, Form(max_length=10)] = "",
    end: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    values = _chosen(
        {"environment": environment, "type": error_type, "source": source, "route": route}
        | {"q": q, "start": start, "end": end}
    )
    deleted = await error_logs.delete_errors(session, _filter(values))
    await audited(session, request, admin, "ERROR_LOG_DELETE", None, query=values, deleted=deleted)
    back = "/admin/errors" + (f"?{urlencode(values)}" if values else "")
    return done(back, f"Deleted {deleted} error{'s' if deleted != 1 else ''}.")
