"""Campaign metrics at volume (issue 16): each report's time, uncached and cached, on generated data.

A fresh database gets ``--sessions`` visitor sessions (default 1,000,000) spread over the year
before 2026-11-30 (utm campaigns and sources, click ids, referrers, 1 to 19 page views each),
``--sessions`` times ``--pages`` page views (default 10 per session: 10,000,000), and two attribution rows
(first and last touch) for every 20th session's sign-up, every 40th's enhancement and every 100th's
purchase. Each report (``analytics.metrics``) is then computed through the service for the last
30 days and for the whole year: uncached (its cache row deleted first), then cached (the live
cache row read back), the median of ``--repeat`` runs each.

    .venv/bin/python benchmarks/analytics_metrics.py [--sessions 1000000] [--pages 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from ledger import fresh_database, save_report
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from spikeland.analytics import metrics
from spikeland.analytics.models import AttributionType, CampaignMetricsCache
from spikeland.db.engine import async_url

END = date(2026, 11, 30)
SESSIONS_SQL = """
INSERT INTO visitor_sessions (id, "visitorId", "userId", "sessionStart", "sessionEnd", "deviceType",
  browser, os, "ipCountry", referrer, "landingPage", "exitPage", "pageViewCount", "utmSource",
  "utmMedium", "utmCampaign", gclid, fbclid)
SELECT 'vs' || g, 'v_' || (g % ($1::int / 3)), NULL,
       $2::timestamp - make_interval(secs => (g::bigint * 31536000 / $1::int)),
       $2::timestamp - make_interval(secs => (g::bigint * 31536000 / $1::int)) + interval '5 minutes',
       (ARRAY['desktop','mobile','tablet'])[1 + g % 3], 'Chrome', 'Android', 'GB',
       CASE WHEN g % 5 = 0 THEN 'https://www.google.com/' WHEN g % 7 = 0 THEN 'https://news.example.com/' END,
       '/', '/pricing', 1 + g % 19,
       CASE WHEN g % 4 = 0 THEN (ARRAY['google','facebook','newsletter','twitter'])[1 + g % 16 / 4] END,
       CASE WHEN g % 4 = 0 THEN 'cpc' END,
       CASE WHEN g % 4 = 0 THEN 'campaign_' || (g % 50) END,
       CASE WHEN g % 12 = 0 THEN 'gclid' || g END,
       CASE WHEN g % 13 = 0 THEN 'fbclid' || g END
FROM generate_series(1, $1::int) AS g
"""
PAGES_SQL = """
INSERT INTO page_views (id, "sessionId", path, title, "timestamp", "timeOnPage", "scrollDepth")
SELECT 'pv' || s || '_' || p, 'vs' || s, '/page/' || (p % 40), NULL,
       $2::timestamp - make_interval(secs => (s::bigint * 31536000 / $1::int))
         + make_interval(secs => p * 20),
       20, (p * 7) % 101
FROM generate_series(1, $1::int) AS s, generate_series(1, $3::int) AS p
"""
USERS_SQL = """
INSERT INTO users (id, email, "referralCode", "updatedAt")
SELECT 'u' || g, 'u' || g || '@bench.example', 'R' || g, now() FROM generate_series(1, $1::int / 20) AS g
"""
ATTRIBUTIONS_SQL = """
INSERT INTO campaign_attributions (id, "userId", "sessionId", "attributionType", platform,
  "externalCampaignId", "utmCampaign", "utmSource", "utmMedium", "conversionType", "conversionValue",
  "convertedAt")
SELECT 'at' || vs.id || m || c, 'u' || (substr(vs.id, 3)::int / 20 + 1), vs.id,
       CAST(m AS "AttributionType"),
       CASE WHEN vs.gclid IS NOT NULL THEN 'GOOGLE_ADS' WHEN vs.fbclid IS NOT NULL THEN 'FACEBOOK'
            ELSE 'DIRECT' END,
       coalesce(vs.gclid, vs.fbclid), vs."utmCampaign", vs."utmSource", vs."utmMedium",
       CAST(c AS "ConversionType"), CASE c WHEN 'PURCHASE' THEN 9.99 WHEN 'ENHANCEMENT' THEN 5 END,
       vs."sessionStart" + interval '2 minutes'
FROM visitor_sessions vs, (VALUES ('FIRST_TOUCH'), ('LAST_TOUCH')) AS models(m),
     (VALUES ('SIGNUP', 20), ('ENHANCEMENT', 40), ('PURCHASE', 100)) AS kinds(c, every)
WHERE substr(vs.id, 3)::int % every = 0 AND substr(vs.id, 3)::int / 20 + 1 <= $1::int / 20
"""


async def generate(url: str, sessions: int, pages: int) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    took: dict[str, float] = {}
    try:
        end = END.isoformat()
        for name, sql, args in (
            ("users", USERS_SQL, (sessions,)),
            ("sessions", SESSIONS_SQL, (sessions, end)),
            ("page views", PAGES_SQL, (sessions, end, pages)),
            ("attributions", ATTRIBUTIONS_SQL, (sessions,)),
        ):
            started = time.perf_counter()
            await conn.execute(_bind(sql, end), *[a for a in args if not isinstance(a, str)])
            took[name] = time.perf_counter() - started
            print(f"  {name}: {took[name]:.1f} s", flush=True)
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE visitor_sessions, page_views, campaign_attributions")
        took["vacuum analyze"] = time.perf_counter() - started
    finally:
        await conn.close()
    return took


def _bind(sql: str, end: str) -> str:
    """The end date as a literal: the remaining parameters are the counts ($1, and $3 → $2)."""
    return sql.replace("$2::timestamp", f"'{end}'::timestamp").replace("$3::int", "$2::int")


async def measure(url: str, repeat: int) -> list[dict[str, Any]]:
    engine = create_async_engine(async_url(url), pool_size=2)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rows = []
    try:
        for label, start in (("30 days", END - timedelta(days=29)), ("365 days", END - timedelta(days=364))):
            period = metrics.Period(start, END, AttributionType.FIRST_TOUCH)
            for report in metrics.REPORTS:
                timings: dict[str, list[float]] = {"uncached": [], "cached": []}
                for _ in range(repeat):
                    async with sessions() as session, session.begin():
                        await session.execute(
                            delete(CampaignMetricsCache).where(
                                CampaignMetricsCache.cache_key == period.key(report)
                            )
                        )
                    for kind in ("uncached", "cached"):
                        started = time.perf_counter()
                        async with sessions() as session, session.begin():
                            _found, _at, cached = await metrics.report(session, report, period)
                        timings[kind].append((time.perf_counter() - started) * 1000)
                        assert cached == (kind == "cached")
                row = {
                    "range": label,
                    "report": report,
                    "uncached_ms": round(statistics.median(timings["uncached"]), 1),
                    "cached_ms": round(statistics.median(timings["cached"]), 2),
                }
                figures = f"uncached {row['uncached_ms']:>9.1f} ms   cached {row['cached_ms']:>6.2f} ms"
                print(f"  {label:>8} {report:<10} {figures}")
                rows.append(row)
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=10, help="page views per session")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        print(f"database: {where}; {args.sessions:,} sessions, {args.sessions * args.pages:,} page views")
        took = asyncio.run(generate(url, args.sessions, args.pages))
        rows = asyncio.run(measure(url, args.repeat))
    save_report(
        "analytics_metrics",
        {
            "sessions": args.sessions,
            "page_views": args.sessions * args.pages,
            "generation_s": took,
            "reports": rows,
        },
        load_before,
    )


if __name__ == "__main__":
    sys.exit(main())
