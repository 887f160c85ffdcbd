"""Cross-site request forgery: a state change made with the session cookie must come from our pages.

SameSite=Lax is not enough on its own: "site" is the registrable domain, so any page on a sibling
subdomain, or on plain http at the same host, is same-site and gets the cookie sent; and older
browsers ignore the attribute. So a POST, PUT, PATCH or DELETE that carries the session cookie is
refused (403 ``csrf_origin_mismatch``) when its ``Origin`` — or, without one, its ``Referer`` —
names another origin than ours: ``SPIKELAND_PUBLIC_URL``'s, the request's own (its Host), and
those in ``SPIKELAND_TRUSTED_ORIGINS``.

A request with neither header is let through. Browsers send ``Origin`` on every cross-origin
request that is not a GET or HEAD (Chrome, Firefox and Safari alike), so a forged one always has
it; what comes without both is a script, curl or a server-to-server client, which holds the
cookie only because its owner gave it to it. (Django, facing older browsers, demanded a Referer
on https; that refuses privacy-minded users and buys nothing against current ones.)

Calls with ``Authorization: Bearer`` are not checked: a browser never adds that header by itself,
and with it present the API key, not the cookie, says who is calling. Requests without the cookie
(the Stripe webhook, sign-in itself) have no session to abuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from spikeland.core.errors import error_body

CODE = "csrf_origin_mismatch"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, default port left out; else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


class OriginCheck:
    """Pure ASGI middleware (nothing is read from the body; a refused request never reaches the app)."""

    def __init__(self, app: ASGIApp, cookie: str, origins: Iterable[str]) -> None:
        self.app = app
        self.cookie = cookie
        self.origins = frozenset(o for o in (origin_of(url) for url in origins) if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body(CODE, "Cross-site request refused: it does not come from our pages."))
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    def _allowed(self, scope: Scope) -> bool:
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            # Cookie may come split over several fields (HTTP/2); any other repeat: the last one.
            joined = f"{headers[name]}; " if name == "cookie" and name in headers else ""
            headers[name] = joined + value.decode("latin-1")
        if self.cookie not in cookie_parser(headers.get("cookie", "")):
            return True
        if headers.get("authorization", "").lower().startswith("bearer "):
            return True
        claimed = headers.get("origin") or headers.get("referer")
        if claimed is None:
            return True  # not a browser (see the module's docstring)
        origin = origin_of(claimed)  # "null" (sandboxed frames, file:) and garbage are nobody's
        own = origin_of(f"{scope['scheme']}://{headers.get('host', '')}")
        return origin is not None and (origin in self.origins or origin == own)
