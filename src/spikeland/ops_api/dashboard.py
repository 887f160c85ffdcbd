"""The operations dashboard: the platform's figures for a range of UTC days, and daily series.

Read with SQL across the domains' tables (this module sits above them all); every series has one
entry per day of the range, zeros included, ready to plot. What each figure is:

- **users**: all users, new per day; *active* = users whose session was used or whose API key was
  used in the range (a session's sliding expiry is renewed on use: its last use is its expiry less
  the session lifetime).
- **tokens**: in circulation (the sum of all balances, now); earned and spent per day by
  transaction type (positive and negative ledger rows).
- **revenue**: per day, token packs (succeeded Stripe payments) and merch (orders paid, by when they
  were paid). Subscriptions' invoices are not stored per payment here (a renewal's tokens are), so
  their figures are the active subscriptions and their monthly value at today's plan prices (MRR).
- **jobs** (enhancements): per status, and per tier the median and 95th-percentile time worked
  (started → ended) and the failure rate (failed or refunded among the ended) in the range.
- **queues**: per job table, the jobs waiting and being worked now, and the oldest wait.
- **storage**: the bytes of originals, enhanced images, generated images and audio tracks as the
  rows record them; **database**: its size on disk.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import ValidationFailed

MAX_DAYS = 366
_DAYS = (
    "SELECT generate_series(CAST(:since AS date), CAST(:until AS date) - 1, interval '1 day')::date AS day"
)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in row._mapping.items()} for row in await session.execute(text(sql), params)
    ]


async def _one(session: AsyncSession, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return (await _rows(session, sql, params))[0]


def _daily(table_sql: str, figures: str) -> str:
    """A series: every day of the range with the figures of ``table_sql``'s rows (``day`` column)."""
    return f"""
WITH days AS ({_DAYS}), found AS ({table_sql})
SELECT to_char(d.day, 'YYYY-MM-DD') AS date, {figures}
FROM days d LEFT JOIN found f USING (day) ORDER BY d.day
"""


async def dashboard(session: AsyncSession, start: date, end: date, session_days: int) -> dict[str, Any]:
    if end < start or (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"Give a range of 1 to {MAX_DAYS} days.", code="invalid_date_range")
    since = datetime.combine(start, time())
    until = datetime.combine(end + timedelta(days=1), time())
    params: dict[str, Any] = {"since": since, "until": until, "lifetime": timedelta(days=session_days)}
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "users": await _users(session, params),
        "tokens": await _tokens(session, params),
        "revenue": await _revenue(session, params),
        "jobs": await _jobs(session, params),
        "storage": await _storage(session),
        "queues": await _queues(session),
    }


# The job runner's tables: what waits now, what is being worked, the oldest wait (seconds).
QUEUES = {
    "enhancements": "image_enhancement_jobs",
    "generations": "mcp_generation_jobs",
    "fulfilment": "merch_fulfilment_jobs",
    "mixdowns": "audio_mixdowns",
}


async def _queues(session: AsyncSession) -> list[dict[str, Any]]:
    parts = [
        f"""SELECT '{name}' AS queue, count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'PROCESSING') AS processing,
       coalesce(extract(epoch FROM (now() AT TIME ZONE 'UTC') - min("createdAt")
         FILTER (WHERE status = 'PENDING')), 0)::bigint AS "oldestPendingSeconds"
FROM {table} WHERE status IN ('PENDING', 'PROCESSING')"""
        for name, table in QUEUES.items()
    ]
    return await _rows(session, "\nUNION ALL\n".join(parts), {})


async def _users(session: AsyncSession, params: dict[str, Any]) -> dict[str, Any]:
    figures = await _one(
        session,
        """
SELECT (SELECT count(*) FROM users) AS total,
       (SELECT count(*) FROM users WHERE "createdAt" >= :since AND "createdAt" < :until) AS new,
       (SELECT count(*) FROM (
          SELECT "userId" FROM sessions WHERE expires - CAST(:lifetime AS interval) >= :since
          UNION SELECT "userId" FROM api_keys WHERE "lastUsedAt" >= :since AND "lastUsedAt" < :until
       ) a) AS active
""",
        params,
    )
    new = await _rows(
        session,
        _daily(
            'SELECT "createdAt"::date AS day, count(*) AS n FROM users '
            'WHERE "createdAt" >= :since AND "createdAt" < :until GROUP BY 1',
            "coalesce(f.n, 0) AS new",
        ),
        params,
    )
    return {**figures, "newPerDay": new}


async def _tokens(session: AsyncSession, params: dict[str, Any]) -> dict[str, Any]:
    circulation = await _one(
        session, "SELECT coalesce(sum(balance), 0) AS n FROM user_token_balances", params
    )
    by_type = await _rows(
        session,
        """
SELECT to_char("createdAt"::date, 'YYYY-MM-DD') AS date, type::text AS type,
       coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS earned,
       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS spent
FROM token_transactions WHERE "createdAt" >= :since AND "createdAt" < :until
GROUP BY 1, 2 ORDER BY 1, 2
""",
        params,
    )
    totals = await _rows(
        session,
        _daily(
            """SELECT "createdAt"::date AS day, coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS earned,
                  coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS spent
               FROM token_transactions WHERE "createdAt" >= :since AND "createdAt" < :until GROUP BY 1""",
            "coalesce(f.earned, 0) AS earned, coalesce(f.spent, 0) AS spent",
        ),
        params,
    )
    return {"inCirculation": circulation["n"], "perDay": totals, "perDayByType": by_type}


async def _revenue(session: AsyncSession, params: dict[str, Any]) -> dict[str, Any]:
    per_day = await _rows(
        session,
        _daily(
            """SELECT day, sum(packs) AS packs, sum(merch) AS merch FROM (
                 SELECT "createdAt"::date AS day, "amountUSD" AS packs, 0 AS merch FROM stripe_payments
                 WHERE status = 'SUCCEEDED' AND "createdAt" >= :since AND "createdAt" < :until
                 UNION ALL
                 SELECT "paidAt"::date, 0, "totalAmount" FROM merch_orders
                 WHERE "paidAt" >= :since AND "paidAt" < :until AND status NOT IN ('PENDING', 'CANCELLED')
               ) r GROUP BY day""",
            "coalesce(f.packs, 0) AS packs, coalesce(f.merch, 0) AS merch",
        ),
        params,
    )
    subscriptions = await _one(
        session,
        """
SELECT count(*) AS active, coalesce(sum(p."priceGBP"), 0) AS "monthlyValue"
FROM subscriptions s LEFT JOIN subscription_plans p ON p."stripePriceId" = s."stripePriceId"
WHERE s.status = 'ACTIVE'
""",
        params,
    )
    return {
        "packs": round(sum(d["packs"] for d in per_day), 2),
        "merch": round(sum(d["merch"] for d in per_day), 2),
        "perDay": per_day,
        "subscriptions": subscriptions,
    }


async def _jobs(session: AsyncSession, params: dict[str, Any]) -> dict[str, Any]:
    in_range = 'FROM image_enhancement_jobs WHERE "createdAt" >= :since AND "createdAt" < :until'
    by_status = await _rows(
        session, f"SELECT status::text AS status, count(*) AS jobs {in_range} GROUP BY 1 ORDER BY 1", params
    )
    worked = 'extract(epoch FROM "processingCompletedAt" - "processingStartedAt")'
    done = "status = 'COMPLETED'"
    by_tier = await _rows(
        session,
        f"""
SELECT tier::text AS tier, count(*) AS jobs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {worked}) FILTER (WHERE {done}) AS "p50Seconds",
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {worked}) FILTER (WHERE {done}) AS "p95Seconds",
       round(count(*) FILTER (WHERE status IN ('FAILED', 'REFUNDED')) * 100.0
             / nullif(count(*) FILTER (WHERE status IN ('COMPLETED', 'FAILED', 'REFUNDED')), 0), 2)
         AS "failureRate"
{in_range} GROUP BY 1 ORDER BY 1
""",
        params,
    )
    return {"byStatus": by_status, "byTier": by_tier}


async def _storage(session: AsyncSession) -> dict[str, Any]:
    return await _one(
        session,
        """
SELECT (SELECT coalesce(sum("originalSizeBytes"), 0) FROM enhanced_images) AS "originalsBytes",
       (SELECT coalesce(sum("enhancedSizeBytes"), 0) FROM image_enhancement_jobs) AS "enhancedBytes",
       (SELECT coalesce(sum("outputSizeBytes"), 0) FROM mcp_generation_jobs) AS "generatedBytes",
       (SELECT coalesce(sum("fileSizeBytes"), 0) FROM audio_tracks) AS "audioBytes",
       pg_database_size(current_database()) AS "databaseBytes"
""",
        {},
    )
