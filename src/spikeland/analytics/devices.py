"""Device type, browser and operating system from a User-Agent, with ua-parser's regexes.

Parsing costs about a millisecond in pure Python, so results are kept per User-Agent string (a
site sees few distinct ones). Device type: ``bot`` for crawlers, ``tablet`` for iPads and
Android/Windows tablets, ``mobile`` for phones and mobile systems, ``desktop`` otherwise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ua_parser

MAX_USER_AGENT = 512  # longer strings are cut before parsing (and never stored)
_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}


@dataclass(frozen=True)
class Device:
    device_type: str | None
    browser: str | None
    os: str | None


def _known(family: str | None) -> str | None:
    return None if not family or family == "Other" else family[:100]


@functools.lru_cache(maxsize=4096)
def parse(user_agent: str | None) -> Device:
    if not user_agent:
        return Device(None, None, None)
    result = ua_parser.parse(user_agent[:MAX_USER_AGENT])
    browser = _known(result.user_agent.family if result.user_agent else None)
    os = _known(result.os.family if result.os else None)
    device = result.device.family if result.device else ""
    lowered = user_agent.lower()
    if device == "Spider" or "bot" in lowered.split("/")[0]:
        kind = "bot"
    elif "ipad" in lowered or "tablet" in lowered or (os == "Android" and "mobile" not in lowered):
        kind = "tablet"
    elif os in _MOBILE_OS or "mobile" in lowered:
        kind = "mobile"
    else:
        kind = "desktop"
    return Device(kind, browser, os)
