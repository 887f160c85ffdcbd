"""Email verification, magic-link sign-in, password change and reset, on ``verification_tokens``.

A token is 32 random bytes, sent only inside the emailed link; the table holds its SHA-256 digest,
with ``identifier = "{purpose}:{email}"`` and a 24-hour expiry. Using a token deletes it (and the
other links of the same purpose for the same address), so each link works once. Every bad token —
unknown, used, expired, of another purpose — is the same 400 ``invalid_token``.

The request functions return the mail to send (or None) instead of sending it: the router hands
it to ``spikeland.ops.emails.deliver`` to run after the commit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, SpikelandError, ValidationFailed
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.security import digest, hash_password, new_secret, verify_password
from spikeland.identity.models import User, VerificationToken
from spikeland.identity.service import (
    create_session,
    find_user_by_email,
    login_email_key,
    mark_email_verified,
    revoke_sessions,
)
from spikeland.integrations.email import EmailMessage
from spikeland.ops.emails import OutgoingEmail
from spikeland.settings import Settings

VERIFY_EMAIL = "verify-email"
MAGIC_LINK = "magic-link"
PASSWORD_RESET = "password-reset"
TOKEN_LIFETIME = timedelta(hours=24)


class InvalidToken(SpikelandError):
    status_code = 400
    code = "invalid_token"


class WrongPassword(SpikelandError):
    status_code = 400
    code = "wrong_password"


def _invalid_token() -> InvalidToken:
    return InvalidToken("This link is not valid. It may have expired or been used already.")


# ----------------------------------------------------------------------------- tokens


def _identifier(purpose: str, email: str) -> str:
    return f"{purpose}:{email}"


async def issue_token(session: AsyncSession, purpose: str, email: str) -> str:
    """A new single-use token for ``email``; returns the raw token (only its digest is stored)."""
    raw = new_secret(32)
    await session.execute(
        insert(VerificationToken).values(
            identifier=_identifier(purpose, email), token=digest(raw), expires=utcnow() + TOKEN_LIFETIME
        )
    )
    return raw


async def consume_token(session: AsyncSession, purpose: str, raw: str) -> str:
    """The email a live token of ``purpose`` was issued for; the token is gone afterwards.

    The DELETE is the check: of two concurrent uses, only one gets the row back.
    """
    prefix = f"{purpose}:"
    identifier = (
        await session.execute(
            delete(VerificationToken)
            .where(
                VerificationToken.token == digest(raw),
                VerificationToken.identifier.startswith(prefix, autoescape=True),
                VerificationToken.expires > utcnow(),
            )
            .returning(VerificationToken.identifier)
        )
    ).scalar_one_or_none()
    if identifier is None:
        raise _invalid_token()
    # The other links of this purpose for this address die with the one used.
    await session.execute(delete(VerificationToken).where(VerificationToken.identifier == identifier))
    return identifier[len(prefix) :]


async def forget_tokens(session: AsyncSession, email: str, purposes: tuple[str, ...]) -> None:
    identifiers = [_identifier(purpose, email) for purpose in purposes]
    await session.execute(delete(VerificationToken).where(VerificationToken.identifier.in_(identifiers)))


async def purge_expired_tokens(session: AsyncSession) -> int:
    result = await session.execute(
        delete(VerificationToken)
        .where(VerificationToken.expires <= utcnow())
        .returning(VerificationToken.token)
    )
    return len(result.all())


# ----------------------------------------------------------------------------- mails

# purpose -> (template, subject, page of the link, what the link does)
_MAILS = {
    VERIFY_EMAIL: (
        "VERIFY_EMAIL",
        "Confirm your email address",
        "verify-email",
        "confirm your email address",
    ),
    MAGIC_LINK: ("MAGIC_LINK", "Your Spike Land sign-in link", "magic-link", "sign in to Spike Land"),
    PASSWORD_RESET: (
        "PASSWORD_RESET",
        "Reset your Spike Land password",
        "reset-password",
        "choose a new password",
    ),
}


def compose(settings: Settings, purpose: str, email: str, raw: str) -> EmailMessage:
    template, subject, page, action = _MAILS[purpose]
    link = f"{settings.public_url.rstrip('/')}/auth/{page}?token={raw}"
    note = "The link works once and expires in 24 hours. If you did not ask for it, ignore this email."
    text = f"Open this link to {action}:\n\n{link}\n\n{note}\n"
    body = (
        f"<p>Open this link to {html.escape(action)}:</p>"
        f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p><p>{html.escape(note)}</p>'
    )
    # metadata lands in email_logs: the purpose, never the link.
    return EmailMessage(
        to=email, subject=subject, text=text, html=body, template=template, metadata={"purpose": purpose}
    )


def _throttle(limiter: RateLimiter, settings: Settings, purpose: str, email: str, ip: str) -> None:
    """Count one mail request per address and per IP; past either limit, 429 and no mail."""
    window = settings.verification_window_seconds
    keys = (
        (f"{purpose}:email:{email}", settings.verification_requests_per_email),
        (f"{purpose}:ip:{ip}", settings.verification_requests_per_ip),
    )
    limiter.reserve(keys, window, "Too many emails asked for. Try again later.")


async def mail_for(session: AsyncSession, settings: Settings, purpose: str, user: User) -> OutgoingEmail:
    assert user.email is not None
    raw = await issue_token(session, purpose, user.email)
    return OutgoingEmail(user_id=user.id, message=compose(settings, purpose, user.email, raw))


async def _request_for_address(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, purpose: str, email: str, ip: str
) -> OutgoingEmail | None:
    # Counted and answered the same whether or not the address has an account (no enumeration).
    _throttle(limiter, settings, purpose, email, ip)
    user = await find_user_by_email(session, email)
    if user is None or user.email is None:
        return None
    return await mail_for(session, settings, purpose, user)


async def _user_for(session: AsyncSession, email: str) -> User:
    # An account deleted, or moved to another address, since the link was sent: the link is dead.
    user = await find_user_by_email(session, email)
    if user is None:
        raise _invalid_token()
    return user


# ----------------------------------------------------------------------------- email verification


async def request_verification(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, user: User, ip: str
) -> OutgoingEmail:
    if user.email is None:
        raise ValidationFailed("This account has no email address.", code="no_email")
    if user.email_verified is not None:
        raise Conflict("This email address is already verified.", code="already_verified")
    _throttle(limiter, settings, VERIFY_EMAIL, user.email, ip)
    return await mail_for(session, settings, VERIFY_EMAIL, user)


async def confirm_email(session: AsyncSession, token: str) -> User:
    user = await _user_for(session, await consume_token(session, VERIFY_EMAIL, token))
    await mark_email_verified(session, user)
    await session.flush()
    return user


# ----------------------------------------------------------------------------- magic link


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    expires: datetime


async def request_magic_link(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, email: str, ip: str
) -> OutgoingEmail | None:
    return await _request_for_address(session, settings, limiter, MAGIC_LINK, email, ip)


async def confirm_magic_link(
    session: AsyncSession, settings: Settings, token: str, visitor_id: str | None = None
) -> SignedIn:
    """A new session, as a password login makes; the link also proves the address is the user's."""
    user = await _user_for(session, await consume_token(session, MAGIC_LINK, token))
    await mark_email_verified(session, user)
    await session.flush()
    raw, expires = await create_session(session, user.id, settings.session_days, visitor_id)
    return SignedIn(user=user, token=raw, expires=expires)


# ----------------------------------------------------------------------------- passwords


async def change_password(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_id: str | None,
) -> int:
    """Set a new password after checking the current one; every other session ends.

    Wrong current passwords count like failed logins, so a stolen session cannot guess it.
    Returns how many sessions were revoked.
    """
    key, window = f"password-change:{user.id}", settings.login_window_seconds
    # Counted before the comparison, so guesses sent together cannot all slip past the limit.
    limiter.reserve(
        [(key, settings.login_attempts_per_email)], window, "Too many wrong passwords. Try again later."
    )
    if not await verify_password(current_password, user.password_hash, settings.bcrypt_cost):
        raise WrongPassword("The current password is not correct.")
    limiter.reset(key)
    user.password_hash = await hash_password(new_password, settings.bcrypt_cost)
    await session.flush()
    if user.email is not None:
        # A reset or magic link mailed before the change must not undo it.
        await forget_tokens(session, user.email, (PASSWORD_RESET, MAGIC_LINK))
    return await revoke_sessions(session, user.id, keep_session_id=keep_session_id)


async def request_password_reset(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, email: str, ip: str
) -> OutgoingEmail | None:
    return await _request_for_address(session, settings, limiter, PASSWORD_RESET, email, ip)


async def reset_password(
    session: AsyncSession, settings: Settings, limiter: RateLimiter, token: str, new_password: str
) -> User:
    """Set the password from a reset link and end every session (whoever held one is out)."""
    email = await consume_token(session, PASSWORD_RESET, token)
    user = await _user_for(session, email)
    user.password_hash = await hash_password(new_password, settings.bcrypt_cost)
    await mark_email_verified(session, user)
    await session.flush()
    await forget_tokens(session, email, (MAGIC_LINK,))
    await revoke_sessions(session, user.id)
    # The owner proved the mailbox: earlier failed sign-ins no longer lock the address.
    limiter.reset(login_email_key(email))
    return user
