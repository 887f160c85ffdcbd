"""The app-wide dependencies: what ``create_app`` builds once and keeps on ``app.state``, as typed
``Annotated`` aliases, so a handler names what it needs instead of taking ``Request`` to reach it.

The outside-service adapters (storage, imaging, email) have theirs in ``integrations.deps``: core
sits below the integrations and does not import them. A dependency that needs the caller
(``by_user`` for per-user limits) lives in ``identity.deps``.

Every callable here is ``async``: FastAPI runs a sync dependency in a worker thread per request
(a thread hop each time, and two first requests racing on lazily made state).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.openapi import raises
from spikeland.core.ratelimit import RateLimiter
from spikeland.settings import Settings


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


def client_ip(request: Request) -> str:
    """The caller's address; proxy headers count only when the deployment says it sits behind one."""
    settings: Settings = request.app.state.settings
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        real_ip = request.headers.get("x-real-ip")
        if real_ip:
            return real_ip.strip()
    return request.client.host if request.client else "unknown"


async def _client_ip(request: Request) -> str:
    return client_ip(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
# A route that takes the limiter counts something with it: it can answer 429.
Limiter = Annotated[RateLimiter, Depends(raises(_limiter, rate_limited=429))]
ClientIp = Annotated[str, Depends(_client_ip)]
# For work in a transaction of its own (the request's is rolled back by an error) and after it.
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
# A client's key for a money-moving call: per user, one key names one request (tokens.idempotency).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def rate_limit(
    scope: str,
    *,
    per: int | Callable[[Settings], int],
    message: str,
    by: Callable[..., Awaitable[str]] = _client_ip,
    window: float = 60,
) -> Any:
    """A dependency counting one event for ``"{scope}:{who}"`` (``who`` from ``by``: the client IP,
    or ``identity.deps.by_user``), 429 with Retry-After once ``per`` are used up in ``window``
    seconds. ``per`` is a number or read from the settings (operators tune most limits).

    Use it as ``dependencies=[rate_limit(...)]`` on the route, or as an ``Annotated[None, ...]``
    parameter. It runs with the other dependencies, before the handler's body, as the
    ``limiter.take`` at the top of each handler did.
    """

    # ``who`` by default value, not ``Annotated``: annotations are strings here (``from __future__``),
    # resolved in the module's globals where this call's ``by`` is not.
    async def limit(request: Request, who: str = Depends(by)) -> None:
        # The app's limiter and settings read here, not as two more dependencies: every analytics
        # ingest request passes this way (benchmarks/analytics_ingest.py).
        state = request.app.state
        allowed = per if isinstance(per, int) else per(state.settings)
        state.rate_limiter.take(f"{scope}:{who}", allowed, window, message)

    limit.__name__ = f"rate_limit_{scope.replace('-', '_')}"
    return Depends(raises(limit, rate_limited=429))
