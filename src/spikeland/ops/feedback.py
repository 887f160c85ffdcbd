"""Feedback: anyone submits (signed in or not), admins triage.

Rules:

- A submission is {type, message, page, email?}; the user is the signed-in caller (never one named
  in the body), the User-Agent comes from the request. It starts NEW.
- Triage moves forward only: NEW → REVIEWED → RESOLVED or DISMISSED. Setting the status a row
  already has changes nothing; any other move is refused (409 ``feedback_transition``). The admin
  note (≤ 2,000 characters) can be written at any status.
- Moving to RESOLVED mails the submitter when an address is known (the one given, else the
  signed-in submitter's account address), after the change commits. email_logs rows belong to a
  user: the submitter's account, or for an anonymous submitter the admin who resolved it (the
  row's metadata says so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, NotFound
from spikeland.core.pagination import Page, newest_first
from spikeland.integrations.email import EmailMessage
from spikeland.ops.emails import OutgoingEmail
from spikeland.ops.models import Feedback, FeedbackStatus, FeedbackType

NEXT: dict[FeedbackStatus, frozenset[FeedbackStatus]] = {
    FeedbackStatus.NEW: frozenset({FeedbackStatus.REVIEWED}),
    FeedbackStatus.REVIEWED: frozenset({FeedbackStatus.RESOLVED, FeedbackStatus.DISMISSED}),
    FeedbackStatus.RESOLVED: frozenset(),
    FeedbackStatus.DISMISSED: frozenset(),
}


class FeedbackNotFound(NotFound):
    code = "feedback_not_found"


class FeedbackTransition(Conflict):
    code = "feedback_transition"


async def submit(
    session: AsyncSession,
    *,
    kind: FeedbackType,
    message: str,
    page: str,
    email: str | None,
    user_id: str | None,
    user_agent: str | None,
) -> Feedback:
    row = Feedback(
        user_id=user_id,
        email=email,
        type=kind,
        message=message,
        page=page,
        user_agent=(user_agent or "")[:500] or None,
    )
    session.add(row)
    await session.flush()
    return row


async def list_feedback(
    session: AsyncSession,
    *,
    status: FeedbackStatus | None,
    kind: FeedbackType | None,
    cursor: str | None,
    limit: int,
) -> Page[Feedback]:
    statement = select(Feedback)
    if status is not None:
        statement = statement.where(Feedback.status == status)
    if kind is not None:
        statement = statement.where(Feedback.type == kind)
    return await newest_first(
        session, statement, Feedback.created_at, Feedback.id, limit=limit, cursor=cursor
    )


async def triage(
    session: AsyncSession,
    feedback_id: str,
    *,
    status: FeedbackStatus | None,
    note: str | None,
    admin_id: str,
    account_email: Any = None,
) -> tuple[Feedback, OutgoingEmail | None]:
    """Move and/or annotate; the mail to send after commit when this resolved it.

    ``account_email`` (an async function of a user id) finds a signed-in submitter's address.
    """
    row = await session.scalar(select(Feedback).where(Feedback.id == feedback_id).with_for_update())
    if row is None:
        raise FeedbackNotFound("No such feedback.")
    resolved = False
    if status is not None and status != row.status:
        if status not in NEXT[row.status]:
            raise FeedbackTransition(
                f"Feedback that is {row.status.value} cannot become {status.value}.",
                details={"from": row.status.value, "to": status.value},
            )
        row.status = status
        resolved = status == FeedbackStatus.RESOLVED
    if note is not None:
        row.admin_note = note or None
    await session.flush()
    if not resolved:
        return row, None
    address = row.email or (await account_email(row.user_id) if row.user_id and account_email else None)
    if not address:
        return row, None
    return row, _resolved_mail(row, address, admin_id)


def _resolved_mail(row: Feedback, address: str, admin_id: str) -> OutgoingEmail:
    summary = row.message if len(row.message) <= 200 else row.message[:199] + "…"
    text = (
        "Thank you for your feedback on Spike Land. We have resolved it.\n\n"
        f"You wrote (on {row.page}):\n{summary}\n"
        + (f"\nOur note: {row.admin_note}\n" if row.admin_note else "")
    )
    metadata = {"feedbackId": row.id}
    if row.user_id is None:
        metadata["recipient"] = "anonymous submitter; logged under the resolving admin"
    return OutgoingEmail(
        user_id=row.user_id or admin_id,
        message=EmailMessage(
            to=address,
            subject="Your feedback has been resolved",
            text=text,
            template="FEEDBACK_RESOLVED",
            metadata=metadata,
        ),
    )
