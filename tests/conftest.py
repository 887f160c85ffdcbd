"""Test database: a real PostgreSQL, built by the migrations.

``SPIKELAND_TEST_DATABASE_URL`` names a server (any database on it) when set; otherwise an
embedded server is started in a temporary directory. Each run creates its own database there,
migrates it to head and drops it at the end. Tests get a session inside a transaction that is
rolled back; tests of concurrency or of migrations make their own committed data or databases.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.app import create_app
from spikeland.db import migrate
from spikeland.db.engine import async_url, make_engine
from spikeland.routes import register_hooks
from spikeland.settings import Settings
from tests.support import ClientFactory, client_of

# Fixtures shared by every folder (a signed-in client of its own, …).
pytest_plugins = ["tests.support.fixtures"]


def _plain(url: str) -> str:
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return _plain(make_url(_plain(url)).set(database=name).render_as_string(hide_password=False))


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(server_url: str, name: str) -> str:
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Under xdist the embedded server is one for the whole run, started by the controller: each
# worker starting its own would cost every worker the server's start-up and its memory. Workers
# learn its URL through ``workerinput``; each still makes and migrates a database of its own
# (``database_url``), so tests in different workers never see each other's rows.
_SERVER_URL = "spikeland_server_url"
_embedded = pytest.StashKey[tuple[tempfile.TemporaryDirectory[str], str]]()


def _distributed(config: pytest.Config) -> bool:
    """This process is xdist's controller of a distributed run (not a worker, not ``-n 0``)."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def _start_embedded() -> tuple[tempfile.TemporaryDirectory[str], str]:
    from spikeland.db.embedded import start_embedded

    tmp = tempfile.TemporaryDirectory(prefix="spikeland-test-")
    Path(tmp.name).chmod(0o755)  # as root the server runs as its own user and must reach its data
    return tmp, start_embedded(Path(tmp.name), database="postgres")


def _stop_embedded(tmp: tempfile.TemporaryDirectory[str]) -> None:
    from spikeland.db.embedded import stop_embedded

    stop_embedded(Path(tmp.name))  # before its directory goes, or the server would outlive the run
    tmp.cleanup()


def pytest_configure(config: pytest.Config) -> None:
    if _distributed(config) and not os.environ.get("SPIKELAND_TEST_DATABASE_URL"):
        config.stash[_embedded] = _start_embedded()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's hook, in the controller, for each worker it starts: hand it the server's URL."""
    if _embedded in node.config.stash:
        node.workerinput[_SERVER_URL] = node.config.stash[_embedded][1]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded in config.stash:
        _stop_embedded(config.stash[_embedded][0])
        del config.stash[_embedded]


@pytest.fixture(scope="session")
def server_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """A URL to a PostgreSQL server where tests may create and drop databases."""
    configured = os.environ.get("SPIKELAND_TEST_DATABASE_URL")
    if configured:
        yield _plain(configured)
        return
    shared = getattr(pytestconfig, "workerinput", {}).get(_SERVER_URL)
    if shared:
        yield shared
        return
    tmp, url = _start_embedded()
    try:
        yield url
    finally:
        _stop_embedded(tmp)


@contextmanager
def migrated_database(server_url: str, prefix: str = "spikeland_test") -> Iterator[str]:
    """A fresh database on ``server_url`` migrated to head, dropped when the block ends."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    url = asyncio.run(create_database(server_url, name))
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture(scope="session", autouse=True)
def domain_hooks() -> None:
    """The hooks the app registers at start (default albums, referrals, albums' pipelines), for the
    service tests too: registration is explicit (``register_hooks``), never an import side effect."""
    register_hooks()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database migrated to head, dropped after the run."""
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # bcrypt cost 4 keeps the suite fast; production refuses anything under 12.
    return Settings(
        database_url=database_url,
        environment="test",
        bcrypt_cost=4,
        cookie_secure=False,
        worker_in_process=False,  # tests run jobs themselves, when they mean to
        signups_per_ip=10_000,  # every test client signs up from one address; its test lowers it
        data_dir=tmp_path_factory.mktemp("data"),
    )


@pytest.fixture
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The application, started (lifespan) on the test database. Its requests commit for real."""
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


@pytest.fixture
def new_client(app: FastAPI) -> ClientFactory:
    """Fresh clients (each its own cookie jar) on the same app."""
    return lambda: client_of(app)


@pytest.fixture(scope="session")
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await trans.rollback()
