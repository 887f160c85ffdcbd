"""Campaign links kept up to date as campaigns are seen: a UTM campaign → the ad platform's campaign id.

Ad platforms can tag their links with the campaign's own id (Google Ads' ``{campaignid}`` ValueTrack
parameter, Meta's ``{{campaign.id}}``), conventionally as ``utm_id``. When a session arrives with a
``utmCampaign``, a ``utmId`` and a platform (its click id, or its utmSource, by the attribution
rules), the link ``(utmCampaign, platform)`` is created, or updated when the id changed — one
upsert, so concurrent sessions of one campaign never collide. Organic and other sources have no
platform campaign to link.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.attribution import platform
from spikeland.analytics.models import CampaignLink, MarketingPlatform, VisitorSession
from spikeland.core.clock import utcnow

_PLATFORMS = {p.value for p in MarketingPlatform}


async def seen(session: AsyncSession, visit: VisitorSession, utm_id: str | None) -> bool:
    """Record the visit's campaign link if it names one; True when a link was written."""
    chosen = platform(visit)
    if not (visit.utm_campaign and utm_id and chosen in _PLATFORMS):
        return False
    statement = insert(CampaignLink).values(
        utm_campaign=visit.utm_campaign,
        platform=chosen,
        external_campaign_id=utm_id,
        external_campaign_name=visit.utm_campaign,
        updated_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CampaignLink.utm_campaign, CampaignLink.platform],
        set_={
            "externalCampaignId": statement.excluded.externalCampaignId,
            "updatedAt": statement.excluded.updatedAt,
        },
        where=CampaignLink.external_campaign_id != statement.excluded.externalCampaignId,
    )
    await session.execute(statement)
    return True
