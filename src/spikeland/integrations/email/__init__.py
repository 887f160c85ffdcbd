"""Outgoing email: one small interface, a local outbox (default) and Resend (when configured).

Callers build an :class:`EmailMessage` and ``await sender.send(message)``; a failure to hand the
mail over raises :class:`EmailSendError`. Recording the send (``email_logs``) is the caller's
job (``spikeland.ops.emails``), so the adapters stay free of the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from spikeland.settings import Settings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    template: str
    html: str | None = None
    # Recorded with the send (email_logs.metadata); never put a secret (a token, a link) here.
    metadata: dict[str, Any] = field(default_factory=dict)
    # Marketing mail is not sent to an address that bounced or complained (ops.emails).
    marketing: bool = False


@dataclass(frozen=True)
class SentEmail:
    provider_id: str


class EmailSendError(Exception):
    """The provider did not accept the mail (refused, unreachable, or answered an error)."""


class EmailSender(Protocol):
    # "local" or "resend": which provider an email_logs row went through.
    name: str

    async def send(self, message: EmailMessage) -> SentEmail: ...


def make_email_sender(settings: Settings) -> EmailSender:
    """Resend when an API key is configured, otherwise the local outbox under the data dir."""
    if settings.resend_api_key is not None:
        from spikeland.integrations.email.resend import ResendEmailSender

        return ResendEmailSender(
            api_key=settings.resend_api_key.get_secret_value(),
            api_url=settings.resend_api_url,
            sender=settings.email_from,
        )
    from spikeland.integrations.email.local import LocalEmailSender

    if settings.environment == "production":
        _log.warning("no Resend API key configured: emails go to the local outbox and reach nobody")
    return LocalEmailSender(settings.data_dir / "outbox", sender=settings.email_from)


__all__ = ["EmailMessage", "EmailSendError", "EmailSender", "SentEmail", "make_email_sender"]
