"""Marketing accounts: ad accounts connected by OAuth, and the sync of their campaigns and spend.

Rules:

- **Connecting** is an admin's OAuth flow with the platform (``integrations.ads``): the flow state
  (state, PKCE verifier, where to go after) travels sealed in a cookie, as sign-in's does
  (``identity.oauth``), under the name ``ads:<PLATFORM>`` so a sign-in flow cannot complete here.
  One grant can reach several ad accounts: each becomes a ``marketing_accounts`` row of that admin
  (unique ``(userId, platform, accountId)``; connecting again replaces the tokens and reactivates).
- **Tokens** are stored AES-256-GCM sealed with the keyring (``enc:v1:…``; ``spikeland keys rotate``
  moves them to a new key) and never leave the service. Before a sync uses one it is refreshed when
  it expires within the platform's margin (Google: a refresh-token grant; Facebook: the long-lived
  token exchanged again); a token the platform refuses is refreshed once, and if that is refused
  too the account is deactivated (``isActive`` false) until an admin connects it again.
- **The sync** (every ``marketing_sync_minutes`` on the worker, or an admin's "sync now") takes each
  active account under ``FOR UPDATE SKIP LOCKED``, so two workers never sync one account at once,
  and writes in that account's transaction: its campaigns (``ad_campaigns``, by platform and id),
  each campaign's figures per day for the last ``marketing_sync_days`` (``ad_campaign_spend``,
  replaced: platforms revise recent days), and campaign links. One account failing leaves the
  others to sync; its failure is logged and reported.
- **Campaign links** follow from what visitors bring: a campaign whose name, or a ``utm_campaign``
  in its tracking template, equals a ``utmCampaign`` seen in sessions is linked to it on its
  platform — created only where no link exists, so an admin's own link is never replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import Text, and_, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.analytics.models import (
    AdCampaign,
    AdCampaignSpend,
    CampaignLink,
    MarketingAccount,
    MarketingPlatform,
    VisitorSession,
)
from spikeland.core.admission import outside
from spikeland.core.clock import utcnow
from spikeland.core.errors import NotFound, ServiceUnavailable, ValidationFailed
from spikeland.core.security import DecryptionError, Keyring
from spikeland.db.cuid import cuid
from spikeland.db.engine import transaction
from spikeland.identity import oauth
from spikeland.integrations.ads import (
    AdAccount,
    AdAuthRejected,
    AdPlatform,
    AdPlatformError,
    AdPlatformUnavailable,
    AdTokens,
    Campaign,
    DaySpend,
    missing_settings,
)
from spikeland.settings import Settings

_log = logging.getLogger(__name__)

# How long before expiry a token is renewed: Google's live an hour, Facebook's about 60 days (and
# can only be exchanged while still valid, so well ahead).
REFRESH_MARGIN = {
    MarketingPlatform.GOOGLE_ADS.value: timedelta(minutes=5),
    MarketingPlatform.FACEBOOK.value: timedelta(days=7),
}
_UTM_CAMPAIGN = re.compile(r"(?:^|[?&;\s])utm_campaign=([^&#\s;]+)", re.IGNORECASE)


class AccountNotFound(NotFound):
    code = "marketing_account_not_found"


def flow_name(platform: MarketingPlatform) -> str:
    return f"ads:{platform.value}"


def platform_of(
    platforms: dict[str, AdPlatform], settings: Settings, chosen: MarketingPlatform
) -> AdPlatform:
    found = platforms.get(chosen.value)
    if found is None:
        missing = missing_settings(settings, chosen.value)
        raise ServiceUnavailable(
            f"{chosen.value} is not configured: set {', '.join(missing)}.",
            code="ad_platform_not_configured",
            details={"missing": missing},
        )
    return found


@asynccontextmanager
async def _talking_to(platform: AdPlatform) -> AsyncIterator[None]:
    """The platform's failures during a connect, as the sign-in flow reports them (400 / 503)."""
    try:
        async with outside():
            yield
    except AdPlatformUnavailable:
        raise ServiceUnavailable(
            f"{platform.platform} cannot be reached; try again.", code="ad_platform_unavailable"
        ) from None
    except (AdAuthRejected, AdPlatformError):
        raise oauth.OAuthFailed(
            f"{platform.platform} refused the connection.", code="oauth_exchange_failed"
        ) from None


def start(
    platform: AdPlatform, keyring: Keyring, redirect_uri: str, next_path: str | None
) -> tuple[str, str]:
    """Where to send the admin's browser, and the sealed flow state for its cookie."""
    flow = oauth.new_flow(flow_name(MarketingPlatform(platform.platform)), next_path)
    return platform.authorization_url(redirect_uri, flow.state, flow.verifier), oauth.seal_flow(keyring, flow)


async def finish(
    session: AsyncSession,
    keyring: Keyring,
    platform: AdPlatform,
    user_id: str,
    redirect_uri: str,
    *,
    sealed: str | None,
    state: str | None,
    code: str | None,
    error: str | None,
) -> tuple[list[MarketingAccount], str]:
    """The callback: the connected accounts (made or renewed) and where to go next."""
    if error is not None:
        raise oauth.OAuthFailed("The connection was not completed.", code="oauth_denied")
    flow = oauth.open_flow(keyring, sealed, flow_name(MarketingPlatform(platform.platform)), state)
    if not code:
        raise oauth.OAuthStateInvalid("The platform's answer carries no authorization code.")
    async with _talking_to(platform):
        tokens = await platform.exchange(code, redirect_uri, flow.verifier)
        accounts = await platform.accounts(tokens.access_token)
    if not accounts:
        raise oauth.OAuthFailed(
            f"This {platform.platform} login reaches no ad account.", code="ad_accounts_none"
        )
    saved = [
        await _save(session, keyring, platform.platform, user_id, account, tokens) for account in accounts
    ]
    return saved, flow.next_path


async def _save(
    session: AsyncSession, keyring: Keyring, platform: str, user_id: str, account: AdAccount, tokens: AdTokens
) -> MarketingAccount:
    values: dict[str, Any] = {
        "account_name": account.name,
        "access_token": keyring.encrypt(tokens.access_token),
        "refresh_token": keyring.encrypt(tokens.refresh_token) if tokens.refresh_token else None,
        "expires_at": tokens.expires_at,
        "is_active": True,
        "updated_at": utcnow(),
    }
    statement = insert(MarketingAccount).values(
        user_id=user_id, platform=platform, account_id=account.id, **values
    )
    excluded = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[MarketingAccount.user_id, MarketingAccount.platform, MarketingAccount.account_id],
        set_={
            column: excluded[column]
            for column in ("accountName", "accessToken", "expiresAt", "isActive", "updatedAt")
        }
        | ({"refreshToken": excluded.refreshToken} if tokens.refresh_token else {}),
    ).returning(MarketingAccount)
    saved: MarketingAccount = (await session.scalars(upsert)).one()
    return saved


async def accounts(session: AsyncSession) -> list[dict[str, Any]]:
    """Every connected account with its campaign count and last sync (never a token)."""
    campaigns = (
        select(
            AdCampaign.platform.label("platform"),
            AdCampaign.account_id.label("account_id"),
            func.count().label("campaigns"),
            func.max(AdCampaign.synced_at).label("synced_at"),
        )
        .group_by(AdCampaign.platform, AdCampaign.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(MarketingAccount, campaigns.c.campaigns, campaigns.c.synced_at)
        .outerjoin(
            campaigns,
            and_(
                campaigns.c.platform == MarketingAccount.platform,
                campaigns.c.account_id == MarketingAccount.account_id,
            ),
        )
        .order_by(MarketingAccount.created_at.desc(), MarketingAccount.id)
    )
    return [
        {
            "id": account.id,
            "user_id": account.user_id,
            "platform": account.platform.value,
            "account_id": account.account_id,
            "account_name": account.account_name,
            "is_active": account.is_active,
            "expires_at": account.expires_at,
            "campaigns": count or 0,
            "last_synced_at": synced_at,
            "created_at": account.created_at,
        }
        for account, count, synced_at in rows
    ]


async def disconnect(session: AsyncSession, account_id: str) -> None:
    """The account and its tokens go; its campaigns and their spend stay (for past reports)."""
    result = await session.execute(delete(MarketingAccount).where(MarketingAccount.id == account_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise AccountNotFound("No such marketing account.")


async def campaigns(session: AsyncSession, start: date, end: date) -> list[Any]:
    """The platforms' campaigns (most spent first) with their linked UTM campaigns and their
    spend, impressions and clicks from ``start`` to ``end`` inclusive."""
    if end < start:
        raise ValidationFailed("The end date is before the start date.", code="invalid_date_range")
    totals = (
        select(
            AdCampaignSpend.campaign_id.label("campaign_id"),
            func.sum(AdCampaignSpend.spend).label("spend"),
            func.sum(AdCampaignSpend.impressions).label("impressions"),
            func.sum(AdCampaignSpend.clicks).label("clicks"),
        )
        .where(AdCampaignSpend.day >= start, AdCampaignSpend.day <= end)
        .group_by(AdCampaignSpend.campaign_id)
        .subquery()
    )
    linked = (
        select(
            CampaignLink.platform.label("platform"),
            CampaignLink.external_campaign_id.label("external_id"),
            func.array_agg(CampaignLink.utm_campaign).label("utms"),
        )
        .group_by(CampaignLink.platform, CampaignLink.external_campaign_id)
        .subquery()
    )
    rows = await session.execute(
        select(AdCampaign, totals.c.spend, totals.c.impressions, totals.c.clicks, linked.c.utms)
        .outerjoin(totals, totals.c.campaign_id == AdCampaign.id)
        .outerjoin(
            linked,
            and_(
                linked.c.platform == cast(AdCampaign.platform, Text),
                linked.c.external_id == AdCampaign.external_campaign_id,
            ),
        )
        .order_by(func.coalesce(totals.c.spend, 0).desc(), AdCampaign.name, AdCampaign.id)
        .limit(1000)
    )
    return list(rows)


# ----------------------------------------------------------------------------- the sync


@dataclass
class SyncReport:
    accounts: int = 0
    campaigns: int = 0
    days: int = 0
    links: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def add(self, other: SyncReport) -> None:
        self.accounts += other.accounts
        self.campaigns += other.campaigns
        self.days += other.days
        self.links += other.links
        self.failed += other.failed


async def sync_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    platforms: dict[str, AdPlatform],
    keyring: Keyring,
    settings: Settings,
    today: date | None = None,
) -> SyncReport:
    """Every active account of a configured platform, each in its own transaction."""
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(MarketingAccount.id)
                .where(MarketingAccount.is_active, MarketingAccount.platform.in_(list(platforms)))
                .order_by(MarketingAccount.id)
            )
        )
    report = SyncReport()
    for account_id in ids:
        async with transaction(sessionmaker) as session:
            report.add(await sync_account(session, platforms, keyring, settings, account_id, today))
    return report


async def sync_account(
    session: AsyncSession,
    platforms: dict[str, AdPlatform],
    keyring: Keyring,
    settings: Settings,
    account_id: str,
    today: date | None = None,
) -> SyncReport:
    """One account's campaigns, spend and links (nothing when another worker holds it)."""
    account = await session.scalar(
        select(MarketingAccount)
        .where(MarketingAccount.id == account_id, MarketingAccount.is_active)
        .with_for_update(skip_locked=True)
    )
    platform = platforms.get(account.platform.value) if account is not None else None
    if account is None or platform is None:
        return SyncReport()
    until = today or utcnow().date()
    since = until - timedelta(days=settings.marketing_sync_days - 1)
    try:
        tokens = _tokens(keyring, account)
        if (
            account.expires_at is not None
            and account.expires_at - utcnow() < REFRESH_MARGIN[platform.platform]
        ):
            tokens = await _renew(keyring, account, platform, tokens)
        try:
            campaigns = await platform.campaigns(tokens.access_token, account.account_id)
        except AdAuthRejected:
            tokens = await _renew(keyring, account, platform, tokens)
            campaigns = await platform.campaigns(tokens.access_token, account.account_id)
        spend = await platform.spend(tokens.access_token, account.account_id, since, until)
        about = await platform.account(tokens.access_token, account.account_id)
    except AdAuthRejected:
        account.is_active = False
        return _failed(account, "the platform refused the account's tokens: connect it again")
    except (AdPlatformUnavailable, AdPlatformError, DecryptionError) as exc:
        return _failed(account, str(exc))
    account.account_name = about.name or account.account_name
    ids = await _save_campaigns(
        session, account, about.currency, campaigns, {row.campaign_id for row in spend}
    )
    days = await _save_spend(session, ids, spend)
    links = await _link(session, account.platform.value, campaigns)
    return SyncReport(accounts=1, campaigns=len(ids), days=days, links=links)


def _tokens(keyring: Keyring, account: MarketingAccount) -> AdTokens:
    """The account's tokens opened (a token stored by the original platform needs ``keys rotate``)."""
    return AdTokens(
        access_token=keyring.decrypt(account.access_token),
        refresh_token=keyring.decrypt(account.refresh_token) if account.refresh_token else None,
        expires_at=account.expires_at,
    )


async def _renew(
    keyring: Keyring, account: MarketingAccount, platform: AdPlatform, tokens: AdTokens
) -> AdTokens:
    fresh = await platform.refresh(tokens)
    account.access_token = keyring.encrypt(fresh.access_token)
    if fresh.refresh_token:
        account.refresh_token = keyring.encrypt(fresh.refresh_token)
    account.expires_at = fresh.expires_at
    return fresh


def _failed(account: MarketingAccount, reason: str) -> SyncReport:
    _log.warning("marketing sync of account %s (%s) failed: %s", account.id, account.platform.value, reason)
    return SyncReport(failed=[{"id": account.id, "platform": account.platform.value, "error": reason}])


async def _save_campaigns(
    session: AsyncSession,
    account: MarketingAccount,
    currency: str | None,
    campaigns: list[Campaign],
    with_spend: set[str],
) -> dict[str, str]:
    """Upsert the campaigns (and any only the spend names, e.g. removed ones); external id → our id."""
    now = utcnow()
    listed = {campaign.id: campaign for campaign in campaigns}
    rows = [
        {
            "id": cuid(),
            "account_id": account.account_id,
            "platform": account.platform,
            "external_campaign_id": external_id,
            "name": campaign.name if campaign else external_id,
            "status": campaign.status if campaign else None,
            "tracking_template": campaign.tracking if campaign else None,
            "currency": currency,
            "synced_at": now,
            "updated_at": now,
        }
        for external_id in sorted(listed.keys() | with_spend)
        for campaign in [listed.get(external_id)]
    ]
    if not rows:
        return {}
    statement = insert(AdCampaign).values(rows)
    excluded = statement.excluded
    kept = ("accountId", "name", "status", "trackingTemplate", "currency", "syncedAt", "updatedAt")
    upsert = statement.on_conflict_do_update(
        index_elements=[AdCampaign.platform, AdCampaign.external_campaign_id],
        set_={column: excluded[column] for column in kept},
    ).returning(AdCampaign.external_campaign_id, AdCampaign.id)
    return {external: ours for external, ours in await session.execute(upsert)}


async def _save_spend(session: AsyncSession, ids: dict[str, str], spend: list[DaySpend]) -> int:
    """Each (campaign, day) replaced by what the platform says now."""
    now = utcnow()
    rows = [
        {
            "campaign_id": ids[row.campaign_id],
            "day": row.day,
            "spend": row.spend,
            "impressions": row.impressions,
            "clicks": row.clicks,
            "updated_at": now,
        }
        for row in spend
        if row.campaign_id in ids
    ]
    for chunk in range(0, len(rows), 5000):  # within PostgreSQL's 65,535 bind parameters
        statement = insert(AdCampaignSpend).values(rows[chunk : chunk + 5000])
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[AdCampaignSpend.campaign_id, AdCampaignSpend.day],
            set_={c: excluded[c] for c in ("spend", "impressions", "clicks", "updatedAt")},
        )
        await session.execute(statement)
    return len(rows)


def utm_campaigns_of(campaign: Campaign) -> set[str]:
    """The UTM campaigns a platform campaign may arrive as: its name, and any ``utm_campaign`` its
    tracking template sets to a fixed value (a ``{placeholder}`` is filled in per click: not one)."""
    found = {campaign.name}
    for match in _UTM_CAMPAIGN.finditer(campaign.tracking or ""):
        value = unquote_plus(match.group(1)).strip()
        if value and "{" not in value:
            found.add(value[:255])
    return found


async def _link(session: AsyncSession, platform: str, campaigns: Iterable[Campaign]) -> int:
    """Link each UTM campaign seen in sessions to the first campaign that names it (none replaced)."""
    wanted: dict[str, Campaign] = {}
    for campaign in sorted(campaigns, key=lambda c: c.id):
        for name in utm_campaigns_of(campaign):
            wanted.setdefault(name, campaign)
    if not wanted:
        return 0
    query = select(VisitorSession.utm_campaign).where(VisitorSession.utm_campaign.in_(list(wanted)))
    seen = {name for name in await session.scalars(query.distinct()) if name}
    rows = [
        {
            "utm_campaign": name,
            "platform": platform,
            "external_campaign_id": wanted[name].id,
            "external_campaign_name": wanted[name].name,
            "updated_at": utcnow(),
        }
        for name in sorted(seen)
    ]
    if not rows:
        return 0
    statement = (
        insert(CampaignLink)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[CampaignLink.utm_campaign, CampaignLink.platform])
        .returning(CampaignLink.id)
    )
    return len(list(await session.scalars(statement)))
