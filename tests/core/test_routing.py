"""Route answers exactly as FastAPI's own handler would: the same endpoint is mounted twice, once
on each route class, and every request below must get the same status, body and headers from both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Cookie,
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    Query,
    Request,
    Response,
    UploadFile,
)
from pydantic import BaseModel, Field

from spikeland.core.errors import Conflict, install_error_handlers
from spikeland.core.routing import Route

events: list[str] = []


class Unit:
    def __init__(self) -> None:
        self.fail_on_close = False


async def unit(request: Request) -> AsyncIterator[Unit]:
    held = Unit()
    events.append("open")
    try:
        yield held
        events.append("commit")
        if held.fail_on_close:
            raise Conflict("The commit failed.", code="commit_failed")
    except Exception as error:
        events.append(f"rollback:{type(error).__name__}")
        raise
    finally:
        events.append("close")


UnitDep = Annotated[Unit, Depends(unit, scope="function")]


async def caller(request: Request, response: Response, held: UnitDep, tasks: BackgroundTasks) -> str:
    tasks.add_task(events.append, "after:caller")  # after the response, with the endpoint's
    who = request.headers.get("x-who")
    if who == "nobody":
        raise Conflict("Not you.", code="not_you", headers={"x-why": "nobody"})
    response.headers["x-seen"] = who or "anonymous"
    response.set_cookie("renewed", "yes")
    events.append("caller")
    return who or "anonymous"


class Order(BaseModel):
    amount: int = Field(ge=1, le=100)
    note: str | None = Field(default=None, max_length=5)


class Placed(BaseModel):
    order_id: str
    amount: int
    who: str
    tag: str | None


async def place(
    item: str,
    order: Order,
    who: Annotated[str, Depends(caller)],
    held: UnitDep,
    tasks: BackgroundTasks,
    tag: Annotated[str | None, Header(alias="X-Tag", min_length=2, max_length=4)] = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    colours: Annotated[list[str], Query(max_length=2)] = [],  # noqa: B006 (FastAPI copies defaults)
    theme: Annotated[str | None, Cookie(pattern="^(dark|light)$")] = None,
) -> Placed:
    if order.note == "boom":
        raise Conflict("Boom.", code="boom")
    held.fail_on_close = order.note == "fail"
    tasks.add_task(events.append, "after:endpoint")
    suffix = "".join(f"-{colour}" for colour in colours) + (f"-{theme}" if theme else "")
    return Placed(order_id=f"{item}-{limit}{suffix}", amount=order.amount, who=who, tag=tag)


class Stored(BaseModel):
    name: str | None
    size: int
    title: str
    who: str


async def store(
    file: Annotated[UploadFile, File()],
    title: Annotated[str, Form(max_length=5)],
    who: Annotated[str, Depends(caller)],
) -> Stored:
    data = await file.read()
    if title == "boom":
        raise Conflict("Boom.", code="boom")
    return Stored(name=file.filename, size=len(data), title=title, who=who)


def build() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    hot = APIRouter(prefix="/hot", route_class=Route)
    plain = APIRouter(prefix="/plain")
    for router in (hot, plain):
        router.add_api_route(
            "/orders/{item}", place, methods=["POST"], response_model=Placed, status_code=201
        )
        router.add_api_route("/files", store, methods=["POST"], response_model=Stored, status_code=201)
    app.include_router(hot)
    app.include_router(plain)
    return app


CASES: list[dict[str, Any]] = [
    {"json": {"amount": 3}},
    {
        "json": {"amount": 3, "note": "hi"},
        "headers": {"x-who": "ann", "x-tag": "abc"},
        "params": {"limit": 2},
    },
    {"content": b'{"amount": 3,', "headers": {"content-type": "application/json"}},  # malformed
    {"content": b'{"amount": 3}', "headers": {"content-type": "text/plain"}},  # not JSON
    {"content": b'{"amount": 3}'},  # no content type: strict, as FastAPI
    {"content": b'{"amount": 3}', "headers": {"content-type": "application/vnd.api+json"}},
    {},  # no body
    {"json": {"amount": 0, "note": "toolong"}},  # two body errors
    {"json": {"amount": "x"}, "headers": {"x-tag": "a"}, "params": {"limit": 99}},  # errors everywhere
    {"json": {"amount": 3}, "params": [("colours", "red"), ("colours", "blue")]},
    {"json": {"amount": 3}, "params": [("colours", "r"), ("colours", "g"), ("colours", "b")]},
    {"json": {"amount": 3}, "headers": {"cookie": "theme=dark"}},
    {"json": {"amount": 3}, "headers": {"cookie": "theme=pink"}},
    {"json": {"amount": 3}, "headers": {"x-who": "nobody"}},  # a dependency refuses
    {"json": {"amount": 3, "note": "boom"}},  # the endpoint refuses: rolled back
    {"json": {"amount": 3, "note": "fail"}},  # the cleanup fails: the error is the answer
    {"json": [1, 2]},
]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
FORM_CASES: list[dict[str, Any]] = [
    {"files": {"file": ("a.png", PNG, "image/png")}, "data": {"title": "hi"}},
    {"files": {"file": ("a.png", PNG, "image/png")}, "data": {"title": "toolong"}},  # a form error
    {"files": {"file": ("a.png", PNG, "image/png")}},  # a form field missing
    {"data": {"title": "hi"}},  # the file missing
    {"files": {"file": ("a.png", PNG, "image/png")}, "data": {"title": "boom"}},  # the endpoint refuses
    {"files": {"file": ("a.png", PNG)}, "data": {"title": "hi"}, "headers": {"x-who": "nobody"}},
    {"json": {"title": "hi"}},  # not a form
    {"content": b"--x\r\nnonsense", "headers": {"content-type": "multipart/form-data; boundary=x"}},
    {"content": b"", "headers": {"content-type": "multipart/form-data"}},  # no boundary
]


def from_bytes(body: Any) -> Any:
    """FastAPI's answer as the compiled route gives it: FastAPI validates a JSON body's objects
    with ``from_attributes``, so a non-object where an object belongs is ``model_attributes_type``;
    validated from the bytes (``core.routing``) it is ``model_type``, "Input should be an object"."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        for detail in body["error"].get("details") or []:
            if isinstance(detail, dict) and detail.get("type") == "model_attributes_type":
                detail.update(type="model_type", message="Input should be an object")
    return body


async def _both_answer_alike(path: str, case: dict[str, Any]) -> None:
    """``case`` posted to ``path`` on both route classes: the same answer and the same events."""
    transport = httpx.ASGITransport(app=build())
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for prefix in ("/hot", "/plain"):
            events.clear()
            answer = await client.post(f"{prefix}{path}", **case)
            answers.append((answer.status_code, from_bytes(answer.json()), _headers(answer), list(events)))
    assert answers[0] == answers[1]
    assert answers[0][0] < 500


@pytest.mark.parametrize("case", FORM_CASES, ids=range(len(FORM_CASES)))
async def test_forms_and_files_are_read_as_fastapi_reads_them(case: dict[str, Any]) -> None:
    await _both_answer_alike("/files", case)


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
async def test_answers_as_fastapi_does(case: dict[str, Any]) -> None:
    await _both_answer_alike("/orders/pen", case)


async def test_cleanup_runs_before_the_response_and_sees_the_error() -> None:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        events.clear()
        ok = await client.post("/hot/orders/pen", json={"amount": 3})
        assert ok.status_code == 201
        assert events == ["open", "caller", "commit", "close", "after:caller", "after:endpoint"]
        assert ok.json() == {"order_id": "pen-5", "amount": 3, "who": "anonymous", "tag": None}
        assert ok.headers["x-seen"] == "anonymous" and "renewed=yes" in ok.headers["set-cookie"]
        events.clear()
        refused = await client.post("/hot/orders/pen", json={"amount": 3, "note": "boom"})
        assert refused.status_code == 409 and events == ["open", "caller", "rollback:Conflict", "close"]
        events.clear()
        failed = await client.post("/hot/orders/pen", json={"amount": 3, "note": "fail"})
        assert failed.status_code == 409 and failed.json()["error"]["code"] == "commit_failed"


def _headers(answer: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in answer.headers.multi_items() if k != "content-length")


async def sync_dependency() -> None: ...


def not_async() -> int:
    return 1


async def with_query(q: str) -> str:
    return q


async def request_scoped(request: Request) -> AsyncIterator[int]:
    yield 1


async def e_sync_dep(value: Annotated[int, Depends(not_async)]) -> None: ...


async def e_dep_params(value: Annotated[str, Depends(with_query)]) -> None: ...


async def e_request_scope(value: Annotated[int, Depends(request_scoped)]) -> None: ...


def e_sync() -> None: ...


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        (e_sync_dep, "not async"),
        (e_dep_params, "takes request parameters"),
        (e_request_scope, "scope='function'"),
        (e_sync, "endpoint is not async"),
    ],
)
def test_what_it_cannot_compile_keeps_fastapis_handler(endpoint: Any, why: str) -> None:
    router = APIRouter(route_class=Route)
    router.add_api_route("/x", endpoint, methods=["POST"])
    route = router.routes[-1]
    assert isinstance(route, Route) and route.fallback is not None and why in route.fallback


def test_every_route_of_the_app_is_compiled() -> None:
    """Uploads included (multipart bodies); a new route that would keep FastAPI's handler is noticed
    here rather than quietly paying the solver on every request."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from spikeland.app import create_app
    from spikeland.console.web import ConsoleRoute

    fallbacks = set()
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        # The console's pages are HTML for a few admins, rendered from templates: FastAPI's handler
        # (forms, the request) costs nothing there that matters.
        if isinstance(route, APIRoute) and not isinstance(route, ConsoleRoute):
            assert isinstance(route, Route), context.path_format
            if route.fallback is not None:
                fallbacks.add((next(iter(route.methods)), str(context.path_format), route.fallback))
    assert fallbacks == set()


def test_the_spend_keeps_its_documentation() -> None:
    from spikeland.app import create_app

    operation = create_app().openapi()["paths"]["/api/v1/tokens/spend"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SpendRequest")
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MovementOut"
    )
