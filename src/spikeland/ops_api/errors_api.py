"""``POST /errors`` (public: clients' error reports) and the error log for admins (``/admin/errors``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from spikeland.core.deps import rate_limit
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, OptionalCaller, audited
from spikeland.ops import error_logs
from spikeland.ops.models import ErrorEnvironment
from spikeland.ops.schemas import ErrorLogOut, ErrorReport, ErrorReported

BODY_CAP = 256 * 1024  # 20 errors with long stacks; anything bigger is refused before it is read

router = APIRouter(route_class=Route, tags=["ops"])
admin_router = APIRouter(route_class=Route, prefix="/admin/errors", tags=["admin"])


@router.post(
    "/errors",
    status_code=status.HTTP_201_CREATED,
    response_model=ErrorReported,
    openapi_extra=errors(payload_too_large=413, rate_limited=429),
    dependencies=[
        rate_limit(
            "errors",
            per=lambda s: s.error_reports_per_minute,
            message="Too many error reports from this address; slow down.",
        )
    ],
)
async def report_errors(body: ErrorReport, session: DbSession, caller: OptionalCaller) -> ErrorReported:
    """Up to 20 errors a client saw. FRONTEND, or BACKEND when the caller is a server (an API key);
    the user is whoever is signed in."""
    found = await error_logs.record_client_errors(
        session,
        [error.model_dump(exclude={"metadata"}) | {"metadata_": error.metadata} for error in body.errors],
        user_id=caller.user_id if caller else None,
        server=caller is not None and caller.via == "api_key",
    )
    return ErrorReported(error_ids=found)


def _filter(
    environment: ErrorEnvironment | None,
    error_type: str | None,
    route: str | None,
    since: datetime | None,
    before: datetime | None,
    text: str | None,
    source: str | None,
) -> error_logs.ErrorFilter:
    return error_logs.ErrorFilter(environment, error_type, route, since, before, text, source)


Environment = Annotated[ErrorEnvironment | None, Query()]
ErrorType = Annotated[str | None, Query(alias="type", max_length=100)]
RouteQuery = Annotated[str | None, Query(max_length=500)]
Source = Annotated[str | None, Query(max_length=500, description="The source file, whole.")]
Since = Annotated[datetime | None, Query(description="From this time (inclusive).")]
Before = Annotated[datetime | None, Query(description="Before this time.")]
Text = Annotated[str | None, Query(alias="q", max_length=200, description="Words in the message.")]


class ErrorPage(Schema):
    items: list[ErrorLogOut]
    next_cursor: str | None


@admin_router.get("", response_model=ErrorPage)
async def list_errors(
    actor: AdminUser,
    session: DbSession,
    environment: Environment = None,
    error_type: ErrorType = None,
    route: RouteQuery = None,
    since: Since = None,
    before: Before = None,
    text: Text = None,
    source: Source = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> ErrorPage:
    """The error log, newest first, filtered."""
    found = _filter(environment, error_type, route, since, before, text, source)
    page = await error_logs.list_errors(session, found, cursor=cursor, limit=limit)
    return ErrorPage(
        items=[ErrorLogOut.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


@admin_router.get("/stats")
async def error_stats(
    actor: AdminUser,
    session: DbSession,
    environment: Environment = None,
    error_type: ErrorType = None,
    route: RouteQuery = None,
    since: Since = None,
    before: Before = None,
    text: Text = None,
    source: Source = None,
) -> dict[str, object]:
    """Counts by environment, type, route and UTC day (the same filters)."""
    return await error_logs.stats(
        session, _filter(environment, error_type, route, since, before, text, source)
    )


class Deleted(Schema):
    deleted: int


@admin_router.delete(
    "",
    response_model=Deleted,
    openapi_extra=errors(filter_required=422),
    dependencies=[audited("ERROR_LOG_DELETE", with_query=True)],
)
async def delete_errors(
    actor: AdminUser,
    session: DbSession,
    environment: Environment = None,
    error_type: ErrorType = None,
    route: RouteQuery = None,
    since: Since = None,
    before: Before = None,
    text: Text = None,
    source: Source = None,
) -> Deleted:
    """Delete the errors the filters pick (at least one filter: never everything by accident)."""
    found = _filter(environment, error_type, route, since, before, text, source)
    return Deleted(deleted=await error_logs.delete_errors(session, found))
