"""Accounts and sessions: sign-up, sign-in, the session lifecycle. Services flush, never commit."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, Unauthorized
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.security import cost_of, digest, hash_password, new_secret, password_fits, verify_password
from spikeland.db.cuid import cuid
from spikeland.db.integrity import violated_constraint
from spikeland.identity.hooks import (
    SignupContext,
    run_email_verified_hooks,
    run_sign_in_hooks,
    run_signup_hooks,
)
from spikeland.identity.models import Session, User
from spikeland.identity.password_costs import DecoyCost
from spikeland.identity.schemas import SignupRequest
from spikeland.settings import Settings

# No 0/O, 1/I/L: a code read aloud or typed from a screenshot cannot be mistaken.
REFERRAL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERRAL_CODE_LENGTH = 8
# A session's expiry moves forward at most once a day, so an active user does not cost a write per request.
SLIDE_EVERY = timedelta(days=1)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class EmailTaken(Conflict):
    code = "email_taken"


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def find_referrer(session: AsyncSession, code: str | None) -> User | None:
    if not code:
        return None
    result = await session.execute(select(User).where(User.referral_code == code.strip().upper()))
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    *,
    email: str | None,
    password_hash: str | None = None,
    name: str | None = None,
    image: str | None = None,
    email_verified: datetime | None = None,
    referred_by_id: str | None = None,
    ip: str | None = None,
) -> User:
    """Insert a user with a fresh referral code and run the sign-up hooks (and, for an address
    already verified, the email-verified hooks).

    A taken email is a 409; a referral code that happens to be taken is drawn again.
    """
    for _attempt in range(5):
        user = User(
            email=email,
            password_hash=password_hash,
            name=name,
            image=image,
            email_verified=email_verified,
            referral_code=new_referral_code(),
            referred_by_id=referred_by_id,
        )
        try:
            async with session.begin_nested():
                session.add(user)
                await session.flush()
        except IntegrityError as exc:
            constraint = violated_constraint(exc)
            if constraint == "users_email_key":
                raise EmailTaken("An account with this email already exists.") from None
            if constraint == "users_referralCode_key":
                continue
            raise
        await run_signup_hooks(session, user, SignupContext(ip=ip))
        if email_verified is not None:
            await run_email_verified_hooks(session, user)
        return user
    raise RuntimeError("could not draw a free referral code")  # 31^8 codes: not expected to happen


async def mark_email_verified(session: AsyncSession, user: User) -> None:
    """Record that the user proved their address (once), and let other domains react."""
    if user.email_verified is None:
        user.email_verified = utcnow()
        await session.flush()
        await run_email_verified_hooks(session, user)


async def signup(
    session: AsyncSession, settings: Settings, data: SignupRequest, ip: str | None = None
) -> User | None:
    """The new account, or None when the address already has one (``signup.sign_up`` answers
    both the same way). A concurrent sign-up of the same address that wins the race is None too."""
    # Hashed either way, so the answer takes as long whether or not the address has an account.
    password_hash = await hash_password(data.password, settings.bcrypt_cost)
    if await find_user_by_email(session, data.email) is not None:
        return None
    referrer = await find_referrer(session, data.referral_code)
    try:
        return await create_user(
            session,
            email=data.email,
            password_hash=password_hash,
            name=data.name,
            referred_by_id=referrer.id if referrer else None,
            ip=ip,
        )
    except EmailTaken:
        return None


def login_email_key(email: str) -> str:
    """The limiter key of an address: normalised, so case and space variants share one counter."""
    return f"login:email:{email.strip().lower()}"


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    decoy: DecoyCost,
    email: str,
    password: str,
    ip: str,
) -> User:
    """The user with this email and password, or one 401 for every failure (unknown email included).

    Every attempt is counted per email and per IP *before* its bcrypt comparison, in one locked
    step: checking first and counting after let every guess sent together through (a comparison
    takes ~0.25 s). Past the limit the answer is 429. A success gives its IP count back and clears
    the address's count (its owner got in); failures keep theirs.
    """
    email_key, ip_key = login_email_key(email), f"login:ip:{ip}"
    limiter.reserve(
        ((email_key, settings.login_attempts_per_email), (ip_key, settings.login_attempts_per_ip)),
        settings.login_window_seconds,
        "Too many failed sign-in attempts. Try again later.",
    )
    decoy_cost = await decoy.current(session)
    user = await find_user_by_email(session, email)
    if not await verify_password(password, user.password_hash if user else None, decoy_cost) or user is None:
        raise InvalidCredentials("Invalid email or password.")
    # A legacy password over 72 bytes cannot be hashed under our rules: its hash stays as it is.
    if cost_of(user.password_hash) != settings.bcrypt_cost and password_fits(password):
        await _rehash(session, user, password, settings.bcrypt_cost)
    # Not reset: an attacker signing in to an account of their own must not wipe the IP's failures.
    limiter.release(ip_key)
    limiter.reset(email_key)
    return user


async def _rehash(session: AsyncSession, user: User, password: str, cost: int) -> None:
    """Store the password hashed at ``cost``: hashes made at another cost (an older setting, the
    original platform) move to the setting as their owners sign in, and stop standing out by the
    time a wrong password takes."""
    checked = user.password_hash
    # Only over the hash just checked: a password changed meanwhile must not be undone by this one.
    await session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == checked)
        .values(password_hash=await hash_password(password, cost))
    )


# ----------------------------------------------------------------------------- sessions


async def create_session(
    session: AsyncSession, user_id: str, days: int, visitor_id: str | None = None
) -> tuple[str, datetime]:
    """A new session for ``user_id``: the raw token (for the cookie) and its expiry; the sign-in
    hooks run with the visitor id the browser presented.

    Only the token's SHA-256 digest is stored.
    """
    token = new_secret(32)
    expires = utcnow() + timedelta(days=days)
    await session.execute(
        insert(Session).values(id=cuid(), session_token=digest(token), user_id=user_id, expires=expires)
    )
    await run_sign_in_hooks(session, user_id, visitor_id)
    return token, expires


@dataclass(frozen=True)
class ActiveSession:
    user: User
    session_id: str
    expires: datetime
    renewed: bool


def _slid(expires: datetime, now: datetime, days: int) -> datetime | None:
    """The new expiry when a session's is due to move forward, else None."""
    full = now + timedelta(days=days)
    return None if full - expires < SLIDE_EVERY else full


# Every signed-in request runs it: built once, its values bound per request.
_SESSION_USER = (
    select(User, Session.id, Session.expires)
    .join(Session, Session.user_id == User.id)
    .where(Session.session_token == bindparam("digest"), Session.expires > bindparam("now"))
)


async def resolve_session(session: AsyncSession, token: str, days: int) -> ActiveSession | None:
    """The user behind a session token, sliding the expiry forward (at most once a day)."""
    now = utcnow()
    row = (await session.execute(_SESSION_USER, {"digest": digest(token), "now": now})).one_or_none()
    if row is None:
        return None
    user, session_id, expires = row
    full = _slid(expires, now, days)
    if full is None:
        return ActiveSession(user, session_id, expires, renewed=False)
    await session.execute(update(Session).where(Session.id == session_id).values(expires=full))
    return ActiveSession(user, session_id, full, renewed=True)


# ``resolve_session_owner``: the same on the driver, for hot paths (plain SQL, no ORM; naive UTC).
_SESSION_OWNER = 'SELECT id, "userId", expires FROM sessions WHERE "sessionToken" = $1 AND expires > $2'
_SLIDE = "UPDATE sessions SET expires = $2 WHERE id = $1"


@dataclass(frozen=True)
class SessionOwner:
    user_id: str
    session_id: str
    expires: datetime
    renewed: bool


async def resolve_session_owner(
    reader: Callable[[], Awaitable[asyncpg.Connection]],
    write: Callable[..., None],
    token: str,
    days: int,
) -> SessionOwner | None:
    """Like ``resolve_session``, without loading the user: looked up on ``reader``'s connection,
    slid by ``write`` (``RequestDb.write``: in the request's transaction, at its commit)."""
    now = utcnow()
    row = await (await reader()).fetchrow(_SESSION_OWNER, digest(token), now.replace(tzinfo=None))
    if row is None:
        return None
    expires = row["expires"].replace(tzinfo=UTC)
    full = _slid(expires, now, days)
    if full is None:
        return SessionOwner(row["userId"], row["id"], expires, renewed=False)
    write(_SLIDE, row["id"], full.replace(tzinfo=None))
    return SessionOwner(row["userId"], row["id"], full, renewed=True)


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(Session).where(Session.session_token == digest(token)))


async def revoke_sessions(session: AsyncSession, user_id: str, keep_session_id: str | None = None) -> int:
    """Delete every session of ``user_id`` except ``keep_session_id``; returns how many went."""
    statement = delete(Session).where(Session.user_id == user_id)
    if keep_session_id is not None:
        statement = statement.where(Session.id != keep_session_id)
    result = await session.execute(statement.returning(Session.id))
    return len(result.all())


async def purge_expired_sessions(session: AsyncSession) -> int:
    result = await session.execute(delete(Session).where(Session.expires <= utcnow()).returning(Session.id))
    return len(result.all())
