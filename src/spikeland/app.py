"""``create_app()``: the FastAPI application with its routers, error handlers and database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland import __version__
from spikeland.core.errors import error_body, install_error_handlers
from spikeland.core.logging import install_redaction
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.schemas import Schema
from spikeland.db.engine import make_engine, make_sessionmaker, resolve_database_url
from spikeland.db.session import DbSession
from spikeland.routes import api_routers, register_hooks
from spikeland.settings import Settings, get_settings
from spikeland.worker.scheduler import run_forever


class Health(Schema):
    status: str
    database: str
    version: str


class ApiIndex(Schema):
    name: str
    version: str
    docs_url: str


@asynccontextmanager
async def _worker(sessionmaker: async_sessionmaker[AsyncSession], *, enabled: bool) -> AsyncIterator[None]:
    """The periodic jobs beside the API (one process runs everything by default)."""
    if not enabled:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(sessionmaker, stop=stop), name="spikeland-worker")
    try:
        yield
    finally:
        stop.set()
        await task


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_redaction()
        url = database_url or resolve_database_url(settings)
        engine = make_engine(url, settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        async with _worker(app.state.sessionmaker, enabled=settings.worker_in_process):
            try:
                yield
            finally:
                await engine.dispose()

    app = FastAPI(
        title="Spikeland",
        version=__version__,
        description="The Spike Land platform API.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter()
    install_error_handlers(app)

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health(session: DbSession) -> Health | JSONResponse:
        try:
            await session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse(error_body("database_unavailable", "The database does not answer."), 503)
        return Health(status="ok", database="ok", version=__version__)

    api = APIRouter(prefix="/api/v1")

    @api.get("", response_model=ApiIndex, tags=["ops"])
    async def api_index() -> ApiIndex:
        return ApiIndex(name="spikeland", version=__version__, docs_url="/docs")

    register_hooks()
    for router in api_routers():
        api.include_router(router)
    app.include_router(api)
    return app
