"""Every mail the platform sends, as an ``email_logs`` row that follows it to the reader.

Lifecycle: PENDING (recorded, not yet handed over) → SENT (the provider took it) → DELIVERED →
OPENED → CLICKED, or BOUNCED / FAILED. The provider's delivery reports move a row forward only
(``apply_event``): a report older than what the row knows, or the same report twice, changes
nothing. OPENED and CLICKED keep the first time they happened. The local outbox marks SENT (it has
no one to deliver to).

Delivery timing: ``deliver`` runs after the request's transaction has committed (a FastAPI
background task): it records the row PENDING in a transaction of its own, sends, then records the
outcome. So a mail never goes out for a change that was rolled back, the caller's answer does not
wait for the provider, and a process that dies mid-send leaves a PENDING row an admin can see
(at-most-once: the user asks again). Transient provider errors are retried with backoff by the
adapter (``integrations.email.resend``).

Suppression: an address that bounced, or whose reader marked a mail as spam, is not sent
**marketing** mail again (``EmailMessage.marketing``); the attempt is recorded FAILED with the
reason. Account mail (verification, sign-in, receipts, orders) still goes: it is what the user asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.pagination import Page, newest_first
from spikeland.db.base import Json
from spikeland.db.engine import transaction
from spikeland.integrations.email import EmailMessage, EmailSender, EmailSendError
from spikeland.ops.models import EmailLog, EmailStatus

_log = logging.getLogger(__name__)

# Each status and the ones it may move to (forward only; BOUNCED and FAILED end it).
_BEFORE: dict[EmailStatus, tuple[EmailStatus, ...]] = {
    EmailStatus.SENT: (EmailStatus.PENDING,),
    EmailStatus.DELIVERED: (EmailStatus.PENDING, EmailStatus.SENT),
    EmailStatus.OPENED: (EmailStatus.PENDING, EmailStatus.SENT, EmailStatus.DELIVERED),
    EmailStatus.CLICKED: (EmailStatus.PENDING, EmailStatus.SENT, EmailStatus.DELIVERED, EmailStatus.OPENED),
    EmailStatus.BOUNCED: (EmailStatus.PENDING, EmailStatus.SENT, EmailStatus.DELIVERED),
    EmailStatus.FAILED: (EmailStatus.PENDING, EmailStatus.SENT),
}
_STAMP = {
    EmailStatus.OPENED: "opened_at",
    EmailStatus.CLICKED: "clicked_at",
    EmailStatus.BOUNCED: "bounced_at",
}


@dataclass(frozen=True)
class OutgoingEmail:
    """A mail for a known user (email_logs.userId is required), ready to send."""

    user_id: str
    message: EmailMessage


def admin_test_mail(admin_id: str, to: str) -> OutgoingEmail:
    """An admin's test mail (template TEST), logged under the admin (the API and the console)."""
    return OutgoingEmail(
        user_id=admin_id,
        message=EmailMessage(
            to=to,
            subject="Spike Land test mail",
            text="This is a test mail from the Spike Land admin console. Nothing to do.",
            template="TEST",
        ),
    )


async def suppressed(session: AsyncSession, address: str) -> bool:
    """The address bounced, or its reader complained, before."""
    mine = func.lower(EmailLog.to) == address.lower()
    complained = EmailLog.metadata_["complained"].as_boolean().is_(True)
    found = await session.scalar(
        select(exists().where(mine, (EmailLog.status == EmailStatus.BOUNCED) | complained))
    )
    return bool(found)


async def _attempt(
    sender: EmailSender, outgoing: OutgoingEmail
) -> tuple[EmailStatus, str | None, dict[str, Any]]:
    """Send: the status, the provider's id (Resend's, kept for its reports) and what to add to metadata."""
    message = outgoing.message
    try:
        sent = await sender.send(message)
    except Exception as exc:
        # An adapter bug or a full disk is a failed send too: the row says so, the caller goes on.
        if not isinstance(exc, EmailSendError):
            _log.exception("email adapter %s raised", sender.name)
        _log.warning("email %r to user %s failed: %s", message.template, outgoing.user_id, exc)
        return EmailStatus.FAILED, None, {"error": (str(exc) or type(exc).__name__)[:500]}
    _log.info("email %r sent to user %s via %s", message.template, outgoing.user_id, sender.name)
    resend_id = sent.provider_id if sender.name == "resend" else None
    return EmailStatus.SENT, resend_id, {"providerId": sent.provider_id}


def _merged(extra: dict[str, Any]) -> Any:
    """The row's metadata with ``extra``'s keys added (jsonb ``||``)."""
    return func.coalesce(EmailLog.metadata_, literal({}, Json)).op("||")(literal(extra, Json))


def _row(sender: EmailSender, outgoing: OutgoingEmail, status: EmailStatus, **extra: Any) -> EmailLog:
    message = outgoing.message
    return EmailLog(
        user_id=outgoing.user_id,
        to=message.to,
        subject=message.subject,
        template=message.template,
        status=status,
        metadata_={**message.metadata, "provider": sender.name, **extra},
    )


async def _refused(session: AsyncSession, sender: EmailSender, outgoing: OutgoingEmail) -> EmailLog | None:
    """The FAILED row of a marketing mail to an address that bounced or complained; None: send it."""
    if outgoing.message.marketing and await suppressed(session, outgoing.message.to):
        return _row(sender, outgoing, EmailStatus.FAILED, suppressed="bounced or complained before")
    return None


async def send_and_record(session: AsyncSession, sender: EmailSender, outgoing: OutgoingEmail) -> EmailLog:
    """Send through ``sender`` and add the row, in the caller's transaction (SENT or FAILED)."""
    row = await _refused(session, sender, outgoing)
    if row is None:
        status, resend_id, extra = await _attempt(sender, outgoing)
        row = _row(sender, outgoing, status, **extra)
        row.resend_id = resend_id
    session.add(row)
    await session.flush()
    return row


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], sender: EmailSender, outgoing: OutgoingEmail
) -> None:
    """Record PENDING, send, record the outcome (the rules at the top); never raises."""
    try:
        async with transaction(sessionmaker) as session:
            refused = await _refused(session, sender, outgoing)
            if refused is not None:
                session.add(refused)
                return
            row = _row(sender, outgoing, EmailStatus.PENDING)
            session.add(row)
            await session.flush()
            row_id = row.id
        status, resend_id, extra = await _attempt(sender, outgoing)
        async with transaction(sessionmaker) as session:
            await session.execute(
                update(EmailLog)
                .where(EmailLog.id == row_id, EmailLog.status == EmailStatus.PENDING)
                .values(status=status, resend_id=resend_id, metadata_=_merged(extra))
            )
    except Exception:
        _log.exception("email %r to user %s was not recorded", outgoing.message.template, outgoing.user_id)


async def apply_event(
    session: AsyncSession,
    resend_id: str,
    status: EmailStatus | None,
    at: datetime,
    *,
    complained: bool = False,
) -> bool:
    """A provider's report about the mail it knows as ``resend_id``: True when the row moved."""
    moved = False
    if status is not None:
        values: dict[str, Any] = {"status": status}
        if status in _STAMP:
            column = getattr(EmailLog, _STAMP[status])
            values[_STAMP[status]] = func.coalesce(column, at)
        result = await session.execute(
            update(EmailLog)
            .where(EmailLog.resend_id == resend_id, EmailLog.status.in_(_BEFORE[status]))
            .values(**values)
        )
        moved = bool(result.rowcount)  # type: ignore[attr-defined]
    if complained:
        result = await session.execute(
            update(EmailLog)
            .where(EmailLog.resend_id == resend_id)
            .values(metadata_=_merged({"complained": True}))
        )
        moved = moved or bool(result.rowcount)  # type: ignore[attr-defined]
    return moved


async def list_emails(
    session: AsyncSession,
    *,
    status: EmailStatus | None,
    template: str | None,
    to: str | None,
    user_id: str | None,
    cursor: str | None,
    limit: int,
) -> Page[EmailLog]:
    statement = select(EmailLog)
    if status is not None:
        statement = statement.where(EmailLog.status == status)
    if template is not None:
        statement = statement.where(EmailLog.template == template)
    if to is not None:
        statement = statement.where(func.lower(EmailLog.to) == to.lower())
    if user_id is not None:
        statement = statement.where(EmailLog.user_id == user_id)
    return await newest_first(session, statement, EmailLog.sent_at, EmailLog.id, limit=limit, cursor=cursor)
