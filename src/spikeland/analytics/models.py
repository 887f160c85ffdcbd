"""Analytics tables of the specification: visitor_sessions, page_views, analytics_events,
campaign_attributions, campaign_metrics_cache, campaign_links, marketing_accounts, tracked_urls; and
the ad platforms' campaigns and daily spend (ad_campaigns, ad_campaign_spend: migration 0010).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import Base, Json, fk, id_column, now_default, pg_enum, server_default, updated_at


class MarketingPlatform(StrEnum):
    FACEBOOK = "FACEBOOK"  # Facebook Ads platform
    GOOGLE_ADS = "GOOGLE_ADS"  # Google Ads platform


class AttributionType(StrEnum):
    FIRST_TOUCH = "FIRST_TOUCH"  # First campaign touchpoint
    LAST_TOUCH = "LAST_TOUCH"  # Last campaign touchpoint


class ConversionType(StrEnum):
    SIGNUP = "SIGNUP"  # User signup
    ENHANCEMENT = "ENHANCEMENT"  # Image enhancement
    PURCHASE = "PURCHASE"  # Token purchase


class VisitorSession(Base):
    __tablename__ = "visitor_sessions"
    __table_args__ = (
        Index(None, "visitorId"),
        Index(None, "userId"),
        Index(None, "utmCampaign"),
        Index(None, "utmSource"),
        Index(None, "sessionStart"),
        Index(None, "gclid"),
        Index(None, "fbclid"),
    )

    id: Mapped[str] = id_column()
    visitor_id: Mapped[str] = mapped_column("visitorId")
    user_id: Mapped[str | None] = mapped_column("userId", fk("users.id", "SET NULL"))
    session_start: Mapped[datetime] = now_default("sessionStart")
    session_end: Mapped[datetime | None] = mapped_column("sessionEnd")
    device_type: Mapped[str | None] = mapped_column("deviceType")
    browser: Mapped[str | None] = mapped_column("browser")
    os: Mapped[str | None] = mapped_column("os")
    ip_country: Mapped[str | None] = mapped_column("ipCountry")
    ip_city: Mapped[str | None] = mapped_column("ipCity")
    referrer: Mapped[str | None] = mapped_column("referrer")
    landing_page: Mapped[str] = mapped_column("landingPage")
    exit_page: Mapped[str | None] = mapped_column("exitPage")
    page_view_count: Mapped[int] = mapped_column("pageViewCount", server_default=server_default(0))
    utm_source: Mapped[str | None] = mapped_column("utmSource")
    utm_medium: Mapped[str | None] = mapped_column("utmMedium")
    utm_campaign: Mapped[str | None] = mapped_column("utmCampaign")
    utm_term: Mapped[str | None] = mapped_column("utmTerm")
    utm_content: Mapped[str | None] = mapped_column("utmContent")
    gclid: Mapped[str | None] = mapped_column("gclid")
    fbclid: Mapped[str | None] = mapped_column("fbclid")


class PageView(Base):
    __tablename__ = "page_views"
    __table_args__ = (
        Index(None, "sessionId", "timestamp"),
        Index(None, "path"),
    )

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column("sessionId", fk("visitor_sessions.id", "CASCADE"))
    path: Mapped[str] = mapped_column("path")
    title: Mapped[str | None] = mapped_column("title")
    timestamp: Mapped[datetime] = now_default("timestamp")
    time_on_page: Mapped[int | None] = mapped_column("timeOnPage")
    scroll_depth: Mapped[int | None] = mapped_column("scrollDepth")


class AnalyticsEvent(Base):
    __tablename__ = "analytics_events"
    __table_args__ = (
        Index(None, "sessionId", "timestamp"),
        Index(None, "name"),
        Index(None, "category"),
    )

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column("sessionId", fk("visitor_sessions.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    category: Mapped[str | None] = mapped_column("category")
    value: Mapped[float | None] = mapped_column("value")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    timestamp: Mapped[datetime] = now_default("timestamp")


class CampaignAttribution(Base):
    __tablename__ = "campaign_attributions"
    __table_args__ = (
        Index(None, "userId"),
        Index(None, "utmCampaign"),
        Index(None, "externalCampaignId"),
        Index(None, "convertedAt"),
        Index(None, "conversionType"),
        Index(None, "attributionType"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    session_id: Mapped[str] = mapped_column("sessionId")
    attribution_type: Mapped[AttributionType] = mapped_column("attributionType", pg_enum(AttributionType))
    platform: Mapped[str | None] = mapped_column("platform")
    external_campaign_id: Mapped[str | None] = mapped_column("externalCampaignId")
    utm_campaign: Mapped[str | None] = mapped_column("utmCampaign")
    utm_source: Mapped[str | None] = mapped_column("utmSource")
    utm_medium: Mapped[str | None] = mapped_column("utmMedium")
    conversion_type: Mapped[ConversionType] = mapped_column("conversionType", pg_enum(ConversionType))
    conversion_value: Mapped[float | None] = mapped_column("conversionValue")
    converted_at: Mapped[datetime] = now_default("convertedAt")


class CampaignMetricsCache(Base):
    __tablename__ = "campaign_metrics_cache"
    __table_args__ = (
        Index(None, "cacheKey", unique=True),
        Index(None, "expiresAt"),
    )

    id: Mapped[str] = id_column()
    cache_key: Mapped[str] = mapped_column("cacheKey")
    metrics: Mapped[Any] = mapped_column("metrics", Json, nullable=False)
    computed_at: Mapped[datetime] = now_default("computedAt")
    expires_at: Mapped[datetime] = mapped_column("expiresAt")


class CampaignLink(Base):
    __tablename__ = "campaign_links"
    __table_args__ = (
        Index(None, "utmCampaign", "platform", unique=True),
        Index(None, "platform"),
        Index(None, "externalCampaignId"),
    )

    id: Mapped[str] = id_column()
    utm_campaign: Mapped[str] = mapped_column("utmCampaign")
    platform: Mapped[str] = mapped_column("platform")
    external_campaign_id: Mapped[str] = mapped_column("externalCampaignId")
    external_campaign_name: Mapped[str | None] = mapped_column("externalCampaignName")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MarketingAccount(Base):
    __tablename__ = "marketing_accounts"
    __table_args__ = (
        Index(None, "userId", "platform", "accountId", unique=True),
        Index(None, "userId"),
        Index(None, "platform"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    platform: Mapped[MarketingPlatform] = mapped_column("platform", pg_enum(MarketingPlatform))
    account_id: Mapped[str] = mapped_column("accountId")
    account_name: Mapped[str | None] = mapped_column("accountName")
    access_token: Mapped[str] = mapped_column("accessToken")
    refresh_token: Mapped[str | None] = mapped_column("refreshToken")
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt")
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class TrackedUrl(Base):
    __tablename__ = "tracked_urls"
    __table_args__ = (
        Index(None, "path", unique=True),
        Index(None, "isActive"),
        Index(None, "createdById"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    path: Mapped[str] = mapped_column("path")
    label: Mapped[str | None] = mapped_column("label")
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    created_by_id: Mapped[str] = mapped_column("createdById", fk("users.id", "CASCADE"))


class AdCampaign(Base):
    """A campaign as an ad platform's sync last saw it (migration 0010 says why it is a table)."""

    __tablename__ = "ad_campaigns"
    __table_args__ = (
        Index(None, "platform", "externalCampaignId", unique=True),
        Index(None, "platform", "accountId"),
    )

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column("accountId")  # the platform's, as in marketing_accounts
    platform: Mapped[MarketingPlatform] = mapped_column("platform", pg_enum(MarketingPlatform))
    external_campaign_id: Mapped[str] = mapped_column("externalCampaignId")
    name: Mapped[str] = mapped_column("name")
    status: Mapped[str | None] = mapped_column("status")
    tracking_template: Mapped[str | None] = mapped_column("trackingTemplate")
    currency: Mapped[str | None] = mapped_column("currency")
    synced_at: Mapped[datetime] = mapped_column("syncedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class AdCampaignSpend(Base):
    """One campaign's spend, impressions and clicks on one day, in the campaign's currency."""

    __tablename__ = "ad_campaign_spend"

    campaign_id: Mapped[str] = mapped_column("campaignId", fk("ad_campaigns.id", "CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column("day", Date(), primary_key=True)
    spend: Mapped[Decimal] = mapped_column("spend", Numeric(18, 6))
    impressions: Mapped[int] = mapped_column("impressions", BigInteger(), server_default=server_default(0))
    clicks: Mapped[int] = mapped_column("clicks", BigInteger(), server_default=server_default(0))
    updated_at: Mapped[datetime] = updated_at()
