"""Conversions credited to the visits that led to them: a FIRST_TOUCH and a LAST_TOUCH row each.

- The touches are the user's visitor sessions (linked when they sign in) that started at or before
  the conversion: the first and the last of them (the same session when there is one). A user
  with none converts DIRECT (the ``sessionId`` then says ``direct:<userId>``).
- Platform (the original's rules): a gclid → GOOGLE_ADS, an fbclid → FACEBOOK; else a utmSource
  naming google/gads → GOOGLE_ADS, facebook/fb/instagram/meta → FACEBOOK, any other → OTHER; else a
  referrer on a search engine (google, bing, duckduckgo, yahoo…) → ORGANIC, any other referrer →
  REFERRAL; else DIRECT. ``externalCampaignId`` is the click id.
- Exactly once per conversion: each row's id is derived from the conversion's own key (the user for
  a sign-up, the job for an enhancement, the payment for a purchase) and the model, and inserted
  with ON CONFLICT DO NOTHING — a retried webhook or job writes nothing twice.
- Never in the conversion's way: the work runs in a savepoint and any failure is logged and
  swallowed (the sign-up, the spend, the payment go on).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.models import AttributionType, CampaignAttribution, ConversionType, VisitorSession
from spikeland.core.clock import utcnow

_log = logging.getLogger(__name__)

GOOGLE_WORDS = ("google", "gads", "adwords")
FACEBOOK_WORDS = ("facebook", "fb", "instagram", "meta")
SEARCH_ENGINES = ("google.", "bing.com", "duckduckgo.com", "yahoo.", "ecosia.org", "baidu.com", "yandex.")


def source_platform(utm_source: str) -> str:
    """GOOGLE_ADS, FACEBOOK or OTHER for a visit's utmSource."""
    source = utm_source.lower()
    if any(word in source for word in GOOGLE_WORDS):
        return "GOOGLE_ADS"
    if any(word == source or word in source.split("_") or source.startswith(word) for word in FACEBOOK_WORDS):
        return "FACEBOOK"
    return "OTHER"


def platform(visit: VisitorSession | None) -> str:
    if visit is None:
        return "DIRECT"
    if visit.gclid:
        return "GOOGLE_ADS"
    if visit.fbclid:
        return "FACEBOOK"
    if visit.utm_source:
        return source_platform(visit.utm_source)
    if visit.referrer:
        host = (urlsplit(visit.referrer).hostname or "").lower()
        if any(host.startswith(engine) or f".{engine}" in host for engine in SEARCH_ENGINES):
            return "ORGANIC"
        return "REFERRAL" if host else "DIRECT"
    return "DIRECT"


def _row_id(conversion: ConversionType, key: str, model: AttributionType) -> str:
    return "att" + hashlib.sha256(f"{conversion.value}:{key}:{model.value}".encode()).hexdigest()[:22]


async def attribute(
    session: AsyncSession,
    user_id: str,
    conversion: ConversionType,
    key: str,
    *,
    value: float | None = None,
    at: datetime | None = None,
) -> int:
    """Record the conversion's two touches (once per ``key``); how many rows were new. Never raises."""
    at = at or utcnow()
    try:
        async with session.begin_nested():
            visits = (
                await session.scalars(
                    select(VisitorSession)
                    .where(VisitorSession.user_id == user_id, VisitorSession.session_start <= at)
                    .order_by(VisitorSession.session_start, VisitorSession.id)
                )
            ).all()
            touches = {
                AttributionType.FIRST_TOUCH: visits[0] if visits else None,
                AttributionType.LAST_TOUCH: visits[-1] if visits else None,
            }
            written = 0
            for model, visit in touches.items():
                chosen = platform(visit)
                statement = (
                    insert(CampaignAttribution)
                    .values(
                        id=_row_id(conversion, key, model),
                        user_id=user_id,
                        session_id=visit.id if visit else f"direct:{user_id}",
                        attribution_type=model,
                        platform=chosen,
                        external_campaign_id=(visit.gclid or visit.fbclid) if visit else None,
                        utm_campaign=visit.utm_campaign if visit else None,
                        utm_source=visit.utm_source if visit else None,
                        utm_medium=visit.utm_medium if visit else None,
                        conversion_type=conversion,
                        conversion_value=value,
                        converted_at=at,
                    )
                    .on_conflict_do_nothing(index_elements=[CampaignAttribution.id])
                    .returning(CampaignAttribution.id)
                )
                written += (await session.execute(statement)).scalar_one_or_none() is not None
            return written
    except (SQLAlchemyError, ValueError) as exc:
        _log.warning("attribution of %s %s for user %s failed: %s", conversion.value, key, user_id, exc)
        return 0
