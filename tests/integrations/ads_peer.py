"""Google Ads and Facebook Marketing on loopback: their OAuth endpoints and the calls the sync makes.

Google (under ``/google``): ``/auth`` (the consent screen: redirects back with a code, PKCE
recorded), ``/token`` (authorization_code with client secret and PKCE checked, refresh_token;
``invalid_grant`` for a revoked refresh token), ``/v18/customers:listAccessibleCustomers`` and
``/v18/customers/{id}/googleAds:search`` answering the GAQL queries the adapter sends (customer,
campaigns, per-day metrics), paged two rows at a time. Every API call needs a live bearer token
and the developer token.

Facebook (under ``/facebook``): ``/dialog/oauth``, ``/graph/oauth/access_token`` (code → a
short-lived token; ``fb_exchange_token`` → a long-lived one), ``/graph/me/adaccounts``,
``/graph/act_{id}``, ``/graph/act_{id}/campaigns`` and ``/graph/act_{id}/insights``
(``time_increment=1``), paged by ``paging.next``; a dead token answers error code 190.

``expire_tokens()`` makes every access token stale (the next call is refused, as after expiry);
``revoke()`` also refuses refreshes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web
from pydantic import SecretStr

from tests.integrations.threaded import aiohttp_in_thread

CLIENT_ID, CLIENT_SECRET, DEVELOPER_TOKEN = "ads-client", "ads-secret", "dev-token"
PAGE = 2  # rows per page: every list is paged


@dataclass
class AdsCampaign:
    id: str
    name: str
    status: str = "ENABLED"
    tracking: str | None = None
    # day → (spend in the account's currency as a decimal string, impressions, clicks)
    days: dict[date, tuple[str, int, int]] = field(default_factory=dict)


@dataclass
class AdsAccount:
    id: str
    name: str
    currency: str = "GBP"
    manager: bool = False
    campaigns: list[AdsCampaign] = field(default_factory=list)


@dataclass
class AdsState:
    google: list[AdsAccount] = field(default_factory=list)
    facebook: list[AdsAccount] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)  # access tokens the APIs accept
    refresh_tokens: set[str] = field(default_factory=set)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    calls: list[str] = field(default_factory=list)

    def token(self, prefix: str) -> str:
        value = f"{prefix}-{next(self.ids)}"
        self.live.add(value)
        return value

    def expire_tokens(self) -> None:
        self.live.clear()

    def revoke(self) -> None:
        self.live.clear()
        self.refresh_tokens.clear()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _authorize(state: AdsState, request: web.Request) -> web.Response:
    query = request.query
    code = f"code-{next(state.ids)}"
    state.codes[code] = {"redirect_uri": query["redirect_uri"], "challenge": query.get("code_challenge", "")}
    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
    raise web.HTTPFound(target)


def _code_ok(state: AdsState, form: Any) -> bool:
    issued = state.codes.pop(form.get("code", ""), None)
    return (
        issued is not None
        and form.get("client_id") == CLIENT_ID
        and form.get("client_secret") == CLIENT_SECRET
        and form.get("redirect_uri") == issued["redirect_uri"]
        and _s256(form.get("code_verifier", "")) == issued["challenge"]
    )


def _bearer(state: AdsState, request: web.Request) -> bool:
    return request.headers.get("Authorization", "").removeprefix("Bearer ") in state.live


def _paged(rows: list[Any], offset: int) -> tuple[list[Any], int | None]:
    following = offset + PAGE
    return rows[offset:following], following if following < len(rows) else None


# ----------------------------------------------------------------------------- Google


async def google_token(state: AdsState, request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("grant_type") == "authorization_code" and _code_ok(state, form):
        refresh = f"g-refresh-{next(state.ids)}"
        state.refresh_tokens.add(refresh)
        return web.json_response(
            {
                "access_token": state.token("g-access"),
                "expires_in": 3599,
                "refresh_token": refresh,
                "token_type": "Bearer",
            }
        )
    if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in state.refresh_tokens:
        return web.json_response(
            {"access_token": state.token("g-access"), "expires_in": 3599, "token_type": "Bearer"}
        )
    return web.json_response({"error": "invalid_grant"}, status=400)


def _google_auth(state: AdsState, request: web.Request) -> web.Response | None:
    if not _bearer(state, request):
        return web.json_response({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, status=401)
    if request.headers.get("developer-token") != DEVELOPER_TOKEN:
        return web.json_response({"error": {"code": 403, "status": "PERMISSION_DENIED"}}, status=403)
    return None


async def google_customers(state: AdsState, request: web.Request) -> web.Response:
    state.calls.append("google:customers")
    refused = _google_auth(state, request)
    return refused or web.json_response({"resourceNames": [f"customers/{a.id}" for a in state.google]})


def _google_rows(account: AdsAccount, query: str) -> list[dict[str, Any]]:
    if "FROM customer" in query:
        customer = {"id": account.id, "descriptiveName": account.name, "currencyCode": account.currency}
        return [{"customer": {**customer, "manager": account.manager}}]
    if "segments.date" not in query:
        return [
            {"campaign": {"id": c.id, "name": c.name, "status": c.status, "trackingUrlTemplate": c.tracking}}
            for c in account.campaigns
        ]
    since, until = (date.fromisoformat(d) for d in re.findall(r"'(\d{4}-\d{2}-\d{2})'", query))
    rows = []
    for campaign in account.campaigns:
        for day, (spend, impressions, clicks) in sorted(campaign.days.items()):
            if since <= day <= until:
                micros = str(int(float(spend) * 1_000_000))
                metrics = {"costMicros": micros, "impressions": str(impressions), "clicks": str(clicks)}
                rows.append(
                    {
                        "campaign": {"id": campaign.id},
                        "segments": {"date": day.isoformat()},
                        "metrics": metrics,
                    }
                )
    return rows


async def google_search(state: AdsState, request: web.Request) -> web.Response:
    refused = _google_auth(state, request)
    if refused:
        return refused
    account = next((a for a in state.google if a.id == request.match_info["customer"]), None)
    if account is None:
        return web.json_response({"error": {"code": 403, "status": "PERMISSION_DENIED"}}, status=403)
    body = await request.json()
    state.calls.append(f"google:search:{account.id}")
    page, following = _paged(_google_rows(account, body["query"]), int(body.get("pageToken") or 0))
    return web.json_response({"results": page, **({"nextPageToken": str(following)} if following else {})})


# ----------------------------------------------------------------------------- Facebook


async def facebook_token(state: AdsState, request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("grant_type") == "authorization_code" and _code_ok(state, form):
        return web.json_response(
            {"access_token": state.token("fb-short"), "token_type": "bearer", "expires_in": 3600}
        )
    if (
        form.get("grant_type") == "fb_exchange_token"
        and form.get("client_secret") == CLIENT_SECRET
        and form.get("fb_exchange_token") in state.live
    ):
        return web.json_response(
            {"access_token": state.token("fb-long"), "token_type": "bearer", "expires_in": 5183944}
        )
    return web.json_response({"error": {"code": 190, "message": "Invalid OAuth access token."}}, status=400)


def _fb_list(request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
    offset = int(request.query.get("after") or 0)
    page, following = _paged(rows, offset)
    paging: dict[str, Any] = {"cursors": {"after": str(following or "")}}
    if following:
        query = {**request.query, "after": str(following)}
        paging["next"] = str(request.url.with_query(query))
    return web.json_response({"data": page, "paging": paging})


async def facebook_graph(state: AdsState, request: web.Request) -> web.Response:
    path = request.match_info["path"]
    if not _bearer(state, request):
        return web.json_response(
            {"error": {"code": 190, "message": "Error validating access token"}}, status=400
        )
    state.calls.append(f"facebook:{path}")
    if path == "me/adaccounts":
        rows = [
            {"id": f"act_{a.id}", "account_id": a.id, "name": a.name, "currency": a.currency}
            for a in state.facebook
        ]
        return _fb_list(request, rows)
    match = re.fullmatch(r"act_(\d+)(?:/(campaigns|insights))?", path)
    account = next((a for a in state.facebook if match and a.id == match.group(1)), None)
    if match is None or account is None:
        return web.json_response({"error": {"code": 100, "message": "Unsupported get request"}}, status=400)
    if match.group(2) is None:
        return web.json_response(
            {
                "id": f"act_{account.id}",
                "account_id": account.id,
                "name": account.name,
                "currency": account.currency,
            }
        )
    if match.group(2) == "campaigns":
        return _fb_list(
            request, [{"id": c.id, "name": c.name, "effective_status": c.status} for c in account.campaigns]
        )
    assert request.query["level"] == "campaign" and request.query["time_increment"] == "1"
    span = json.loads(request.query["time_range"])
    since, until = date.fromisoformat(span["since"]), date.fromisoformat(span["until"])
    rows = [
        {
            "campaign_id": c.id,
            "spend": spend,
            "impressions": str(impressions),
            "clicks": str(clicks),
            "date_start": day.isoformat(),
            "date_stop": day.isoformat(),
        }
        for c in account.campaigns
        for day, (spend, impressions, clicks) in sorted(c.days.items())
        if since <= day <= until
    ]
    return _fb_list(request, rows)


@dataclass
class AdsPeer:
    url: str
    state: AdsState

    def settings(self) -> dict[str, Any]:
        """The Settings fields that point both platforms at this peer."""
        return {
            "google_ads_client_id": CLIENT_ID,
            "google_ads_client_secret": SecretStr(CLIENT_SECRET),
            "google_ads_developer_token": SecretStr(DEVELOPER_TOKEN),
            "google_ads_authorize_url": f"{self.url}/google/auth",
            "google_ads_token_url": f"{self.url}/google/token",
            "google_ads_api_url": f"{self.url}/google/v18",
            "facebook_app_id": CLIENT_ID,
            "facebook_app_secret": SecretStr(CLIENT_SECRET),
            "facebook_authorize_url": f"{self.url}/facebook/dialog/oauth",
            "facebook_graph_url": f"{self.url}/facebook/graph",
        }

    async def consent(self, authorization_url: str) -> str:
        """The admin agrees on the platform's screen: where the platform sends the browser back."""
        async with httpx.AsyncClient() as http:
            response = await http.get(authorization_url)
        assert response.status_code == 302, response.text
        return response.headers["location"]


@contextmanager
def run_ads_peer(state: AdsState | None = None) -> Iterator[AdsPeer]:
    state = state or AdsState()

    def make_app() -> web.Application:
        app = web.Application()
        app.router.add_get("/google/auth", partial(_authorize, state))
        app.router.add_post("/google/token", partial(google_token, state))
        app.router.add_get("/google/v18/customers:listAccessibleCustomers", partial(google_customers, state))
        app.router.add_post(
            "/google/v18/customers/{customer}/googleAds:search", partial(google_search, state)
        )
        app.router.add_get("/facebook/dialog/oauth", partial(_authorize, state))
        app.router.add_post("/facebook/graph/oauth/access_token", partial(facebook_token, state))
        app.router.add_get("/facebook/graph/{path:.+}", partial(facebook_graph, state))
        return app

    with aiohttp_in_thread(make_app, "ads") as (url, _loop):
        yield AdsPeer(url, state)
