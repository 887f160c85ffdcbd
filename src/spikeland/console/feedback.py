"""Feedback triage: the list (by status and type; keyset pages), one message with where it came
from (page, browser, user), and the triage — the next status and the admin note — through
``ops.feedback`` as the admin API does: resolving mails the submitter after the commit, and the
FEEDBACK_TRIAGE audit entry is written with the change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.console.forms import schema_of
from spikeland.console.lookups import emails_of
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    done,
    page_url,
    render,
)
from spikeland.db.session import DbSession
from spikeland.identity import service as identity
from spikeland.identity.deps import MailDep
from spikeland.identity.models import User
from spikeland.ops import feedback
from spikeland.ops.models import Feedback, FeedbackStatus, FeedbackType
from spikeland.ops.schemas import FeedbackUpdate

router = APIRouter(prefix="/admin/feedback", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(s.value, s.value) for s in FeedbackStatus]
TYPES = [(t.value, t.value) for t in FeedbackType]
NOTE_MAX = 2000  # FeedbackUpdate's limit (the schema checks it; the form says it)


@router.get("", response_class=HTMLResponse)
async def feedback_list(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    kind: Annotated[str | None, Query(alias="type")] = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page = await feedback.list_feedback(
        session,
        status=choice(FeedbackStatus, status),
        kind=choice(FeedbackType, kind),
        cursor=cursor,
        limit=50,
    )
    return render(
        request,
        "feedback.html",
        rows=page.items,
        emails=await emails_of(session, (row.user_id for row in page.items)),
        values={"status": status, "type": kind},
        statuses=STATUSES,
        types=TYPES,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{feedback_id}", response_class=HTMLResponse)
async def feedback_item(
    request: Request, feedback_id: str, admin: ConsoleAdmin, session: DbSession
) -> HTMLResponse:
    row = await session.get(Feedback, feedback_id)
    if row is None:
        raise feedback.FeedbackNotFound("No such feedback.")
    user = await session.get(User, row.user_id) if row.user_id else None
    return render(
        request,
        "feedback_item.html",
        row=row,
        user=user,
        moves=sorted(s.value for s in feedback.NEXT[row.status]),
        note_max=NOTE_MAX,
    )


@router.post("/{feedback_id}")
async def triage(
    request: Request,
    feedback_id: str,
    admin: ConsoleAction,
    session: DbSession,
    mail: MailDep,
    status: Annotated[str | None, Form(max_length=20)] = None,
    admin_note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> RedirectResponse:
    async def account_email(user_id: str) -> str | None:
        return (await identity.get_user(session, user_id)).email  # as the API finds a submitter's address

    # The form always sends the note (its text, or empty: cleared), as a PATCH with adminNote would.
    body = schema_of(FeedbackUpdate, status=choice(FeedbackStatus, status), admin_note=admin_note)
    row, outgoing = await feedback.triage(
        session,
        feedback_id,
        status=body.status,
        note=body.admin_note,
        admin_id=admin.user.id,
        account_email=account_email,
    )
    await audited(session, request, admin, "FEEDBACK_TRIAGE", feedback_id, status=row.status.value)
    mail.after_commit(outgoing)
    mailed = " The submitter is mailed." if outgoing else ""
    return done(f"/admin/feedback/{feedback_id}", f"Feedback is {row.status.value}.{mailed}")
