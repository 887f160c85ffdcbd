"""Engine and session factory on asyncpg; URL handling for configured and embedded databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from spikeland.core.outage import watch_connects
from spikeland.settings import Settings

# Every connection works in UTC, so CURRENT_TIMESTAMP in a `timestamp without time zone`
# column holds UTC, as the ORM's datetimes do.
SERVER_SETTINGS = {"timezone": "UTC", "application_name": "spikeland"}


def async_url(url: str) -> URL:
    """A configured URL as given, with the asyncpg driver chosen internally.

    Accepts ``postgres://``, ``postgresql://`` and ``postgresql+<driver>://``; ``sslmode`` is
    translated to asyncpg's ``ssl``.
    """
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    query = dict(parsed.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return parsed.set(drivername="postgresql+asyncpg", query=query)


def describe(url: str) -> str:
    """Where a URL points, for messages: ``host:port`` (or the socket directory), never the password."""
    parsed = async_url(url)
    host = parsed.host or str(parsed.query.get("host", "localhost"))
    return f"{host}:{parsed.port or 5432}"


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        # Statement parameters carry password hashes, digests and user data: keep them out of error logs.
        hide_parameters=True,
        connect_args={"server_settings": SERVER_SETTINGS, "timeout": settings.db_connect_timeout},
    )
    watch_connects(engine)  # a failed connect is an outage (503), whatever its error says
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends normally, roll back on any error."""
    async with sessionmaker() as session, session.begin():
        yield session


class DatabaseUnreachable(RuntimeError):
    """The configured database cannot be reached; the message names host and port, never credentials."""


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the URL of the embedded server, started on demand."""
    if settings.database_url:
        return settings.database_url
    from spikeland.db.embedded import start_embedded

    return start_embedded(settings.data_dir)


async def ensure_reachable(url: str, timeout: float) -> None:
    """Fail fast with one clear line when the database does not answer."""
    import asyncpg

    parsed = async_url(url)
    try:
        conn = await asyncpg.connect(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False), timeout=timeout
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {describe(url)}: {reason}") from None
    await conn.close()
