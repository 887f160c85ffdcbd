"""``POST /feedback`` (anyone; signed in or not) and feedback triage for admins (``/admin/feedback``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from spikeland.core.deps import rate_limit
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.session import DbSession
from spikeland.identity import service as identity
from spikeland.identity.deps import AdminUser, MailDep, OptionalCaller, audited
from spikeland.ops import feedback
from spikeland.ops.models import FeedbackStatus, FeedbackType
from spikeland.ops.schemas import FeedbackCreated, FeedbackIn, FeedbackOut, FeedbackUpdate

BODY_CAP = 16 * 1024

router = APIRouter(route_class=Route, tags=["ops"])
admin_router = APIRouter(route_class=Route, prefix="/admin/feedback", tags=["admin"])


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackCreated,
    openapi_extra=errors(payload_too_large=413, rate_limited=429),
    dependencies=[
        rate_limit(
            "feedback",
            per=lambda s: s.feedback_per_hour,
            window=3600,
            message="Too much feedback from this address; try again later.",
        )
    ],
)
async def submit_feedback(
    body: FeedbackIn,
    session: DbSession,
    caller: OptionalCaller,
    user_agent: Annotated[str | None, Header(alias="User-Agent")] = None,
) -> FeedbackCreated:
    """A bug, an idea or anything else, from the page it was about."""
    row = await feedback.submit(
        session,
        kind=body.type,
        message=body.message,
        page=body.page,
        email=str(body.email).lower() if body.email else None,
        user_id=caller.user_id if caller else None,
        user_agent=user_agent,
    )
    return FeedbackCreated(id=row.id)


class FeedbackPage(Schema):
    items: list[FeedbackOut]
    next_cursor: str | None


@admin_router.get("", response_model=FeedbackPage)
async def list_feedback(
    actor: AdminUser,
    session: DbSession,
    status_filter: Annotated[FeedbackStatus | None, Query(alias="status")] = None,
    kind: Annotated[FeedbackType | None, Query(alias="type")] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> FeedbackPage:
    """Feedback, newest first, by status and type."""
    page = await feedback.list_feedback(session, status=status_filter, kind=kind, cursor=cursor, limit=limit)
    return FeedbackPage(
        items=[FeedbackOut.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


@admin_router.patch(
    "/{feedback_id}",
    response_model=FeedbackOut,
    openapi_extra=errors(feedback_not_found=404, feedback_transition=409),
    dependencies=[audited("FEEDBACK_TRIAGE")],
)
async def triage_feedback(
    feedback_id: str, body: FeedbackUpdate, actor: AdminUser, session: DbSession, mail: MailDep
) -> FeedbackOut:
    """Move NEW → REVIEWED → RESOLVED or DISMISSED, and/or write the admin note; resolving mails
    the submitter when an address is known."""

    async def account_email(user_id: str) -> str | None:
        return (await identity.get_user(session, user_id)).email  # the key is SET NULL: a user

    row, outgoing = await feedback.triage(
        session,
        feedback_id,
        status=body.status,
        note=body.admin_note,
        admin_id=actor.id,
        account_email=account_email,
    )
    mail.after_commit(outgoing)
    return FeedbackOut.model_validate(row)
