"""Guesses sent together: the per-email limit holds however many arrive at once.

Each attempt is counted before its bcrypt comparison (``RateLimiter.reserve``), so fifty guesses
in flight together get at most ``login_attempts_per_email`` comparisons; the rest are 429.
bcrypt runs at a real cost here, in worker threads, so the comparisons really overlap.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from spikeland.app import create_app
from spikeland.core.errors import TooManyRequests
from spikeland.core.ratelimit import RateLimiter
from spikeland.settings import Settings
from tests.support import client_of

# One xdist worker runs all the tests that open many connections at once, one after another:
# two of them side by side would pass the server's max_connections (100).
pytestmark = pytest.mark.xdist_group("many_connections")

GUESSES = 50
PASSWORD = "the right password"


async def test_parallel_guesses_evaluate_at_most_the_limit(settings: Settings, database_url: str) -> None:
    app = create_app(settings.model_copy(update={"bcrypt_cost": 10}), database_url=database_url)
    email = f"guessed-{secrets.token_hex(4)}@example.com"
    async with app.router.lifespan_context(app), client_of(app) as client:
        created = await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert created.is_success, created.text
        # Spelled differently: every spelling is the same address, so the same counter.
        spellings = [email.upper() if i % 2 else f" {email}" for i in range(GUESSES)]
        answers = await asyncio.gather(
            *(
                client.post("/api/v1/auth/login", json={"email": s, "password": f"guess {i}"})
                for i, s in enumerate(spellings)
            )
        )
    statuses = Counter(a.status_code for a in answers)
    limit = app.state.settings.login_attempts_per_email
    assert statuses == {401: limit, 429: GUESSES - limit}, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)


def test_reserve_counts_in_one_step_across_threads() -> None:
    limiter = RateLimiter()

    def attempt(_: int) -> bool:
        try:
            limiter.reserve([("email", 5), ("ip", 20)], 60, "limited")
        except TooManyRequests:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(200)))
    assert outcomes.count(True) == 5
    # A refused reservation counted nothing: the IP has the five that got through, no more.
    assert limiter.retry_after("ip", 5, 60) is not None and limiter.retry_after("ip", 6, 60) is None


def test_release_gives_one_count_back() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        limiter.reserve([("key", 3)], 60, "limited")
    with pytest.raises(TooManyRequests) as refused:
        limiter.reserve([("key", 3)], 60, "limited")
    assert int(refused.value.headers["Retry-After"]) > 0
    limiter.release("key")
    limiter.reserve([("key", 3)], 60, "limited")
    limiter.release("unknown")  # nothing to give back: no error, no negative count
