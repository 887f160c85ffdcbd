"""DNS lookups (dnspython's async resolver): the TXT records a name holds.

The system's resolver by default; ``SPIKELAND_DNS_NAMESERVER`` (``host[:port]``) names another
(tests point it at a loopback DNS server). A name that does not exist, or holds no TXT record, has
none; a resolver that does not answer raises :class:`DnsUnavailable`.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver

from spikeland.settings import Settings


class DnsUnavailable(Exception):
    """No answer from the resolver (timeout, no nameserver reachable)."""


def _resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    if not settings.dns_nameserver:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        host, _, port = settings.dns_nameserver.partition(":")
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    resolver.lifetime = settings.dns_timeout_seconds
    return resolver


async def txt_records(settings: Settings, name: str) -> list[str]:
    """Every TXT string at ``name`` (a record's strings joined, as RFC 7208 reads them)."""
    try:
        answer = await _resolver(settings).resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DnsUnavailable(type(exc).__name__) from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
