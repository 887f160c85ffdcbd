"""Sign-up that tells no one who has an account.

Every sign-up is answered 202 "check your email", in one shape: a new address gets its account
and the verification mail; an address that already has an account gets nothing new, and its owner
a mail saying someone tried (and where to sign in). Only the mailbox's owner learns which case it
was. Sign-ups are limited per IP, since each new account carries free tokens.
"""

from __future__ import annotations

import html

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import TooManyRequests
from spikeland.core.ratelimit import RateLimiter
from spikeland.identity import service, verification
from spikeland.identity.models import User
from spikeland.identity.schemas import SignupRequest
from spikeland.integrations.email import EmailMessage
from spikeland.ops.emails import OutgoingEmail
from spikeland.settings import Settings

SIGNUP_ATTEMPT = "signup-attempt"
CHECK_YOUR_EMAIL = "Check your email to finish signing up."


async def sign_up(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, data: SignupRequest, ip: str
) -> OutgoingEmail | None:
    """Create the account for a new address; the mail to send either way (None: none is due)."""
    # Counted before the work, whether or not the address has an account (a 429 tells nothing).
    limiter.take(
        f"signup:ip:{ip}",
        settings.signups_per_ip,
        settings.signup_window_seconds,
        "Too many sign-ups from this address. Try again later.",
    )
    user = await service.signup(session, settings, data, ip=ip)
    if user is not None:
        return await verification.mail_for(session, settings, verification.VERIFY_EMAIL, user)
    owner = await service.find_user_by_email(session, data.email)
    if owner is None or owner.email is None:
        return None  # deleted since: nobody to tell
    return _notice(settings, limiter, owner)


def _notice(settings: Settings, limiter: RateLimiter, owner: User) -> OutgoingEmail | None:
    assert owner.email is not None
    try:
        # Limited per address like the other mails, so sign-ups from many IPs cannot flood a mailbox;
        # silently: a 429 given only for addresses with an account would tell they have one.
        limiter.take(
            f"{SIGNUP_ATTEMPT}:email:{owner.email}",
            settings.verification_requests_per_email,
            settings.verification_window_seconds,
            "",
        )
    except TooManyRequests:
        return None
    return OutgoingEmail(user_id=owner.id, message=compose_attempt(settings, owner.email))


def compose_attempt(settings: Settings, email: str) -> EmailMessage:
    """The mail to an account's owner when someone signs up with their address."""
    site = settings.public_url.rstrip("/")
    lines = (
        "Someone tried to create a Spike Land account with this email address, which already has one.",
        "Nothing has changed on your account.",
        f"If it was you, sign in at {site} (a forgotten password can be reset from the sign-in page).",
        "If it was not you, you can ignore this email.",
    )
    return EmailMessage(
        to=email,
        subject="Someone tried to sign up with your email address",
        text="\n\n".join(lines) + "\n",
        html="".join(f"<p>{html.escape(line)}</p>" for line in lines),
        template="SIGNUP_ATTEMPT",
        metadata={"purpose": SIGNUP_ATTEMPT},
    )
