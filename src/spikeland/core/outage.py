"""Which failures mean the database is out of reach (answered 503 ``database_unavailable``).

A request fails this way in one of a few shapes, whichever layer it used (ORM session, SQLAlchemy
Core, or the asyncpg connection of a driver-mode unit):

- the connection could not be made: any error raised while connecting (refused, timed out, the
  database refusing connections, dropped or renamed, too many clients, a password change). The
  engine's connect is wrapped (``watch_connects``) to mark those errors, since nothing in their
  type says "while connecting" (a 55000 or a ``ConnectionRefusedError`` can come from elsewhere);
- the connection broke: asyncpg's connection errors (SQLSTATE class 08, a closed connection, one
  left with "another operation in progress"),
  the server shutting down (57P01 admin, 57P02 crash, 57P03 cannot connect now), or SQLAlchemy's
  ``connection_invalidated``;
- no connection was free within the pool's timeout (``sqlalchemy.exc.TimeoutError``).

It lives in ``core`` beside the error handlers that answer 503 (it needs only SQLAlchemy and
asyncpg), so ``core`` stays below ``db``; ``db.engine`` installs ``watch_connects``.

The marks leave the exceptions' types alone, so the worker's outage handling (which catches
``OSError`` / ``SQLAlchemyError`` / ``asyncpg.PostgresError``) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

_WHILE_CONNECTING = "spikeland_while_connecting"
_SHUTDOWN_STATES = frozenset({"57P01", "57P02", "57P03"})


def watch_connects(engine: AsyncEngine) -> None:
    """Mark every error raised while ``engine`` opens a connection (see the module)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        # Returning a connection replaces SQLAlchemy's own connect call; this is that same call.
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            setattr(exc, _WHILE_CONNECTING, True)
            raise


def _links(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``orig``, the explicit causes (not mere context)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        link = stack.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        stack.append(link.__cause__)
        orig = getattr(link, "orig", None)
        if isinstance(orig, BaseException):
            stack.append(orig)


def _broken(link: BaseException) -> bool:
    if getattr(link, _WHILE_CONNECTING, False):
        return True
    if isinstance(link, sa_exc.TimeoutError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
        return True
    if isinstance(link, asyncpg.InterfaceError) and "connection is closed" in str(link):
        return True
    # A kept connection whose backend was terminated while it waited can answer its next statement
    # with this before it knows it is closed (the unit then discards it: db.session's give_back).
    if isinstance(link, asyncpg.InternalClientError) and "another operation" in str(link):
        return True
    state = getattr(link, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _SHUTDOWN_STATES)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not be reached or the connection was lost."""
    return any(_broken(link) for link in _links(exc))
