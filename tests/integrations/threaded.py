"""An aiohttp application served on 127.0.0.1 (a free port) from a thread with its own event loop:
the loopback peers (Stripe, Prodigi) run beside the test's own loop, which may be serving the app
they call back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web


@contextmanager
def aiohttp_in_thread(
    make_app: Callable[[], web.Application], what: str
) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """Serve ``make_app()`` (called on the thread's loop) until the block ends; yields (URL, loop)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(make_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder.update(runner=runner, url=f"http://127.0.0.1:{port}")
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"the {what} peer did not start")
    try:
        yield holder["url"], loop
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
