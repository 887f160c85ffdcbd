"""A process-wide budget for the memory of decoded images.

A compressed image says nothing about its decoded size: a 243 KB PNG of 7999x7999 pixels is 256 MB
once decoded (Pillow keeps RGB as 4 bytes a pixel), so a few uploads at once used to take the
server from 200 MB to 1.5 GB. Every full decode therefore first holds its weight — pixels x bytes
per pixel, read from the header — in this budget (``SPIKELAND_DECODE_MEMORY_MB``, 256 MB by
default) and waits while the decodes already running would take it past that. A decode heavier
than the whole budget runs alone. So the decoded pixels of one process stay within the budget plus
what a single decode needs beyond it.

It is waited for on the event loop, before the decode is handed to a thread: a waiting decode holds
no thread of the default executor (which bcrypt and the file storage also use). It is thread-safe
and bound to no event loop, so every loop of the process (the app, a test's) shares one budget.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from PIL import Image

DEFAULT_DECODE_MEMORY_MB = 256
MB = 1024 * 1024


def bytes_per_pixel(mode: str) -> int:
    """What Pillow allocates per pixel for an image of ``mode``."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4  # RGB is stored as 4 bytes, like RGBA, CMYK, LA, I and F


def decoded_bytes(image: Image.Image) -> int:
    """The memory a full decode of ``image`` (opened, not loaded) will take."""
    width, height = image.size
    return width * height * bytes_per_pixel(image.mode)


@dataclass
class _Waiter:
    weight: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = field(default=False)


class DecodeBudget:
    """At most ``limit`` bytes of decoded pixels held at once (first come, first served)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the decode budget must be positive")
        self.limit = limit
        self._lock = threading.Lock()
        self._queue: deque[_Waiter] = deque()
        # Counters, read by operators and tests: held now, the most ever held, decodes that waited.
        self.in_use = 0
        self.peak = 0
        self.waited = 0

    @asynccontextmanager
    async def hold(self, weight: int) -> AsyncIterator[None]:
        """Hold ``weight`` bytes (at most the whole budget) for the block."""
        weight = max(1, min(weight, self.limit))
        await self._acquire(weight)
        try:
            yield
        finally:
            with self._lock:
                self._release(weight)

    async def _acquire(self, weight: int) -> None:
        with self._lock:
            if not self._queue and self.in_use + weight <= self.limit:
                self._take(weight)
                return
            loop = asyncio.get_running_loop()
            waiter = _Waiter(weight, loop, loop.create_future())
            self._queue.append(waiter)
            self.waited += 1
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:  # granted as it was cancelled: give it back
                    self._release(weight)
                else:
                    self._queue.remove(waiter)
                    self._admit()  # it may have been the head others waited behind
            raise

    def resize(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the decode budget must be positive")
        with self._lock:
            self.limit = limit
            self._admit()

    def _take(self, weight: int) -> None:
        self.in_use += weight
        self.peak = max(self.peak, self.in_use)

    def _release(self, weight: int) -> None:
        self.in_use -= weight
        self._admit()

    def _admit(self) -> None:
        """Grant the waiters at the head of the queue that now fit (under the lock)."""
        while self._queue and self.in_use + self._queue[0].weight <= self.limit:
            waiter = self._queue.popleft()
            waiter.granted = True
            self._take(waiter.weight)
            waiter.loop.call_soon_threadsafe(_wake, waiter.future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_process_budget: DecodeBudget | None = None
_process_lock = threading.Lock()


def decode_budget(limit_mb: int | None = None) -> DecodeBudget:
    """The process's budget; ``limit_mb`` (the setting, passed where settings are at hand) sizes it."""
    global _process_budget
    with _process_lock:
        if _process_budget is None:
            _process_budget = DecodeBudget((limit_mb or DEFAULT_DECODE_MEMORY_MB) * MB)
        elif limit_mb is not None:
            _process_budget.resize(limit_mb * MB)
        return _process_budget
