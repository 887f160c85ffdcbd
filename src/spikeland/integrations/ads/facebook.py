"""Facebook / Meta Marketing API: Facebook Login (OAuth 2.0) and the Graph API.

- Tokens: the code gives a short-lived user token, exchanged at once for a long-lived one
  (``grant_type=fb_exchange_token``, about 60 days). There are no refresh tokens: "refreshing" is
  that exchange again with the current token, which works while it is still valid.
- Accounts ``/me/adaccounts``, campaigns ``/act_{id}/campaigns``, daily spend
  ``/act_{id}/insights?level=campaign&time_increment=1``; every list paged by ``paging.next``
  (followed only on the Graph API's own host, as the token goes with it).
- The token travels in the ``Authorization`` header, never in a URL. Graph errors come as
  ``{"error": {"code": …}}``: 190 is a refused token, 4 / 17 / 32 / 613 / 80004 are rate limits.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from spikeland.integrations.ads import (
    FACEBOOK,
    AdAccount,
    AdAuthRejected,
    AdPlatform,
    AdPlatformError,
    AdPlatformUnavailable,
    AdTokens,
    Campaign,
    DaySpend,
    oauth_call,
    text_of,
)

_MAX_PAGES = 200
_RATE_LIMITS = {4, 17, 32, 613, 80004}
_AUTH = 190
_FIELDS = "account_id,name,currency"


class Facebook(AdPlatform):
    platform = FACEBOOK
    scope = "ads_read"
    auth_method = "client_secret_post"

    @property
    def authorize_url(self) -> str:
        return self.settings.facebook_authorize_url

    @property
    def token_url(self) -> str:
        return f"{self._graph}/oauth/access_token"

    @property
    def _graph(self) -> str:
        return self.settings.facebook_graph_url.rstrip("/")

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> AdTokens:
        short = await super().exchange(code, redirect_uri, verifier)
        return await self.refresh(short)

    async def refresh(self, tokens: AdTokens) -> AdTokens:
        # POSTed (a GET would put the token and the app secret in a URL, where logs see them);
        # Authlib adds the client id and secret to the body.
        async with self.oauth_client() as client:
            token = await oauth_call(
                client.fetch_token(
                    self.token_url, grant_type="fb_exchange_token", fb_exchange_token=tokens.access_token
                )
            )
        return AdTokens.from_response(dict(token))

    async def _get(self, http: httpx.AsyncClient, url: str, access_token: str, params: Any = None) -> Any:
        try:
            response = await http.get(url, params=params, headers={"Authorization": f"Bearer {access_token}"})
        except httpx.TransportError as exc:
            raise AdPlatformUnavailable(f"Facebook unreachable: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        error = (body or {}).get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if response.status_code == 401 or code == _AUTH:
            raise AdAuthRejected("Facebook refused the access token")
        if code in _RATE_LIMITS or response.status_code == 429 or response.status_code >= 500:
            raise AdPlatformUnavailable(f"Facebook answered {response.status_code} (code {code})")
        message = str(error.get("message", ""))[:200] if isinstance(error, dict) else ""
        raise AdPlatformError(f"Facebook answered {response.status_code}: {message}")

    async def _list(
        self, path: str, access_token: str, params: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        url: str | None = f"{self._graph}/{path}"
        host = urlsplit(self._graph).netloc
        async with self.http() as http:
            for _ in range(_MAX_PAGES):
                if url is None:
                    break
                page = await self._get(http, url, access_token, params)
                rows += [row for row in page.get("data") or [] if isinstance(row, dict)]
                following = (page.get("paging") or {}).get("next")
                # The next page's URL carries every parameter; one off the Graph API's host is not followed.
                url = following if isinstance(following, str) and urlsplit(following).netloc == host else None
                params = None
        return rows

    async def accounts(self, access_token: str) -> list[AdAccount]:
        rows = await self._list(
            "me/adaccounts", access_token, {"fields": "account_id,name,currency", "limit": 100}
        )
        return [
            AdAccount(
                id=str(row["account_id"]),
                name=text_of(row.get("name")),
                currency=text_of(row.get("currency")),
            )
            for row in rows
            if str(row.get("account_id", "")).isdigit()
        ]

    async def account(self, access_token: str, account_id: str) -> AdAccount:
        async with self.http() as http:
            row = await self._get(http, f"{self._graph}/act_{account_id}", access_token, {"fields": _FIELDS})
        return _account(row)

    async def campaigns(self, access_token: str, account_id: str) -> list[Campaign]:
        rows = await self._list(
            f"act_{account_id}/campaigns", access_token, {"fields": "id,name,effective_status", "limit": 100}
        )
        return [
            Campaign(
                id=str(row["id"]),
                name=text_of(row.get("name")) or str(row["id"]),
                status=text_of(row.get("effective_status")),
                tracking=None,  # Facebook's URL parameters live on the ads, not the campaign
            )
            for row in rows
            if row.get("id")
        ]

    async def spend(self, access_token: str, account_id: str, since: date, until: date) -> list[DaySpend]:
        params = {
            "level": "campaign",
            "fields": "campaign_id,spend,impressions,clicks",
            "time_increment": 1,
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            "limit": 500,
        }
        out = []
        for row in await self._list(f"act_{account_id}/insights", access_token, params):
            try:
                out.append(
                    DaySpend(
                        campaign_id=str(row["campaign_id"]),
                        day=date.fromisoformat(row["date_start"]),
                        spend=Decimal(str(row.get("spend", "0"))),
                        impressions=int(row.get("impressions", 0)),
                        clicks=int(row.get("clicks", 0)),
                    )
                )
            except (KeyError, ValueError, InvalidOperation):
                raise AdPlatformError("Facebook sent an insights row we cannot read") from None
        return out


def _account(row: dict[str, Any]) -> AdAccount:
    return AdAccount(
        id=str(row.get("account_id")), name=text_of(row.get("name")), currency=text_of(row.get("currency"))
    )
