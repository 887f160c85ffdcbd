"""Fixtures of the database tests."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from spikeland.db.engine import SERVER_SETTINGS, async_url


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory for an embedded server's data. As root the server runs as its own user, so the
    directory must be reachable by it: not under ``tmp_path``, whose root pytest makes private
    (0700) again whenever another pytest run starts on the machine."""
    with tempfile.TemporaryDirectory(prefix="spikeland-embedded-") as tmp:
        Path(tmp).chmod(0o755)
        yield Path(tmp)


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds a single connection, so every unit gets the same one back."""
    engine = create_async_engine(
        async_url(database_url),
        pool_size=1,
        max_overflow=0,
        connect_args={"server_settings": SERVER_SETTINGS},
    )
    yield engine
    await engine.dispose()
