"""Ad platforms: connect an ad account by OAuth, then read its campaigns and their daily spend.

One small interface (:class:`AdPlatform`) with two implementations speaking the platforms' own
REST APIs: Google Ads (``google.py``: OAuth 2.0 with a refresh token, GAQL over
``googleAds:search``) and Facebook / Meta Marketing (``facebook.py``: OAuth 2.0 without refresh
tokens, a long-lived token that is exchanged again before it expires, Graph API ``campaigns`` and
``insights``). There is no offline stand-in: a platform is usable once its app credentials are
set, and :func:`missing_settings` names what is missing (tests run both against loopback peers).

Failures: :class:`AdPlatformUnavailable` may pass on a retry (network, 5xx, rate limits);
:class:`AdAuthRejected` means the token was refused (refresh it, or the admin reconnects);
:class:`AdPlatformError` is any other refusal. Authlib's client speaks the OAuth protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]

from spikeland.integrations.oauth_client import USER_AGENT, oauth_client
from spikeland.settings import Settings

GOOGLE_ADS = "GOOGLE_ADS"
FACEBOOK = "FACEBOOK"


class AdPlatformUnavailable(Exception):
    """The platform could not be reached or answered an error that may pass."""


class AdAuthRejected(Exception):
    """The platform refused the token (expired, revoked): refresh it or connect again."""


class AdPlatformError(Exception):
    """The platform refused the request for another reason."""


@dataclass(frozen=True)
class AdTokens:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None

    @classmethod
    def from_response(cls, token: dict[str, Any], previous: AdTokens | None = None) -> AdTokens:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise AdAuthRejected("the platform returned no access token")
        expires_at = token.get("expires_at")
        refresh = token.get("refresh_token")
        if not (isinstance(refresh, str) and refresh):
            # Google sends the refresh token with the first grant only: keep the one we have.
            refresh = previous.refresh_token if previous else None
        expiry = datetime.fromtimestamp(expires_at, UTC) if isinstance(expires_at, int | float) else None
        return cls(access_token=access, refresh_token=refresh, expires_at=expiry)


@dataclass(frozen=True)
class AdAccount:
    id: str  # the platform's account id (Google: the customer id; Facebook: without "act_")
    name: str | None
    currency: str | None


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    status: str | None
    tracking: str | None  # where the campaign's URLs get their parameters (Google's templates)


@dataclass(frozen=True)
class DaySpend:
    campaign_id: str
    day: date
    spend: Decimal  # in the account's currency
    impressions: int
    clicks: int


class AdPlatform:
    """What the analytics domain needs of an ad platform; the subclasses speak its API."""

    platform: str
    scope: str
    auth_method = "client_secret_post"
    authorize_params: dict[str, str] = {}

    def __init__(self, settings: Settings, client_id: str, client_secret: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.client_secret = client_secret

    @property
    def authorize_url(self) -> str:
        raise NotImplementedError

    @property
    def token_url(self) -> str:
        raise NotImplementedError

    def oauth_client(self, redirect_uri: str | None = None) -> Any:
        return oauth_client(
            self.client_id,
            self.client_secret,
            auth_method=self.auth_method,
            scope=self.scope,
            redirect_uri=redirect_uri,
            timeout=self.settings.ads_timeout_seconds,
        )

    def authorization_url(self, redirect_uri: str, state: str, verifier: str) -> str:
        client = self.oauth_client(redirect_uri)
        url, _state = client.create_authorization_url(
            self.authorize_url, state=state, code_verifier=verifier, **self.authorize_params
        )
        return str(url)

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> AdTokens:
        """The authorization code traded for tokens."""
        async with self.oauth_client(redirect_uri) as client:
            token = await oauth_call(
                client.fetch_token(
                    self.token_url, grant_type="authorization_code", code=code, code_verifier=verifier
                )
            )
        return AdTokens.from_response(dict(token))

    async def refresh(self, tokens: AdTokens) -> AdTokens:
        """Fresh tokens before (or after) ``tokens`` expire; AdAuthRejected when that is refused."""
        raise NotImplementedError

    async def accounts(self, access_token: str) -> list[AdAccount]:
        raise NotImplementedError

    async def account(self, access_token: str, account_id: str) -> AdAccount:
        """One account's name and currency (spend is in that currency)."""
        raise NotImplementedError

    async def campaigns(self, access_token: str, account_id: str) -> list[Campaign]:
        raise NotImplementedError

    async def spend(self, access_token: str, account_id: str, since: date, until: date) -> list[DaySpend]:
        """Each campaign's figures per day, ``since``..``until`` inclusive (days without any left out)."""
        raise NotImplementedError

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.settings.ads_timeout_seconds, headers={"User-Agent": USER_AGENT}
        )


async def oauth_call(call: Any) -> Any:
    """An Authlib token call with its failures translated."""
    try:
        return await call
    except httpx.TransportError as exc:
        raise AdPlatformUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from None
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code >= 500 or exc.response.status_code == 429:
            raise AdPlatformUnavailable(f"token endpoint answered {exc.response.status_code}") from None
        raise AdAuthRejected(f"token endpoint answered {exc.response.status_code}") from None
    except (AuthlibBaseError, ValueError, KeyError, TypeError) as exc:
        raise AdAuthRejected(f"the token request was refused: {type(exc).__name__}") from None


def text_of(value: Any) -> str | None:
    """A name from the platform, fit to store: trimmed and bounded."""
    return (value.replace("\x00", "").strip()[:255] or None) if isinstance(value, str) else None


def missing_settings(settings: Settings, platform: str) -> list[str]:
    """The environment variables still to set before ``platform`` can be connected."""
    wanted = {
        GOOGLE_ADS: {
            "SPIKELAND_GOOGLE_ADS_CLIENT_ID": settings.google_ads_client_id,
            "SPIKELAND_GOOGLE_ADS_CLIENT_SECRET": settings.google_ads_client_secret,
            "SPIKELAND_GOOGLE_ADS_DEVELOPER_TOKEN": settings.google_ads_developer_token,
        },
        FACEBOOK: {
            "SPIKELAND_FACEBOOK_APP_ID": settings.facebook_app_id,
            "SPIKELAND_FACEBOOK_APP_SECRET": settings.facebook_app_secret,
        },
    }[platform]
    return [name for name, value in wanted.items() if not value]


def make_ad_platforms(settings: Settings) -> dict[str, AdPlatform]:
    """The configured platforms, by MarketingPlatform value."""
    from spikeland.integrations.ads.facebook import Facebook
    from spikeland.integrations.ads.google import GoogleAds

    found: dict[str, AdPlatform] = {}
    if not missing_settings(settings, GOOGLE_ADS):
        assert settings.google_ads_client_id and settings.google_ads_client_secret
        found[GOOGLE_ADS] = GoogleAds(
            settings, settings.google_ads_client_id, settings.google_ads_client_secret.get_secret_value()
        )
    if not missing_settings(settings, FACEBOOK):
        assert settings.facebook_app_id and settings.facebook_app_secret
        found[FACEBOOK] = Facebook(
            settings, settings.facebook_app_id, settings.facebook_app_secret.get_secret_value()
        )
    return found
