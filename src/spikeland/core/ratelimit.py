"""Fixed-window rate limits, as the original platform counted them.

A window starts at the first counted event and lasts ``window`` seconds; at ``limit`` events the
key is limited until the window ends. Counts live in this process (one API process per machine
is the default deployment); they are not shared between processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from spikeland.core.errors import TooManyRequests


@dataclass
class _Window:
    started: float
    count: int


class RateLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def retry_after(self, key: str, limit: int, window: float) -> int | None:
        """Seconds until ``key`` may try again, or None when it is not limited."""
        now = time.monotonic()
        with self._lock:
            current = self._windows.get(key)
            if current is None or now - current.started >= window or current.count < limit:
                return None
            return max(1, math.ceil(current.started + window - now))

    def check(self, limits: Iterable[tuple[str, int]], window: float, message: str) -> None:
        """Raise 429 (with Retry-After) when any ``(key, limit)`` is used up in ``window``."""
        for key, limit in limits:
            wait = self.retry_after(key, limit, window)
            if wait is not None:
                raise _limited(message, wait)

    def reserve(self, limits: Iterable[tuple[str, int]], window: float, message: str) -> None:
        """Count one event for every key, or for none and 429 when any is used up: one locked step.

        For work that is slow to judge (a bcrypt comparison): checking first and counting after
        lets every request that arrives meanwhile through. ``release`` gives a count back when
        the event turns out not to count (a sign-in that succeeded).
        """
        limits = list(limits)
        now = time.monotonic()
        with self._lock:
            for key, limit in limits:
                current = self._windows.get(key)
                if current is not None and now - current.started < window and current.count >= limit:
                    raise _limited(message, max(1, math.ceil(current.started + window - now)))
            for key, _limit in limits:
                self._count(key, window, now)

    def release(self, key: str) -> None:
        """Give back one event counted for ``key`` (nothing when its window has been dropped)."""
        with self._lock:
            current = self._windows.get(key)
            if current is not None and current.count > 0:
                current.count -= 1

    def take(self, key: str, limit: int, window: float, message: str) -> None:
        """Count one event for ``key``, refused (429) when ``limit`` are used up in ``window``."""
        self.reserve([(key, limit)], window, message)

    def hit(self, key: str, window: float) -> None:
        """Count one event for ``key``."""
        with self._lock:
            self._count(key, window, time.monotonic())

    def _count(self, key: str, window: float, now: float) -> None:
        current = self._windows.get(key)
        if current is None or now - current.started >= window:
            if len(self._windows) >= self._max_keys:
                self._evict(now, window)
            self._windows[key] = _Window(started=now, count=1)
        else:
            current.count += 1

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def _evict(self, now: float, window: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= window]
        for k in expired or list(self._windows)[: len(self._windows) // 2]:
            del self._windows[k]


def _limited(message: str, wait: int) -> TooManyRequests:
    return TooManyRequests(message, details={"retryAfter": wait}, headers={"Retry-After": str(wait)})
