"""Referral fraud checks, run when a referral would complete. Each failed rule has a stable reason.

- ``self_referral``: the referee is the referrer — the same user, or the same mailbox under
  another spelling (``+tag``, and for Gmail the dots: ``a.b+x@gmail.com`` is ``ab@gmail.com``);
- ``same_ip``: the referee signed up from the IP of an earlier referral of the same referrer
  within ``referral_same_ip_hours``, or from the IP the referrer themselves signed up from (known
  when they were referred: their own referral row holds it; sign-up IPs are kept nowhere else);
- ``disposable_email``: the referee's domain (or a parent domain) is a throwaway-mail service;
- ``daily_limit``: the referrer already had ``referral_daily_limit`` referrals that UTC day
  before this one (counting sign-ups, whatever became of them).

Rules that compare with other referrals look only at earlier ones, so the verdict does not
depend on which referee verifies first. The reasons are not stored (the table has no column for
them): they are logged, and this function recomputes them from the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.growth.models import Referral
from spikeland.settings import Settings

# Common throwaway-mail services; deployments add their own with SPIKELAND_BLOCKED_EMAIL_DOMAINS.
DISPOSABLE_DOMAINS = frozenset(
    [
        "10minutemail.com",
        "10minutemail.net",
        "20minutemail.com",
        "33mail.com",
        "1secmail.com",
        "1secmail.net",
        "1secmail.org",
        "anonbox.net",
        "binkmail.com",
        "bobmail.info",
        "burnermail.io",
        "byom.de",
        "chammy.info",
        "devnullmail.com",
        "discard.email",
        "discardmail.com",
        "dispostable.com",
        "dropmail.me",
        "einrot.com",
        "emailfake.com",
        "emailondeck.com",
        "fakeinbox.com",
        "fakemail.net",
        "getairmail.com",
        "getnada.com",
        "grr.la",
        "guerrillamail.biz",
        "guerrillamail.com",
        "guerrillamail.de",
        "guerrillamail.net",
        "guerrillamail.org",
        "guerrillamailblock.com",
        "harakirimail.com",
        "incognitomail.org",
        "inboxkitten.com",
        "jetable.org",
        "letthemeatspam.com",
        "linshiyouxiang.net",
        "mail.tm",
        "mail-temporaire.fr",
        "mailcatch.com",
        "maildrop.cc",
        "mailexpire.com",
        "mailforspam.com",
        "mailinater.com",
        "mailinator.com",
        "mailinator.net",
        "mailinator2.com",
        "mailmetrash.com",
        "mailnesia.com",
        "mailnull.com",
        "mailpoof.com",
        "mailsac.com",
        "meltmail.com",
        "mintemail.com",
        "mohmal.com",
        "moakt.com",
        "mvrht.com",
        "mytemp.email",
        "mytrashmail.com",
        "nada.email",
        "notmailinator.com",
        "nowmymail.com",
        "objectmail.com",
        "pokemail.net",
        "proxymail.eu",
        "rcpt.at",
        "reallymymail.com",
        "sharklasers.com",
        "sneakemail.com",
        "sogetthis.com",
        "spam.la",
        "spam4.me",
        "spambox.us",
        "spamdecoy.net",
        "spamex.com",
        "spamfree24.org",
        "spamgourmet.com",
        "spamherelots.com",
        "suremail.info",
        "tempail.com",
        "tempemail.net",
        "tempinbox.com",
        "tempmail.com",
        "tempmail.net",
        "tempmailaddress.com",
        "tempmailo.com",
        "temp-mail.io",
        "temp-mail.org",
        "tempomail.fr",
        "temporaryemail.net",
        "tempr.email",
        "thisisnotmyrealemail.com",
        "throwawaymail.com",
        "tmpmail.net",
        "tmpmail.org",
        "tradermail.info",
        "trash2009.com",
        "trashmail.com",
        "trashmail.de",
        "trashmail.net",
        "trashymail.com",
        "trbvm.com",
        "veryrealemail.com",
        "wegwerfmail.de",
        "wegwerfmail.net",
        "wh4f.org",
        "yopmail.com",
        "yopmail.fr",
        "yopmail.net",
        "zippymail.info",
        "zoemail.org",
    ]
)
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def blocked_domains(settings: Settings) -> frozenset[str]:
    extra = {d.strip().lower() for d in settings.blocked_email_domains.split(",") if d.strip()}
    return DISPOSABLE_DOMAINS | extra


def is_disposable(email: str | None, blocked: frozenset[str]) -> bool:
    if not email or "@" not in email:
        return False
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    labels = domain.split(".")
    return any(".".join(labels[i:]) in blocked for i in range(len(labels) - 1))


def mailbox(email: str | None) -> str | None:
    """The mailbox an address delivers to: no ``+tag``; Gmail ignores dots and has two domains."""
    if not email or "@" not in email:
        return None
    local, domain = email.strip().lower().rsplit("@", 1)
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


async def _earlier_same_ip(session: AsyncSession, referral: Referral, hours: int) -> bool:
    if not referral.ip_address:
        return False
    earlier = select(Referral.id).where(
        Referral.referrer_id == referral.referrer_id,
        Referral.ip_address == referral.ip_address,
        Referral.created_at >= referral.created_at - timedelta(hours=hours),
        _before(referral),
    )
    own_signup = select(Referral.id).where(
        Referral.referee_id == referral.referrer_id, Referral.ip_address == referral.ip_address
    )
    return (await session.scalar(select(earlier.exists() | own_signup.exists()))) or False


def _before(referral: Referral) -> ColumnElement[bool]:
    bound = tuple_(
        literal(referral.created_at, Referral.created_at.type), literal(referral.id, Referral.id.type)
    )
    return tuple_(Referral.created_at, Referral.id) < bound


async def _earlier_today(session: AsyncSession, referral: Referral) -> int:
    created = referral.created_at.astimezone(UTC)
    day_start = datetime(created.year, created.month, created.day, tzinfo=UTC)
    statement = select(func.count()).where(
        Referral.referrer_id == referral.referrer_id,
        Referral.created_at >= day_start,
        _before(referral),
    )
    return (await session.scalar(statement)) or 0


async def fraud_reasons(
    session: AsyncSession,
    referral: Referral,
    *,
    referrer_email: str | None,
    referee_email: str | None,
    settings: Settings,
) -> list[str]:
    reasons = []
    if referral.referrer_id == referral.referee_id or (
        mailbox(referee_email) is not None and mailbox(referee_email) == mailbox(referrer_email)
    ):
        reasons.append("self_referral")
    if await _earlier_same_ip(session, referral, settings.referral_same_ip_hours):
        reasons.append("same_ip")
    if is_disposable(referee_email, blocked_domains(settings)):
        reasons.append("disposable_email")
    if await _earlier_today(session, referral) >= settings.referral_daily_limit:
        reasons.append("daily_limit")
    return reasons
