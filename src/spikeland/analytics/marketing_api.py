"""Ad accounts for admins, under ``/admin/analytics/marketing`` (``analytics.marketing`` has the rules).

- ``GET /platforms``: which platforms can be connected, what settings are missing, and the callback
  URL to register with the platform's app.
- ``GET /{platform}/connect`` redirects the admin's browser to the platform (a sealed flow cookie,
  10 minutes, HttpOnly, SameSite=Lax, scoped to these routes); ``GET /{platform}/callback`` checks
  it, stores the reachable ad accounts and answers 303 to the ``next`` path given to ``connect``.
- ``GET /accounts``, ``DELETE /accounts/{id}``; ``POST /sync`` syncs now; ``GET /campaigns`` lists
  the platforms' campaigns with their links and their spend over a range.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import RedirectResponse

from spikeland.analytics import marketing
from spikeland.analytics.models import MarketingPlatform
from spikeland.core.clock import utcnow
from spikeland.core.deps import Sessions, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, KeyringDep, audited, settings_of
from spikeland.integrations.ads import AdPlatform, make_ad_platforms, missing_settings
from spikeland.settings import Settings

PREFIX = "/admin/analytics/marketing"
COOKIE_PATH = f"/api/v1{PREFIX}"  # where app.py mounts the API
router = APIRouter(route_class=Route, prefix=PREFIX, tags=["admin"])


class Slug(StrEnum):
    google_ads = "google_ads"
    facebook = "facebook"

    @property
    def platform(self) -> MarketingPlatform:
        return MarketingPlatform(self.value.upper())


async def ad_platforms_of(request: Request) -> dict[str, AdPlatform]:
    platforms: dict[str, AdPlatform] | None = getattr(request.app.state, "ad_platforms", None)
    if platforms is None:
        platforms = request.app.state.ad_platforms = make_ad_platforms(settings_of(request))
    return platforms


AdPlatforms = Annotated[dict[str, AdPlatform], Depends(ad_platforms_of)]


def _callback_url(settings: Settings, slug: Slug) -> str:
    # From the configured public URL, never the Host header, so a forged host cannot redirect codes.
    return f"{settings.public_url.rstrip('/')}{COOKIE_PATH}/{slug.value}/callback"


def _cookie(slug: Slug) -> str:
    return f"spikeland_ads_{slug.value}"


class PlatformOut(Schema):
    platform: str
    slug: str
    configured: bool
    missing_settings: list[str]
    callback_url: str


@router.get("/platforms", response_model=list[PlatformOut])
async def platforms(actor: AdminUser, settings: SettingsDep) -> list[PlatformOut]:
    return [
        PlatformOut(
            platform=slug.platform.value,
            slug=slug.value,
            configured=not missing_settings(settings, slug.platform.value),
            missing_settings=missing_settings(settings, slug.platform.value),
            callback_url=_callback_url(settings, slug),
        )
        for slug in Slug
    ]


_CONNECT_ERRORS = {"ad_platform_not_configured": 503}
_CALLBACK_ERRORS = {
    **_CONNECT_ERRORS,
    "ad_platform_unavailable": 503,
    **dict.fromkeys(
        ("oauth_denied", "oauth_exchange_failed", "oauth_state_invalid", "ad_accounts_none"), 400
    ),
}


@router.get(
    "/{slug}/connect",
    response_class=RedirectResponse,
    status_code=302,
    openapi_extra=errors(**_CONNECT_ERRORS),
)
async def connect(
    slug: Slug,
    ad_platforms: AdPlatforms,
    actor: AdminUser,
    keyring: KeyringDep,
    settings: SettingsDep,
    next_path: Annotated[str | None, Query(alias="next", max_length=512)] = None,
) -> RedirectResponse:
    """Send the browser to the platform to grant read access to its ad accounts."""
    chosen = marketing.platform_of(ad_platforms, settings, slug.platform)
    url, sealed = marketing.start(chosen, keyring, _callback_url(settings, slug), next_path)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        _cookie(slug),
        sealed,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=COOKIE_PATH,
    )
    return response


@router.get(
    "/{slug}/callback",
    response_class=RedirectResponse,
    status_code=303,
    openapi_extra=errors(**_CALLBACK_ERRORS),
    dependencies=[audited("MARKETING_ACCOUNT_CONNECT")],
)
async def callback(
    slug: Slug,
    request: Request,  # the flow cookie, named by the platform
    ad_platforms: AdPlatforms,
    actor: AdminUser,
    session: DbSession,
    keyring: KeyringDep,
    settings: SettingsDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    chosen = marketing.platform_of(ad_platforms, settings, slug.platform)
    _saved, next_path = await marketing.finish(
        session,
        keyring,
        chosen,
        actor.id,
        _callback_url(settings, slug),
        sealed=request.cookies.get(_cookie(slug)),
        state=state,
        code=code,
        error=error,
    )
    response = RedirectResponse(settings.public_url.rstrip("/") + next_path, status_code=303)
    response.delete_cookie(
        _cookie(slug), httponly=True, samesite="lax", secure=settings.cookie_secure, path=COOKIE_PATH
    )
    return response


class AccountOut(Schema):
    id: str
    user_id: str
    platform: str
    account_id: str
    account_name: str | None
    is_active: bool
    expires_at: datetime | None
    campaigns: int
    last_synced_at: datetime | None
    created_at: datetime


@router.get("/accounts", response_model=list[AccountOut])
async def accounts(actor: AdminUser, session: DbSession) -> list[AccountOut]:
    """Connected ad accounts, newest first (tokens never shown)."""
    return [AccountOut(**row) for row in await marketing.accounts(session)]


@router.delete(
    "/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=errors(marketing_account_not_found=404),
    dependencies=[audited("MARKETING_ACCOUNT_DISCONNECT")],
)
async def disconnect(account_id: str, actor: AdminUser, session: DbSession) -> None:
    """Forget the account and its tokens; its campaigns' past spend stays for reports."""
    await marketing.disconnect(session, account_id)


class SyncFailure(Schema):
    id: str
    platform: str
    error: str


class SyncOut(Schema):
    accounts: int
    campaigns: int
    days: int
    links: int
    failed: list[SyncFailure]


@router.post("/sync", response_model=SyncOut, dependencies=[audited("MARKETING_SYNC")])
async def sync(
    ad_platforms: AdPlatforms,
    actor: AdminUser,
    sessions: Sessions,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> SyncOut:
    """Sync every active account now (the worker does it every ``marketing_sync_minutes``)."""
    found = await marketing.sync_all(sessions, ad_platforms, keyring, settings)
    return SyncOut.model_validate(found, from_attributes=True)


class CampaignOut(Schema):
    id: str
    platform: str
    external_campaign_id: str
    name: str
    status: str | None
    currency: str | None
    account_id: str
    linked_utm_campaigns: list[str]
    spend: Decimal
    impressions: int
    clicks: int
    synced_at: datetime


@router.get("/campaigns", response_model=list[CampaignOut], openapi_extra=errors(invalid_date_range=422))
async def campaigns(
    actor: AdminUser,
    session: DbSession,
    start: Annotated[date | None, Query(description="First day (UTC); default 30 days ago.")] = None,
    end: Annotated[date | None, Query(description="Last day (UTC), inclusive; default today.")] = None,
) -> list[CampaignOut]:
    """The platforms' campaigns with the UTM campaigns linked to them and their figures in the range."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=29)
    return [
        CampaignOut(
            id=campaign.id,
            platform=campaign.platform.value,
            external_campaign_id=campaign.external_campaign_id,
            name=campaign.name,
            status=campaign.status,
            currency=campaign.currency,
            account_id=campaign.account_id,
            linked_utm_campaigns=sorted(utms or []),
            spend=spend or Decimal(0),
            impressions=impressions or 0,
            clicks=clicks or 0,
            synced_at=campaign.synced_at,
        )
        for campaign, spend, impressions, clicks, utms in await marketing.campaigns(session, start, end)
    ]
