"""A request's transaction begins at its first statement that needs one, not at its first statement.

Under READ COMMITTED (the app's level) every statement takes its own snapshot, inside a transaction
or not, so a plain SELECT sees the same rows outside one. What the transaction adds — writes that
commit or roll back together, row locks, transaction-scoped advisory locks and settings, savepoints
— starts with the first statement that writes or locks. So the request unit's session sends its
plain SELECTs without a transaction, and BEGIN just before its first other statement: a request that
only reads (a list, a detail, ``/me``, ``/health``) sends no BEGIN and no COMMIT, two round trips
fewer; one that writes holds one transaction from its first write to its commit, as before. The
reads before that first write are outside it, which under READ COMMITTED they cannot tell.

A statement is a plain read when it starts with SELECT, locks no row and calls none of the functions
with effects below; anything else (WITH, SAVEPOINT, SET, a SELECT of ``pg_advisory_xact_lock``...)
begins the transaction first, so a doubt costs a BEGIN, never a lock held outside the transaction.

Only sessions of ``RequestSession`` (the request unit's) defer; workers, the CLI and every other
session begin as SQLAlchemy does. The mechanism is the asyncpg adapter's own "autocommit" state,
set while the transaction is deferred and restored when it begins or the connection goes back to the
pool; ``undefer`` ends the deferral for a caller about to use the driver connection directly (which
then begins, ``session.driver_connection``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry, Pool, PoolProxiedConnection

_EFFECTS = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b"
    r"|\b(?:pg_advisory|pg_try_advisory|set_config|nextval|setval|pg_notify|txid_current|pg_current_xact_id)",
    re.IGNORECASE,
)


class _Deferred(str):
    """The adapter's isolation level while its transaction is deferred: equal to "autocommit", so
    the adapter begins none, and told apart from a real autocommit by its identity."""


_DEFERRED = _Deferred("autocommit")


class RequestSession(Session):
    """The request unit's ORM session: its transaction is deferred to its first write."""


@functools.lru_cache(maxsize=2048)  # the compiled statements of the app: a few hundred strings
def reads_only(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT" and _EFFECTS.search(statement) is None


@event.listens_for(RequestSession, "after_begin")
def _defer(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    adapter: Any = connection.connection.dbapi_connection
    # Only at READ COMMITTED (the server's default, None here, or set): a connection at another level
    # (or autocommit) keeps SQLAlchemy's behaviour, as its reads may rely on the transaction's snapshot.
    if adapter._transaction is None and adapter.isolation_level in (None, "read_committed"):
        adapter.isolation_level = _DEFERRED


def _undefer(adapter: Any) -> None:
    if adapter.isolation_level is _DEFERRED:
        adapter.isolation_level = adapter._isolation_setting


# The dialect's execution events, not the engine's: an engine with execution listeners dispatches
# several more events around every statement (measured: a few per cent of a small read).
@event.listens_for(Dialect, "do_execute")
@event.listens_for(Dialect, "do_executemany")
def _before_writing(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
    adapter = cursor._adapt_connection
    if adapter.isolation_level is _DEFERRED and not reads_only(statement):
        adapter.isolation_level = adapter._isolation_setting  # the adapter begins before it runs


@event.listens_for(Dialect, "do_execute_no_params")
def _before_writing_no_params(cursor: Any, statement: str, context: Any) -> None:
    _before_writing(cursor, statement, None, context)


@event.listens_for(Pool, "checkin")
def _restore(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if dbapi_connection is not None:
        _undefer(dbapi_connection)


def undefer(raw: PoolProxiedConnection) -> None:
    """Let ``raw``'s adapter begin its transaction again (it begins at its next statement, or when
    asked to begin)."""
    _undefer(raw.dbapi_connection)
