"""Keeping a box's browser off the server's own network while it does a task.

A box browses for its user, from this machine: left alone, it could open the DevTools endpoints of
other users' boxes on 127.0.0.1, this service's own port, or whatever the private network holds.
While a task runs, every request of the box's pages (navigations, redirects, frames, scripts'
fetches) goes through ``guard``: one to a host that is, or resolves to, a loopback, private,
link-local or otherwise non-global address is refused. ``SPIKELAND_BOX_PRIVATE_NETWORKS`` allows
them (a box meant for an intranet; the tests' pages are on loopback).

Not covered: what a page's own scripts request between tasks, when no task is connected. A remote
provider's VMs, outside the server's network, have no such gap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from playwright.async_api import Route

GUARDED_SCHEMES = ("http", "https", "ws", "wss")


class Guard:
    """A route handler refusing requests to non-global addresses (each host resolved once)."""

    def __init__(self) -> None:
        self._verdicts: dict[str, bool] = {}

    async def private(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in GUARDED_SCHEMES or not parts.hostname:
            return False
        host = parts.hostname
        if host not in self._verdicts:
            self._verdicts[host] = await _private_host(host)
        return self._verdicts[host]

    async def __call__(self, route: Route) -> None:
        if await self.private(route.request.url):
            await route.abort("blockedbyclient")
        else:
            await route.fallback()


async def _private_host(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        pass  # a name
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # it does not resolve: the browser will fail to reach it anyway
    return any(not ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_global for info in found)
