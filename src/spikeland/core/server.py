"""The HTTP server: uvicorn with the deadlines it lacks, and a cap on connections.

uvicorn closes an idle keep-alive connection, but nothing else: a connection that never finishes
its request headers, or sends its body one byte a second, stays open as long as the client likes
(3,000 such connections held a server open in the attack report of issue 11). So the protocol
here gives every request two deadlines:

- headers: from the connection's start (or the first byte of a later request on it) to the end
  of the headers, ``header_timeout_seconds``;
- body: from the end of the headers to the end of the body, ``body_timeout_seconds``, for the
  whole body rather than between reads, since a one-byte-a-second drip never lets an idle
  timer fire. 60 s passes any JSON body and a 20 MB upload at about 3 Mbit/s; a deployment with
  slower uploaders raises it (behind nginx the proxy buffers a body before it reaches us).

A connection past either deadline is closed (the application sees the client disconnect).
``max_connections`` is uvicorn's ``limit_concurrency``: a request arriving while that many
connections are open is answered 503 by uvicorn itself.

Written against uvicorn 0.54.0's ``HttpToolsProtocol`` (the parser callbacks ``on_message_begin``,
``on_headers_complete``, ``on_message_complete`` and ``connection_made`` / ``connection_lost``);
``tests/core/test_server_timeouts.py`` fails if an upgrade changes when they are called.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from spikeland.settings import Settings

_log = logging.getLogger(__name__)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a body deadline (see the module)."""

    header_timeout = 10.0
    body_timeout = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, what, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, what: str, seconds: float) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            _log.debug("closing a connection from %s: %s not received within %ss", self.client, what, seconds)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "request headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # A later request on a kept-alive connection: uvicorn's keep-alive timer stopped at its
        # first byte, so the header deadline starts here.
        if self._deadline is None:
            self._arm(self.header_timeout, "request headers")

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout, "the request body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the connection now belongs to the WebSocket protocol
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_class(settings: Settings) -> type[DeadlineProtocol]:
    """The protocol with this deployment's deadlines (uvicorn instantiates the class it is given)."""
    return type(
        "SpikelandHttpProtocol",
        (DeadlineProtocol,),
        {"header_timeout": settings.header_timeout_seconds, "body_timeout": settings.body_timeout_seconds},
    )


def server_config(app: Any, settings: Settings, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How ``spikeland serve`` runs uvicorn (``options`` for tests: another ``log_config``...)."""
    defaults: dict[str, Any] = {
        "loop": "uvloop",
        "log_level": settings.log_level.lower(),
        # Above INFO an access line is never printed; uvicorn would still format its fields.
        "access_log": logging.getLogger().isEnabledFor(logging.INFO),
        # The client's address is ours to work out (core.deps.client_ip, trust_proxy_headers):
        # uvicorn's own rewriting would trust X-Forwarded-For from 127.0.0.1 whatever that says.
        "proxy_headers": False,
    }
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_class(settings),
        limit_concurrency=settings.max_connections,
        **(defaults | options),
    )
