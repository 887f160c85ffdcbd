"""Custom domains: an app's owner claims a domain, proves it with a DNS TXT record, and only then
is it the app's (``apps.domain``, unique).

- A **claim** is a valid hostname (letters, digits, hyphens; 2+ labels; ≤ 253; not an address) no
  other app holds (409 ``domain_taken``). It answers the record to publish: ``TXT`` at
  ``_spikeland.<domain>`` with ``spikeland-verify=<expiry>.<signature>``. The signature is an HMAC of
  the app, the domain and the expiry under the keyring's current key, so claims need no table and a
  record made for one app cannot verify another. **Unverified claims expire** after 48 hours (the
  expiry is inside the signed value); claiming again gives a fresh record.
- **Verify** looks the record up (``integrations.dns``) and attaches the domain when one of the
  name's TXT strings is a valid, unexpired value for this app and domain; otherwise 409
  ``domain_not_verified`` saying what to publish. Two apps verifying one domain: the unique index
  lets one in, the other is 409 ``domain_taken``. A resolver that does not answer is 503.
- The owner can release the domain (``apps.domain`` back to NULL).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.apps.models import App
from spikeland.apps.service import get_owned
from spikeland.core.errors import Conflict, ServiceUnavailable, ValidationFailed
from spikeland.core.security import Keyring
from spikeland.integrations.dns import DnsUnavailable, txt_records
from spikeland.settings import Settings

CLAIM_TTL = timedelta(hours=48)
RECORD = "_spikeland"
PREFIX = "spikeland-verify="
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainTaken(Conflict):
    code = "domain_taken"


class DomainNotVerified(Conflict):
    code = "domain_not_verified"


@dataclass(frozen=True)
class Claim:
    domain: str
    record_name: str
    record_value: str
    expires_at: datetime


def normalise(domain: str) -> str:
    """The hostname as stored (lower case, ASCII/IDNA, no trailing dot), or 422 ``invalid_domain``."""
    name = domain.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""
    labels = name.split(".")
    valid = (
        0 < len(name) <= 253
        and len(labels) >= 2
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    try:
        ipaddress.ip_address(name)
        valid = False
    except ValueError:
        pass
    if not valid:
        raise ValidationFailed(
            "Not a domain name an app can use.", code="invalid_domain", details={"domain": domain[:253]}
        )
    return name


def _signature(keyring: Keyring, app_id: str, domain: str, expires: int) -> str:
    key = keyring.keys[keyring.current]
    message = f"app-domain:{app_id}:{domain}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _valid(keyring: Keyring, app_id: str, domain: str, value: str, now: float) -> bool:
    if not value.startswith(PREFIX):
        return False
    expires, _, signature = value[len(PREFIX) :].partition(".")
    if not expires.isdigit() or int(expires) < now:
        return False
    return hmac.compare_digest(signature, _signature(keyring, app_id, domain, int(expires)))


async def _taken(session: AsyncSession, app_id: str, domain: str) -> None:
    holder = await session.scalar(select(App.id).where(App.domain == domain, App.id != app_id))
    if holder is not None:
        raise DomainTaken("Another app has this domain.", details={"domain": domain})


async def claim(session: AsyncSession, keyring: Keyring, app_id: str, user_id: str, domain: str) -> Claim:
    await get_owned(session, app_id, user_id)
    name = normalise(domain)
    await _taken(session, app_id, name)
    expires = int(time.time() + CLAIM_TTL.total_seconds())
    value = f"{PREFIX}{expires}.{_signature(keyring, app_id, name, expires)}"
    return Claim(name, f"{RECORD}.{name}", value, datetime.fromtimestamp(expires, UTC))


async def verify(
    session: AsyncSession, keyring: Keyring, settings: Settings, app_id: str, user_id: str, domain: str
) -> App:
    app = await get_owned(session, app_id, user_id, lock=True)
    name = normalise(domain)
    await _taken(session, app_id, name)
    try:
        found = await txt_records(settings, f"{RECORD}.{name}")
    except DnsUnavailable as exc:
        raise ServiceUnavailable("DNS did not answer; try again.", code="dns_unavailable") from exc
    now = time.time()
    if not any(_valid(keyring, app.id, name, value, now) for value in found):
        raise DomainNotVerified(
            f"No valid record at {RECORD}.{name} yet: publish the TXT value the claim gave (or claim again "
            "if it expired).",
            details={"recordName": f"{RECORD}.{name}", "found": len(found)},
        )
    try:
        async with session.begin_nested():
            app.domain = name
            await session.flush()
    except IntegrityError:
        raise DomainTaken("Another app has this domain.", details={"domain": name}) from None
    return app


async def release(session: AsyncSession, app_id: str, user_id: str) -> App:
    app = await get_owned(session, app_id, user_id, lock=True)
    app.domain = None
    await session.flush()
    return app
