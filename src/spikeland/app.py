"""``create_app()``: the FastAPI application with its routers, error handlers and database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from spikeland import __version__
from spikeland.analytics.api import BODY_CAPS as ANALYTICS_BODY_CAPS
from spikeland.analytics.buffer import PageViewBuffer
from spikeland.audio.api import UPLOAD_MAX_BYTES as AUDIO_UPLOAD_MAX_BYTES
from spikeland.audio.api import UPLOAD_PREFIX as AUDIO_UPLOAD_PREFIX
from spikeland.core.admission import Admission
from spikeland.core.csrf import OriginCheck
from spikeland.core.errors import DatabaseUnavailable, install_error_handlers
from spikeland.core.limits import BodyLimit
from spikeland.core.logging import install_redaction
from spikeland.core.metrics import RequestMetrics
from spikeland.core.openapi import install_openapi
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.route_index import index_routes
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.engine import make_engine, make_sessionmaker, resolve_database_url
from spikeland.db.session import DbUnit, DriverConnections
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.identity.key_cache import KeyCache
from spikeland.images.queue import EVENTS_CHANNEL
from spikeland.integrations.email import make_email_sender
from spikeland.integrations.imaging import make_imaging
from spikeland.integrations.storage import make_storage
from spikeland.jobs import run_worker
from spikeland.ops.error_logs import ErrorSink
from spikeland.ops_api.emails_api import BODY_CAP as EMAILS_BODY_CAP
from spikeland.ops_api.errors_api import BODY_CAP as ERRORS_BODY_CAP
from spikeland.ops_api.feedback_api import BODY_CAP as FEEDBACK_BODY_CAP
from spikeland.routes import api_routers, register_hooks, root_routers
from spikeland.settings import Settings, get_settings
from spikeland.worker.events import JobEvents

MULTIPART_OVERHEAD = 1024 * 1024  # room for the form's other fields and boundaries around a file


def body_cap(settings: Settings) -> int:
    """The largest request body: an upload sent base64 in JSON (4/3 of its size) with room to spare."""
    return settings.upload_max_bytes * 4 // 3 + MULTIPART_OVERHEAD


API_PREFIX = "/api/v1"


class Health(Schema):
    status: str
    database: str
    version: str


class ApiIndex(Schema):
    name: str
    version: str
    docs_url: str


@asynccontextmanager
async def _worker(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The periodic jobs and the job runner beside the API (one process runs everything by default)."""
    if not settings.worker_in_process:
        yield
        return
    stop = asyncio.Event()
    state = app.state
    work = run_worker(state.engine, state.sessionmaker, settings, state.storage, state.imaging, stop)
    task = asyncio.create_task(work, name="spikeland-worker")
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
        app.state.page_views = PageViewBuffer(app.state.sessionmaker)
        app.state.error_sink = ErrorSink(app.state.sessionmaker)
        app.state.error_sink.start()  # every ERROR record becomes an error_logs row (ops.error_logs)
        app.state.driver_connections = DriverConnections(engine.sync_engine, keep=settings.db_pool_size)
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        app.state.job_events = JobEvents(dsn, EVENTS_CHANNEL)
        app.state.key_cache = KeyCache(dsn, settings.api_key_cache_seconds)
        app.state.key_cache.start()
        async with _worker(app, settings):
            try:
                yield
            finally:
                await app.state.page_views.close()
                await app.state.error_sink.aclose()
                await app.state.key_cache.close()
                await app.state.job_events.close()
                closing = getattr(app.state.imaging, "aclose", None)
                if closing is not None:  # the Gemini client holds connections
                    await closing()
                await app.state.driver_connections.close()
                await engine.dispose()

    otel = settings.opentelemetry
    app = FastAPI(
        title="Spikeland",
        version=__version__,
        description="The Spike Land platform API.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        telemetry={"tracing": otel, "metrics": otel, "logs": otel},
    )
    app.router.route_class = Route  # /health and the index too (core.routing)
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter()
    app.state.storage = make_storage(settings)
    app.state.imaging = make_imaging(settings)
    # One sender for the app: the request routes (integrations.deps.EmailDep) and the mail they
    # send after commit share it.
    app.state.email_sender = make_email_sender(settings)
    install_error_handlers(app)
    install_openapi(app)
    if settings.max_active_requests:  # innermost: the body cap and the origin check answer first
        app.add_middleware(
            Admission, limit=settings.max_active_requests, wait_seconds=settings.admission_wait_seconds
        )
    small = {API_PREFIX + path: cap for path, cap in ANALYTICS_BODY_CAPS.items()}
    small |= {f"{API_PREFIX}/errors": ERRORS_BODY_CAP, f"{API_PREFIX}/feedback": FEEDBACK_BODY_CAP}
    small[f"{API_PREFIX}/webhooks/resend"] = EMAILS_BODY_CAP
    small[API_PREFIX + AUDIO_UPLOAD_PREFIX] = AUDIO_UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD
    app.add_middleware(BodyLimit, max_bytes=body_cap(settings), smaller=small)
    app.add_middleware(
        OriginCheck,
        cookie=SESSION_COOKIE,
        origins=[settings.public_url, *settings.trusted_origins.split(",")],
    )
    if settings.request_metrics:  # outermost: every answer counted and timed (core.metrics)
        app.add_middleware(RequestMetrics)

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health(db: DbUnit) -> Health:
        try:
            await (await db.reader()).fetchval("SELECT 1")
        except Exception as exc:  # raised, not returned: the request's unit must not commit
            raise DatabaseUnavailable("The database does not answer.") from exc
        return Health(status="ok", database="ok", version=__version__)

    @app.get(API_PREFIX, response_model=ApiIndex, tags=["ops"])
    async def api_index() -> ApiIndex:
        return ApiIndex(name="spikeland", version=__version__, docs_url="/docs")

    register_hooks()
    # Each domain's router straight on the app, not nested under one /api/v1 router: FastAPI
    # (>= 0.137) walks a nested tree of included routers on every request (measured: about half
    # of a token spend's Python), a flat list of them much less.
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    for router in root_routers():
        app.include_router(router)
    index_routes(app)  # each router tries only the routes a path can match (core.route_index)
    return app
