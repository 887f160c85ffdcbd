"""The outside-service adapters of a running app (built once in ``create_app``), as dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spikeland.core.ratelimit import RateLimiter
from spikeland.integrations.storage import Storage


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


StorageDep = Annotated[Storage, Depends(_storage)]
LimiterDep = Annotated[RateLimiter, Depends(_limiter)]
