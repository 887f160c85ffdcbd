"""``GET /admin/dashboard``: the operations figures and daily series (``ops_api.dashboard``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from spikeland.core.clock import utcnow
from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser
from spikeland.ops_api import dashboard as figures

router = APIRouter(route_class=Route, prefix="/admin/dashboard", tags=["admin"])


@router.get("", openapi_extra=errors(invalid_date_range=422))
async def dashboard(
    actor: AdminUser,
    session: DbSession,
    settings: SettingsDep,
    start: Annotated[date | None, Query(description="First day (UTC); default 29 days before end.")] = None,
    end: Annotated[date | None, Query(description="Last day (UTC), inclusive; default today.")] = None,
) -> dict[str, Any]:
    """Users, tokens, revenue, jobs, storage and the database, with a series per day."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=29)
    return await figures.dashboard(session, start, end, settings.session_days)
