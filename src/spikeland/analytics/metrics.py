"""Campaign metrics for the admins: overview, daily series, campaigns, traffic sources, funnel.

A report covers whole UTC days ``start``..``end`` (inclusive) under one attribution model. Visits
(sessions, visitors, bounces) are counted by the sessions that *started* in the range; conversions
(sign-ups, enhancements, purchases, revenue) by the model's attribution rows *converted* in the
range, so each conversion counts once per model. Visitors are distinct visitor ids: a visitor
without consent has a new id per session, so visitors ≥ real people. Bounce rate: the share of
sessions with at most one page view.

Spend is what the ad-platform sync recorded per campaign and day (``analytics.marketing``) in the
range, counted where the ad account's currency is the revenue's (GBP; spend in another currency
shows with its campaign in the marketing API, not converted here). ROI = (revenue - spend) / spend
* 100 and cost per acquisition = spend / sign-ups, both null without spend (or sign-ups). In the
campaigns report a row (UTM campaign, source) gets the spend of the platform campaigns its UTM
campaign is linked to on the source's platform (``campaign_links``); linked spend without any
visit or conversion in the range is a row of its own.

Every report is kept in ``campaign_metrics_cache`` for an hour under the spec's key format
(``overview:2024-01-01:2024-01-31:first_touch``): a read of a live entry answers from it, a read
after expiry computes again and replaces it, and ``purge_expired`` deletes what has expired.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.attribution import FACEBOOK_WORDS, GOOGLE_WORDS, SEARCH_ENGINES, source_platform
from spikeland.analytics.models import AttributionType, CampaignMetricsCache
from spikeland.core.clock import utcnow
from spikeland.core.errors import ValidationFailed
from spikeland.core.export import to_csv

TTL = timedelta(hours=1)
MAX_DAYS = 366
REPORTS = ("overview", "daily", "campaigns", "sources", "funnel")

# The traffic source of a session ``vs``, by the attribution platform rules (analytics.attribution;
# a test holds the two to one rule set). Written with LIKE and split_part, not regular expressions:
# a case-insensitive regular expression on every referrer cost ~2 µs a row, most of a year's report.
_SOURCE = 'lower(vs."utmSource")'
_HOST = (  # urlsplit(referrer).hostname: after "//", before the path, query, fragment, userinfo, port
    "lower(split_part(split_part(split_part(split_part(split_part("
    "split_part(vs.referrer, '//', 2), '/', 1), '?', 1), '#', 1), '@', -1), ':', 1))"
)


def _any(patterns: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{pattern}'" for pattern in patterns) + "]"


_GOOGLE_ANY = _any([f"%{word}%" for word in GOOGLE_WORDS])
_FACEBOOK_START = _any([f"{word}%" for word in FACEBOOK_WORDS])
_FACEBOOK_PART = _any(["%" + "\\_" + word + "\\_%" for word in FACEBOOK_WORDS])  # "_" escaped in LIKE
_ENGINES = _any([f"%.{engine}%" for engine in SEARCH_ENGINES])
SOURCE_SQL = f"""
CASE
  WHEN vs.gclid IS NOT NULL THEN 'GOOGLE_ADS'
  WHEN vs.fbclid IS NOT NULL THEN 'FACEBOOK'
  WHEN vs."utmSource" <> '' THEN CASE
    WHEN {_SOURCE} LIKE ANY ({_GOOGLE_ANY}) THEN 'GOOGLE_ADS'
    WHEN {_SOURCE} LIKE ANY ({_FACEBOOK_START}) OR '_' || {_SOURCE} || '_' LIKE ANY ({_FACEBOOK_PART})
      THEN 'FACEBOOK'
    ELSE 'OTHER' END
  WHEN '.' || {_HOST} LIKE ANY ({_ENGINES}) THEN 'ORGANIC'
  WHEN {_HOST} <> '' THEN 'REFERRAL'
  ELSE 'DIRECT'
END"""


class Period:
    def __init__(self, start: date, end: date, model: AttributionType) -> None:
        if end < start:
            raise ValidationFailed("The end date is before the start date.", code="invalid_date_range")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationFailed(f"A report covers at most {MAX_DAYS} days.", code="invalid_date_range")
        self.start, self.end, self.model = start, end, model

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time())

    @property
    def until(self) -> datetime:  # exclusive: the day after ``end``
        return datetime.combine(self.end + timedelta(days=1), time())

    def previous(self) -> Period:
        length = self.end - self.start + timedelta(days=1)
        return Period(self.start - length, self.end - length, self.model)

    def key(self, report: str) -> str:
        return f"{report}:{self.start.isoformat()}:{self.end.isoformat()}:{self.model.value.lower()}"

    def params(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "model": self.model.value}


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), params)
    return [{k: _number(v) for k, v in row._mapping.items()} for row in result]


_VISITS = """
SELECT count(*) AS sessions, count(DISTINCT "visitorId") AS visitors,
       count(*) FILTER (WHERE "pageViewCount" <= 1) AS bounces
FROM visitor_sessions WHERE "sessionStart" >= :since AND "sessionStart" < :until
"""
# A report's conversions of each kind and its revenue, from campaign_attributions.
_FIGURES = """count(*) FILTER (WHERE "conversionType" = 'SIGNUP') AS signups,
  count(*) FILTER (WHERE "conversionType" = 'ENHANCEMENT') AS enhancements,
  count(*) FILTER (WHERE "conversionType" = 'PURCHASE') AS purchases,
  coalesce(sum("conversionValue") FILTER (WHERE "conversionType" = 'PURCHASE'), 0) AS revenue"""
_CONVERTED = """WHERE "attributionType" = CAST(:model AS "AttributionType")
  AND "convertedAt" >= :since AND "convertedAt" < :until"""
_CONVERSIONS = f"""
SELECT {_FIGURES}
FROM campaign_attributions
{_CONVERTED}
"""


REVENUE_CURRENCY = "GBP"
# Spend per linked UTM campaign and platform over the range (the spend table's primary key leads
# with the campaign, so each linked campaign's days are one index range).
_LINKED_SPEND = f"""
SELECT l."utmCampaign" AS campaign, l.platform, sum(s.spend) AS spend
FROM campaign_links l
JOIN ad_campaigns c ON c.platform::text = l.platform AND c."externalCampaignId" = l."externalCampaignId"
JOIN ad_campaign_spend s ON s."campaignId" = c.id
WHERE c.currency = '{REVENUE_CURRENCY}' AND s.day >= CAST(:since AS date) AND s.day < CAST(:until AS date)
GROUP BY 1, 2
"""
_SPEND = f"""
SELECT coalesce(sum(s.spend), 0) AS spend
FROM ad_campaign_spend s JOIN ad_campaigns c ON c.id = s."campaignId"
WHERE c.currency = '{REVENUE_CURRENCY}' AND s.day >= CAST(:since AS date) AND s.day < CAST(:until AS date)
"""


def _returns(row: dict[str, Any]) -> None:
    """ROI and cost per acquisition of a row with spend, revenue and signups (in place)."""
    spend = row.get("spend")
    row["roi"] = round((row["revenue"] - spend) * 100 / spend, 2) if spend else None
    row["costPerAcquisition"] = round(spend / row["signups"], 2) if spend and row["signups"] else None


def _rate(part: float, whole: float) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def _change(now: float, before: float) -> float:
    if before == 0:
        return 100.0 if now > 0 else 0.0
    return round((now - before) * 100 / before, 2)


async def _totals(session: AsyncSession, period: Period) -> dict[str, Any]:
    (visits,) = await _rows(session, _VISITS, period.params())
    (conversions,) = await _rows(session, _CONVERSIONS, period.params())
    (spend,) = await _rows(session, _SPEND, period.params())
    return {**visits, **conversions, **spend}


async def overview(session: AsyncSession, period: Period) -> dict[str, Any]:
    now, before = await _totals(session, period), await _totals(session, period.previous())
    figures = ("visitors", "sessions", "signups", "enhancements", "purchases", "revenue", "spend")
    now["spend"] = round(now["spend"], 2)
    _returns(now)
    return {
        **{name: now[name] for name in figures},
        "roi": now["roi"],
        "costPerAcquisition": now["costPerAcquisition"],
        "bounceRate": _rate(now["bounces"], now["sessions"]),
        "signupRate": _rate(now["signups"], now["visitors"]),
        "purchaseRate": _rate(now["purchases"], now["visitors"]),
        "change": {name: _change(float(now[name]), float(before[name])) for name in figures},
    }


async def daily(session: AsyncSession, period: Period) -> dict[str, Any]:
    sql = f"""
WITH days AS (
  SELECT generate_series(CAST(:since AS date), CAST(:until AS date) - 1, interval '1 day')::date AS day
),
visits AS (
  SELECT "sessionStart"::date AS day, count(*) AS sessions, count(DISTINCT "visitorId") AS visitors
  FROM visitor_sessions WHERE "sessionStart" >= :since AND "sessionStart" < :until GROUP BY 1
),
conversions AS (
  SELECT "convertedAt"::date AS day,
         {_FIGURES}
  FROM campaign_attributions
  {_CONVERTED}
  GROUP BY 1
),
spent AS (
  SELECT s.day, sum(s.spend) AS spend
  FROM ad_campaign_spend s JOIN ad_campaigns c ON c.id = s."campaignId"
  WHERE c.currency = '{REVENUE_CURRENCY}' AND s.day >= CAST(:since AS date) AND s.day < CAST(:until AS date)
  GROUP BY 1
)
SELECT to_char(d.day, 'YYYY-MM-DD') AS date, coalesce(v.sessions, 0) AS sessions,
       coalesce(v.visitors, 0) AS visitors, coalesce(c.signups, 0) AS signups,
       coalesce(c.enhancements, 0) AS enhancements, coalesce(c.purchases, 0) AS purchases,
       coalesce(c.revenue, 0) AS revenue, round(coalesce(sp.spend, 0), 2) AS spend
FROM days d LEFT JOIN visits v USING (day) LEFT JOIN conversions c USING (day)
     LEFT JOIN spent sp USING (day)
ORDER BY d.day
"""
    return {"days": await _rows(session, sql, period.params())}


async def campaigns(session: AsyncSession, period: Period) -> dict[str, Any]:
    sql = f"""
WITH visits AS (
  SELECT coalesce("utmCampaign", '(none)') AS campaign, coalesce("utmSource", '(direct)') AS source,
         count(*) AS sessions, count(DISTINCT "visitorId") AS visitors,
         count(*) FILTER (WHERE "pageViewCount" <= 1) AS bounces
  FROM visitor_sessions WHERE "sessionStart" >= :since AND "sessionStart" < :until GROUP BY 1, 2
),
conversions AS (
  SELECT coalesce("utmCampaign", '(none)') AS campaign, coalesce("utmSource", '(direct)') AS source,
         {_FIGURES}
  FROM campaign_attributions
  {_CONVERTED}
  GROUP BY 1, 2
)
SELECT campaign, source, coalesce(v.sessions, 0) AS sessions, coalesce(v.visitors, 0) AS visitors,
       CASE WHEN coalesce(v.sessions, 0) = 0 THEN 0
            ELSE round(v.bounces * 100.0 / v.sessions, 2) END AS "bounceRate",
       coalesce(c.signups, 0) AS signups, coalesce(c.enhancements, 0) AS enhancements,
       coalesce(c.purchases, 0) AS purchases, coalesce(c.revenue, 0) AS revenue
FROM visits v FULL JOIN conversions c USING (campaign, source)
ORDER BY revenue DESC, sessions DESC, campaign, source
LIMIT 1000
"""
    rows = await _rows(session, sql, period.params())
    for row in rows:
        row["spend"] = None
    for linked in await _rows(session, _LINKED_SPEND, period.params()):
        target: dict[str, Any] | None = next(
            (
                r
                for r in rows
                if r["campaign"] == linked["campaign"]
                and r["spend"] is None
                and r["source"] != "(direct)"
                and source_platform(r["source"]) == linked["platform"]
            ),
            None,
        )
        if target is None:  # spent, but nobody came or converted in the range
            target = {"campaign": linked["campaign"], "source": linked["platform"].lower(), "sessions": 0}
            target.update(visitors=0, bounceRate=0, signups=0, enhancements=0, purchases=0, revenue=0)
            rows.append(target)
        target["spend"] = round(linked["spend"], 2)
    for row in rows:
        _returns(row)
    return {"campaigns": rows}


async def sources(session: AsyncSession, period: Period) -> dict[str, Any]:
    sql = f"""
SELECT {SOURCE_SQL} AS source, count(*) AS sessions, count(DISTINCT vs."visitorId") AS visitors,
       count(*) FILTER (WHERE vs."pageViewCount" <= 1) AS bounces
FROM visitor_sessions vs WHERE vs."sessionStart" >= :since AND vs."sessionStart" < :until
GROUP BY 1 ORDER BY sessions DESC
"""
    conversions = f"""
SELECT coalesce(platform, 'DIRECT') AS source, count(*) FILTER (WHERE "conversionType" = 'SIGNUP') AS signups,
       coalesce(sum("conversionValue") FILTER (WHERE "conversionType" = 'PURCHASE'), 0) AS revenue
FROM campaign_attributions
{_CONVERTED}
GROUP BY 1
"""
    by_source = {row["source"]: row for row in await _rows(session, conversions, period.params())}
    rows = await _rows(session, sql, period.params())
    for row in rows:
        found = by_source.pop(row["source"], {})
        row.update(signups=found.get("signups", 0), revenue=found.get("revenue", 0))
    rows += [{"sessions": 0, "visitors": 0, "bounces": 0, **c} for c in by_source.values()]
    return {"sources": rows}


async def funnel(session: AsyncSession, period: Period) -> dict[str, Any]:
    (visits,) = await _rows(session, _VISITS, period.params())
    sql = f"""
SELECT count(DISTINCT "userId") FILTER (WHERE "conversionType" = 'SIGNUP') AS signups,
       count(DISTINCT "userId") FILTER (WHERE "conversionType" = 'ENHANCEMENT') AS enhancers,
       count(DISTINCT "userId") FILTER (WHERE "conversionType" = 'PURCHASE') AS purchasers
FROM campaign_attributions
{_CONVERTED}
"""
    (users,) = await _rows(session, sql, period.params())
    steps = [
        ("visit", visits["visitors"]),
        ("signup", users["signups"]),
        ("enhancement", users["enhancers"]),
        ("purchase", users["purchasers"]),
    ]
    out, previous = [], None
    for name, count in steps:
        out.append(
            {"step": name, "count": count, "fromPrevious": _rate(count, previous) if previous else None}
        )
        previous = count
    return {"steps": out}


_COMPUTE: dict[str, Callable[[AsyncSession, Period], Awaitable[dict[str, Any]]]] = {
    "overview": overview,
    "daily": daily,
    "campaigns": campaigns,
    "sources": sources,
    "funnel": funnel,
}


async def report(session: AsyncSession, name: str, period: Period) -> tuple[dict[str, Any], datetime, bool]:
    """The report (from the cache while it is live): (metrics, computed at, from the cache)."""
    key, now = period.key(name), utcnow()
    cached = await session.scalar(
        select(CampaignMetricsCache).where(
            CampaignMetricsCache.cache_key == key, CampaignMetricsCache.expires_at > now
        )
    )
    if cached is not None:
        return dict(cached.metrics), cached.computed_at, True
    metrics = await _COMPUTE[name](session, period)
    statement = insert(CampaignMetricsCache).values(
        cache_key=key, metrics=metrics, computed_at=now, expires_at=now + TTL
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CampaignMetricsCache.cache_key],
        set_={
            "metrics": statement.excluded.metrics,
            "computedAt": statement.excluded.computedAt,
            "expiresAt": statement.excluded.expiresAt,
        },
    )
    await session.execute(statement)
    return metrics, now, False


def to_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics)


_ROWS = {"daily": "days", "campaigns": "campaigns", "sources": "sources", "funnel": "steps"}


async def export(session: AsyncSession, name: str, period: Period, as_json: bool) -> tuple[str, str, str]:
    """The report as a file: (file name, media type, body). CSV has one row per day, campaign,
    source or step (the overview is one row); JSON is the report as ``report`` answers it."""
    found, _at, _cached = await report(session, name, period)
    stem = period.key(name).replace(":", "_")
    if as_json:
        return f"{stem}.json", "application/json", to_json(found)
    rows = found[_ROWS[name]] if name in _ROWS else [dict(found)]
    return f"{stem}.csv", "text/csv", to_csv(rows)


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(
        delete(CampaignMetricsCache).where(CampaignMetricsCache.expires_at <= utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
