"""Sending a mail and recording it in ``email_logs`` (one row per send, SENT or FAILED).

Delivery timing: ``deliver`` is meant to run after the request's transaction has committed (a
FastAPI background task), in its own transaction. So a mail never goes out for a change that was
rolled back (a link whose token was never stored), and the caller's answer does not wait for the
provider (which would also tell an observer whether an address has an account). The price: a
process that dies between the commit and the send loses that mail, and the user asks again. A
later outbox job table makes delivery durable; until then this is at-most-once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.db.engine import transaction
from spikeland.integrations.email import EmailMessage, EmailSender, EmailSendError
from spikeland.ops.models import EmailLog, EmailStatus

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingEmail:
    """A mail for a known user (email_logs.userId is required), ready to send."""

    user_id: str
    message: EmailMessage


async def send_and_record(session: AsyncSession, sender: EmailSender, outgoing: OutgoingEmail) -> EmailLog:
    """Send through ``sender`` and add the email_logs row; a refused send is a FAILED row, not an error."""
    message = outgoing.message
    metadata = {**message.metadata, "provider": sender.name}
    resend_id: str | None = None
    try:
        sent = await sender.send(message)
    except Exception as exc:
        # An adapter bug or a full disk is a failed send too: the row says so, the caller goes on.
        if not isinstance(exc, EmailSendError):
            _log.exception("email adapter %s raised", sender.name)
        status = EmailStatus.FAILED
        metadata["error"] = (str(exc) or type(exc).__name__)[:500]
        _log.warning("email %r to user %s failed: %s", message.template, outgoing.user_id, exc)
    else:
        status = EmailStatus.SENT
        metadata["providerId"] = sent.provider_id
        if sender.name == "resend":
            resend_id = sent.provider_id
        _log.info("email %r sent to user %s via %s", message.template, outgoing.user_id, sender.name)
    row = EmailLog(
        user_id=outgoing.user_id,
        to=message.to,
        subject=message.subject,
        template=message.template,
        status=status,
        resend_id=resend_id,
        metadata_=metadata,
    )
    session.add(row)
    await session.flush()
    return row


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], sender: EmailSender, outgoing: OutgoingEmail
) -> None:
    """Send and record in a transaction of its own; never raises (it runs after the response)."""
    try:
        async with transaction(sessionmaker) as session:
            await send_and_record(session, sender, outgoing)
    except Exception:
        _log.exception("email %r to user %s was not recorded", outgoing.message.template, outgoing.user_id)
