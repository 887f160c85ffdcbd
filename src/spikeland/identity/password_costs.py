"""The bcrypt cost of the decoy comparison made when there is no password to check.

An unknown address must take as long to refuse as a known one with a wrong password, so the decoy
follows the cost *most stored hashes have*, not the setting: a database adopted from the original
platform, or one whose cost setting changed, holds hashes at another cost until their owners sign
in (which rehashes them, ``service.authenticate``). The database counts them, rather than this
process remembering the hashes it happened to check: callers choose which accounts get checked,
so they could steer such a memory. One aggregate over ``users``, counted again every hour, which
follows the rehashing as it goes for the price of one scan an hour.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

REFRESH_SECONDS = 3600.0
# The setting's range: a stray stored hash at cost 31 must not make every unknown address cost minutes.
MIN_COST, MAX_COST = 4, 16

_MOST_COMMON = text(
    r"""SELECT CAST(substring("passwordHash" FROM '^\$2[abxy]?\$([0-9]{2})\$') AS integer)
    FROM users WHERE "passwordHash" ~ '^\$2[abxy]?\$[0-9]{2}\$'
    GROUP BY 1 ORDER BY count(*) DESC, 1 DESC LIMIT 1"""
)


async def most_common_cost(session: AsyncSession) -> int | None:
    """The cost most stored bcrypt hashes have (the higher one on a tie), None with no hashes."""
    found = (await session.execute(_MOST_COMMON)).scalar_one_or_none()
    return None if found is None else int(found)


class DecoyCost:
    """``most_common_cost``, remembered for ``refresh_seconds``; ``fallback`` (the setting) when
    no account has a password yet."""

    def __init__(self, fallback: int, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._fallback = fallback
        self._refresh = refresh_seconds
        self._value = fallback
        self._counted_at = -math.inf

    async def current(self, session: AsyncSession) -> int:
        now = time.monotonic()
        if now - self._counted_at >= self._refresh:
            found = await most_common_cost(session)
            self._value = self._fallback if found is None else min(max(found, MIN_COST), MAX_COST)
            self._counted_at = now
        return self._value
