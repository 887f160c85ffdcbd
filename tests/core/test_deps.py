"""``core.deps.rate_limit``: one count per request under ``"{scope}:{who}"``, 429 with Retry-After and
the given message once the limit (a number or a setting) is used up, one window per key."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from spikeland.core.deps import ClientIp, rate_limit
from spikeland.core.errors import install_error_handlers
from spikeland.core.ratelimit import RateLimiter
from spikeland.settings import Settings


def _app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    app.state.settings = Settings(
        environment="test", data_dir=tmp_path, trust_proxy_headers=True, uploads_per_minute=2
    )
    app.state.rate_limiter = RateLimiter()
    install_error_handlers(app)
    by_setting = rate_limit("upload", per=lambda s: s.uploads_per_minute, message="Too many uploads.")
    fixed = rate_limit("share", per=3, message="Too many requests.")

    @app.get("/a", dependencies=[by_setting])
    async def a(ip: ClientIp) -> str:
        return ip

    @app.get("/b", dependencies=[by_setting])  # the same scope: the same window as /a
    async def b() -> None:
        return None

    @app.get("/c", dependencies=[fixed])
    async def c() -> None:
        return None

    return app


async def test_limits_per_scope_and_address(tmp_path: Path) -> None:
    app = _app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        one = {"x-forwarded-for": "203.0.113.7"}
        assert (await client.get("/a", headers=one)).json() == "203.0.113.7"
        assert (await client.get("/b", headers=one)).status_code == 200
        limited = await client.get("/a", headers=one)
        assert limited.status_code == 429
        assert limited.json()["error"]["message"] == "Too many uploads."
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Another address, and another scope, count on their own.
        assert (await client.get("/a", headers={"x-forwarded-for": "203.0.113.8"})).status_code == 200
        assert [(await client.get("/c", headers=one)).status_code for _ in range(4)] == [200, 200, 200, 429]
    limiter: RateLimiter = app.state.rate_limiter
    assert limiter.retry_after("upload:203.0.113.7", 2, 60) is not None  # the key the handlers used
