"""The error log: a route's unhandled exception and any ERROR record become rows (off the request
path), clients report theirs, the database being down makes no loop, admins filter, count and
delete by filter, old rows are purged."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, update

from spikeland.core.clock import utcnow
from spikeland.core.routing import Route
from spikeland.db.engine import make_engine, make_sessionmaker, transaction
from spikeland.identity.deps import CurrentCaller
from spikeland.identity.models import UserRole
from spikeland.ops import error_logs
from spikeland.ops.error_logs import ErrorSink
from spikeland.ops.models import ErrorEnvironment, ErrorLog
from spikeland.settings import Settings
from tests.support.clients import http_client
from tests.support.fixtures import UserClient

API = "/api/v1"


async def _rows(app: FastAPI, **where: Any) -> list[ErrorLog]:
    await app.state.error_sink.flush_now()
    async with app.state.sessionmaker() as session:
        statement = select(ErrorLog).filter_by(**where).order_by(ErrorLog.timestamp)
        return list(await session.scalars(statement))


async def test_an_exception_in_a_route_is_logged_with_its_route_user_and_stack(
    app: FastAPI, user_client: UserClient
) -> None:
    marker = "boom-" + secrets.token_hex(4)
    broken = APIRouter(route_class=Route)

    @broken.get("/broken-for-the-error-log")
    async def fails(caller: CurrentCaller) -> None:
        raise RuntimeError(marker)

    app.include_router(broken, prefix=API)
    client, user_id = await user_client()
    answer = await client.get(f"{API}/broken-for-the-error-log")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error" and marker not in answer.text
    (row,) = [r for r in await _rows(app, environment=ErrorEnvironment.BACKEND) if marker in (r.stack or "")]
    assert row.message.startswith("unhandled error on GET /api/v1/broken-for-the-error-log")
    assert row.error_type == "RuntimeError" and f"RuntimeError: {marker}" in (row.stack or "")
    assert row.route == "GET /api/v1/broken-for-the-error-log" and row.user_id == user_id
    assert row.metadata_["logger"] == "spikeland.core.errors"


async def test_any_error_record_is_captured(app: FastAPI) -> None:
    marker = "failure-" + secrets.token_hex(4)
    logging.getLogger("spikeland.somewhere").error("a %s happened", marker)
    logging.getLogger("spikeland.somewhere").warning("not an error %s", marker)
    (row,) = [r for r in await _rows(app) if marker in r.message]
    assert row.message == f"a {marker} happened" and row.error_type == "ERROR" and row.route is None
    assert row.source_file and row.source_file.endswith("test_error_logs.py") and row.caller_name


async def test_database_down_while_logging_makes_no_loop(settings: Settings) -> None:
    """The sink's flush fails (nothing listens on the port): the rows wait, bounded; what is logged
    while it fails (its own warning, a driver's error) is not captured; nothing raises."""
    engine = make_engine("postgresql://postgres@127.0.0.1:9/none", settings)
    sink = ErrorSink(make_sessionmaker(engine), max_queued=3)
    noisy = logging.getLogger("spikeland.ops.error_logs")

    class DriverComplains(logging.Handler):  # as a pool logs its trouble at ERROR while we flush
        def emit(self, record: logging.LogRecord) -> None:
            logging.getLogger("sqlalchemy.pool").error("connection failed during %s", record.getMessage())

    complaining = DriverComplains(level=logging.WARNING)
    noisy.addHandler(complaining)
    logging.getLogger().addHandler(sink)
    try:
        for n in range(5):
            logging.getLogger("spikeland.test").error("error %d", n)
        assert sink.queued == 3 and sink.dropped == 2  # bounded: the oldest went
        for _ in range(3):
            assert await sink.flush_now() == 0
        assert sink.queued == 3  # neither its warning nor the driver's error came back in
    finally:
        logging.getLogger().removeHandler(sink)
        noisy.removeHandler(complaining)
        await engine.dispose()


async def test_clients_report_errors(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    marker = "client-" + secrets.token_hex(4)
    error = {
        "message": f"{marker} TypeError: x is undefined",
        "stack": "at f (app.js:1:2)",
        "sourceFile": "app.js",
    }
    error |= {"sourceLine": 1, "sourceColumn": 2, "route": "/pricing", "errorType": "TypeError"}
    anonymous = await client.post(f"{API}/errors", json={"errors": [error, error | {"errorCode": "E1"}]})
    assert anonymous.status_code == 201, anonymous.text
    assert len(anonymous.json()["errorIds"]) == 2
    signed_in, user_id = await user_client()
    key = (await signed_in.post(f"{API}/api-keys", json={"name": "server"})).json()["key"]
    async with http_client(app) as server:
        as_server = await server.post(
            f"{API}/errors",
            json={"errors": [error | {"userId": "someone-else"}]},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert as_server.status_code == 201, as_server.text
    rows = [r for r in await _rows(app) if marker in r.message]
    assert [(r.environment.value, r.user_id) for r in rows] == [
        ("FRONTEND", None),
        ("FRONTEND", None),
        ("BACKEND", user_id),  # a server; the user the key's, never the body's
    ]
    assert rows[0].source_line == 1 and rows[1].error_code == "E1" and rows[0].route == "/pricing"
    # Too many, empty, too long, a control character, too big a body: 4xx, nothing stored.
    for body in (
        {"errors": [error] * 21},
        {"errors": []},
        {"errors": [error | {"message": "x" * 10_001}]},
        {"errors": [error | {"message": "a\x00b"}]},
        {"errors": [{"stack": "no message"}]},
    ):
        assert (await client.post(f"{API}/errors", json=body)).status_code == 422
    huge = await client.post(f"{API}/errors", json={"errors": [error | {"stack": "s" * 300_000}]})
    assert huge.status_code == 413
    assert len([r for r in await _rows(app) if marker in r.message]) == 3


async def test_admins_filter_count_and_delete_by_filter(app: FastAPI, user_client: UserClient) -> None:
    marker = "admin-" + secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:
        for n, (kind, route) in enumerate([("TypeError", "/a"), ("TypeError", "/b"), ("RangeError", "/a")]):
            session.add(
                ErrorLog(
                    message=f"{marker} {n}",
                    environment=ErrorEnvironment.FRONTEND,
                    error_type=kind,
                    route=route,
                    timestamp=utcnow() - timedelta(minutes=n),
                )
            )
    admin, _ = await user_client(role=UserRole.ADMIN)
    listed = await admin.get(f"{API}/admin/errors", params={"q": marker, "type": "TypeError", "limit": 1})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [e["message"] for e in page["items"]] == [f"{marker} 0"] and page["nextCursor"]
    following = await admin.get(
        f"{API}/admin/errors", params={"q": marker, "type": "TypeError", "cursor": page["nextCursor"]}
    )
    assert [e["message"] for e in following.json()["items"]] == [f"{marker} 1"]
    stats = (await admin.get(f"{API}/admin/errors/stats", params={"q": marker})).json()
    assert stats["total"] == 3
    assert {s["key"]: s["count"] for s in stats["byType"]} == {"TypeError": 2, "RangeError": 1}
    assert {s["key"]: s["count"] for s in stats["byRoute"]} == {"/a": 2, "/b": 1}
    assert sum(s["count"] for s in stats["byDay"]) == 3
    everything = await admin.delete(f"{API}/admin/errors")
    assert everything.status_code == 422 and everything.json()["error"]["code"] == "filter_required"
    deleted = await admin.delete(f"{API}/admin/errors", params={"q": marker, "route": "/a"})
    assert deleted.json() == {"deleted": 2}
    assert (await admin.get(f"{API}/admin/errors/stats", params={"q": marker})).json()["total"] == 1
    user, _ = await user_client()
    for method in ("GET", "DELETE"):
        assert (await user.request(method, f"{API}/admin/errors", params={"q": marker})).status_code == 403


async def test_rows_older_than_30_days_are_purged(app: FastAPI) -> None:
    marker = "old-" + secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:
        for days in (31, 29):
            session.add(ErrorLog(message=f"{marker} {days}", environment=ErrorEnvironment.BACKEND))
        await session.flush()
        await session.execute(
            update(ErrorLog)
            .where(ErrorLog.message == f"{marker} 31")
            .values(timestamp=utcnow() - timedelta(days=31))
        )
        await session.execute(
            update(ErrorLog)
            .where(ErrorLog.message == f"{marker} 29")
            .values(timestamp=utcnow() - timedelta(days=29))
        )
    async with transaction(app.state.sessionmaker) as session:
        assert await error_logs.purge_old(session) >= 1
    assert [r.message for r in await _rows(app) if marker in r.message] == [f"{marker} 29"]
