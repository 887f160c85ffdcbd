"""The local outbox: each mail becomes one ``.eml`` file a developer can open (any mail client,
or ``less``). Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import email.policy
import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from spikeland.integrations.email import EmailMessage, SentEmail


class LocalEmailSender:
    name = "local"

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, message: EmailMessage) -> SentEmail:
        now = datetime.now(UTC)
        # Time first, so a directory listing reads in sending order.
        provider_id = f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"
        data = self._render(message, now).as_bytes(policy=email.policy.SMTP)
        await asyncio.to_thread(self._write, f"{provider_id}.eml", data)
        return SentEmail(provider_id=provider_id)

    def _render(self, message: EmailMessage, now: datetime) -> MimeMessage:
        mime = MimeMessage(policy=email.policy.SMTP)
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = format_datetime(now)
        mime["Message-ID"] = make_msgid(domain="spikeland.local")
        mime["X-Spikeland-Template"] = message.template
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
        return mime

    def _write(self, filename: str, data: bytes) -> None:
        # The files hold live sign-in links: readable by the owner only. Written under a
        # temporary name and renamed, so a reader never sees half a mail.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.directory / f".{filename}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        partial.rename(self.directory / filename)
