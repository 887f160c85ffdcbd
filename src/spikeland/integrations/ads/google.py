"""Google Ads: Google's OAuth 2.0 (offline access: a refresh token) and the Google Ads REST API.

- Accounts: ``GET {api}/customers:listAccessibleCustomers``, then each customer's name, currency
  and whether it is a manager (managers have no campaigns of their own and are left out).
- Campaigns and spend: GAQL queries through ``POST {api}/customers/{id}/googleAds:search`` (paged
  by ``nextPageToken``). Cost comes in micros of the account's currency; 64-bit numbers as strings.
- Every call carries the access token, the ``developer-token`` and, when set, the
  ``login-customer-id`` of the manager account the access goes through.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from spikeland.integrations.ads import (
    GOOGLE_ADS,
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

_MAX_PAGES = 100  # 100 pages of 10,000 rows: far beyond any account we would meet
CAMPAIGNS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.tracking_url_template, "
    "campaign.final_url_suffix FROM campaign WHERE campaign.status != 'REMOVED'"
)
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.manager FROM customer"
)


def spend_query(since: date, until: date) -> str:
    return (
        "SELECT campaign.id, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks "
        f"FROM campaign WHERE segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"
    )


class GoogleAds(AdPlatform):
    platform = GOOGLE_ADS
    scope = "https://www.googleapis.com/auth/adwords"
    auth_method = "client_secret_post"
    # A refresh token is issued only for offline access, and again only when consent is asked again.
    authorize_params = {"access_type": "offline", "prompt": "consent"}

    @property
    def authorize_url(self) -> str:
        return self.settings.google_ads_authorize_url

    @property
    def token_url(self) -> str:
        return self.settings.google_ads_token_url

    async def refresh(self, tokens: AdTokens) -> AdTokens:
        if not tokens.refresh_token:
            raise AdAuthRejected("no refresh token: connect the account again")
        async with self.oauth_client() as client:
            token = await oauth_call(client.refresh_token(self.token_url, refresh_token=tokens.refresh_token))
        return AdTokens.from_response(dict(token), previous=tokens)

    def _headers(self, access_token: str) -> dict[str, str]:
        developer = self.settings.google_ads_developer_token
        headers = {
            "Authorization": f"Bearer {access_token}",
            "developer-token": developer.get_secret_value() if developer else "",
        }
        if self.settings.google_ads_login_customer_id:
            headers["login-customer-id"] = self.settings.google_ads_login_customer_id.replace("-", "")
        return headers

    async def _call(self, http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise AdPlatformUnavailable(f"Google Ads unreachable: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise AdAuthRejected("Google Ads refused the access token")
        if response.status_code == 429 or response.status_code >= 500:
            raise AdPlatformUnavailable(f"Google Ads answered {response.status_code}")
        if response.status_code != 200:
            raise AdPlatformError(f"Google Ads answered {response.status_code}: {_message(response)}")
        try:
            return response.json()
        except ValueError:
            raise AdPlatformUnavailable("Google Ads answered something that is not JSON") from None

    async def _search(self, access_token: str, customer_id: str, query: str) -> list[dict[str, Any]]:
        url = f"{self.settings.google_ads_api_url.rstrip('/')}/customers/{customer_id}/googleAds:search"
        rows: list[dict[str, Any]] = []
        body: dict[str, Any] = {"query": query}
        async with self.http() as http:
            for _ in range(_MAX_PAGES):
                page = await self._call(http, "POST", url, json=body, headers=self._headers(access_token))
                rows += [row for row in page.get("results") or [] if isinstance(row, dict)]
                token = page.get("nextPageToken")
                if not token:
                    break
                body = {"query": query, "pageToken": token}
        return rows

    async def accounts(self, access_token: str) -> list[AdAccount]:
        url = f"{self.settings.google_ads_api_url.rstrip('/')}/customers:listAccessibleCustomers"
        async with self.http() as http:
            listed = await self._call(http, "GET", url, headers=self._headers(access_token))
        found = []
        for name in listed.get("resourceNames") or []:
            customer_id = str(name).removeprefix("customers/")
            if not customer_id.isdigit():
                continue
            try:
                customer = await self._customer(access_token, customer_id)
            except AdPlatformError:
                continue  # listed but not readable with this grant (a closed or foreign account)
            if customer.get("manager") is not True:
                found.append(_account(customer_id, customer))
        return found

    async def _customer(self, access_token: str, customer_id: str) -> dict[str, Any]:
        rows = await self._search(access_token, customer_id, CUSTOMER_QUERY)
        customer = rows[0].get("customer") if rows else None
        return customer if isinstance(customer, dict) else {}

    async def account(self, access_token: str, account_id: str) -> AdAccount:
        return _account(account_id, await self._customer(access_token, account_id))

    async def campaigns(self, access_token: str, account_id: str) -> list[Campaign]:
        out = []
        for row in await self._search(access_token, account_id, CAMPAIGNS_QUERY):
            campaign = row.get("campaign") or {}
            if campaign.get("id") is None:
                continue
            tracking = " ".join(
                t for t in (campaign.get("trackingUrlTemplate"), campaign.get("finalUrlSuffix")) if t
            )
            out.append(
                Campaign(
                    id=str(campaign["id"]),
                    name=text_of(campaign.get("name")) or str(campaign["id"]),
                    status=text_of(campaign.get("status")),
                    tracking=tracking or None,
                )
            )
        return out

    async def spend(self, access_token: str, account_id: str, since: date, until: date) -> list[DaySpend]:
        out = []
        for row in await self._search(access_token, account_id, spend_query(since, until)):
            campaign, segments, metrics = (
                row.get("campaign") or {},
                row.get("segments") or {},
                row.get("metrics") or {},
            )
            try:
                out.append(
                    DaySpend(
                        campaign_id=str(campaign["id"]),
                        day=date.fromisoformat(segments["date"]),
                        spend=Decimal(str(metrics.get("costMicros", 0))) / 1_000_000,
                        impressions=int(metrics.get("impressions", 0)),
                        clicks=int(metrics.get("clicks", 0)),
                    )
                )
            except (KeyError, ValueError, ArithmeticError):
                raise AdPlatformError("Google Ads sent a metrics row we cannot read") from None
        return out


def _account(customer_id: str, customer: dict[str, Any]) -> AdAccount:
    return AdAccount(
        id=customer_id,
        name=text_of(customer.get("descriptiveName")),
        currency=text_of(customer.get("currencyCode")),
    )


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("status") or error.get("message") or "")[:200]
    except (ValueError, AttributeError):
        return ""
