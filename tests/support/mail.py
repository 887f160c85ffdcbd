"""The local outbox in tests: the mails the app wrote for an address, and the links in them."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from email.parser import BytesParser

from spikeland.settings import Settings

CONFIRM = "Confirm your email address"
SIGN_IN = "Your Spike Land sign-in link"
RESET = "Reset your Spike Land password"


def mails_to(settings: Settings, address: str, subject: str | None = None) -> list[EmailMessage]:
    """The mails in the local outbox for ``address`` (with that subject when given), oldest first."""
    outbox = settings.data_dir / "outbox"
    found = []
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        with path.open("rb") as handle:
            mail = BytesParser(policy=email.policy.default).parse(handle)
        assert isinstance(mail, EmailMessage)
        if mail["To"] == address and subject in (None, mail["Subject"]):
            found.append(mail)
    return found


def link_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https?://\S+\?token=[A-Za-z0-9_-]+", body.get_content())
    assert match, "no link in the mail"
    return match.group(0)


def token_of(mail: EmailMessage) -> str:
    return link_of(mail).rsplit("token=", 1)[1]
