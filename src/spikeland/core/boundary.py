"""The outermost layer of the app: a request that failed is answered and its connection kept.

Starlette's ``ServerErrorMiddleware`` answers an unhandled exception with our 500 envelope
(``errors._unexpected_error``, which logs it) and then re-raises it so that "servers can log
it"; uvicorn does log it (a second time) and closes the connection, so the next request a
client sends on that keep-alive connection failed (issue 11). Outside that middleware, this one
drops an exception that arrives after the response was sent completely: it was answered, and
logged by our handler (or here, when no handler ran: an error after the response). One that
arrives before the response is complete is re-raised: the client has half a response, so the
server must close the connection, and uvicorn logs it (our handler did not run for it).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_log = logging.getLogger("spikeland.core.errors")

LOGGED = "spikeland.logged_error"  # scope key: the exception our handler has logged


class ErrorBoundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def sending(message: Message) -> None:
            nonlocal complete
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if not complete:
                raise
            if scope.get(LOGGED) is not exc:
                _log.error("error after the response to %s %s", scope["method"], scope["path"], exc_info=exc)


def install_boundary(app: Starlette) -> None:
    """Wrap the app's whole middleware stack (built on the first request) in ``ErrorBoundary``.

    Starlette offers no place outside its ``ServerErrorMiddleware``, so the stack builder is
    wrapped on this app instance.
    """
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: ErrorBoundary(build())  # type: ignore[method-assign]
