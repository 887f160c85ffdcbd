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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.attribution import platform
from spikeland.analytics.models import CampaignLink, MarketingPlatform, VisitorSession
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound

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


class LinkExists(Conflict):
    code = "campaign_link_exists"


class LinkNotFound(NotFound):
    code = "campaign_link_not_found"


async def create(
    session: AsyncSession, utm_campaign: str, platform: MarketingPlatform, campaign_id: str, name: str | None
) -> CampaignLink:
    """An admin's link by hand (409 when the campaign already has one on that platform)."""
    link = CampaignLink(
        utm_campaign=utm_campaign,
        platform=platform.value,
        external_campaign_id=campaign_id,
        external_campaign_name=name,
    )
    try:
        async with session.begin_nested():
            session.add(link)
            await session.flush()
    except IntegrityError:
        raise LinkExists(
            f"The campaign {utm_campaign!r} is already linked on {platform.value}.",
            details={"utmCampaign": utm_campaign, "platform": platform.value},
        ) from None
    return link


async def remove(session: AsyncSession, link_id: str) -> None:
    link = await session.get(CampaignLink, link_id)
    if link is None:
        raise LinkNotFound("No such campaign link.")
    await session.delete(link)
    await session.flush()
