"""The real ``POST /api/v1/tokens/spend`` served by ``core.routing.Route`` answers as the same
endpoint on FastAPI's own ``APIRoute`` does: both are mounted on one app, two users with the same
balance each go through one of them, and every request below must get the same status, body and
headers (the new transaction's id and time aside)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from spikeland.core.routing import Route
from tests.core.test_routing import from_bytes
from tests.support import ClientFactory, sign_up

SPEND = "/api/v1/tokens/spend"
PLAIN = "/plain" + SPEND

# Each case: the request's keyword arguments; "auth" says which credential goes with it.
CASES: list[dict[str, Any]] = [
    {"json": {"amount": 1, "purpose": "enhancement"}},
    {"json": {"amount": 1, "purpose": "box", "description": " a note "}, "auth": "cookie"},
    {"json": {"amount": 1, "purpose": "generation"}, "headers": {"Idempotency-Key": "k1"}},
    {"json": {"amount": 1, "purpose": "generation"}, "headers": {"Idempotency-Key": "k1"}},  # replay
    {"json": {"amount": 2, "purpose": "generation"}, "headers": {"Idempotency-Key": "k1"}},  # reused
    {"json": {"amount": 1, "purpose": "enhancement"}, "headers": {"Idempotency-Key": ""}},
    {"content": b'{"amount": 1,', "headers": {"content-type": "application/json"}},  # malformed
    {"content": b'{"amount": 1, "purpose": "box"}', "headers": {"content-type": "text/plain"}},
    {"content": b'{"amount": 1, "purpose": "box"}'},  # no content type
    {},  # no body
    {"json": [1, 2]},
    {"json": {"amount": 1, "purpose": "enhancement"}, "auth": None},
    {"json": {"amount": 1, "purpose": "enhancement"}, "auth": "basic"},
    {"json": {"amount": 1, "purpose": "enhancement"}, "auth": "wrong-key"},
    {"json": {"amount": 1, "purpose": "enhancement"}, "auth": "wrong-cookie"},
    {"json": {"amount": 0, "purpose": "enhancement"}},
    {"json": {"amount": "x", "purpose": "nothing"}},
    {"json": {"amount": 10_000, "purpose": "enhancement"}},  # more than the balance
    {"json": {"amount": 1, "purpose": "enhancement", "description": "a\x00b"}},  # NUL
    {"json": {"amount": 1, "purpose": "enhancement", "extra": True}},
]


def compiled_routes(app: FastAPI) -> dict[str, APIRoute]:
    """The app's Routes by full path (routers included with their prefixes)."""
    return {
        str(context.path_format): context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, Route)
    }


def _mount_plain_copy(app: FastAPI) -> None:
    hot = compiled_routes(app)[SPEND]
    app.router.add_api_route(
        PLAIN,
        hot.endpoint,
        methods=list(hot.methods),
        response_model=hot.response_model,
        status_code=hot.status_code,
        dependencies=list(hot.dependencies),
        route_class_override=APIRoute,
    )
    plain = next(c.original_route for c in iter_route_contexts(app.routes) if c.path_format == PLAIN)
    assert type(plain) is APIRoute


async def _caller(client: httpx.AsyncClient) -> dict[str, str]:
    await sign_up(client)
    key = await client.post("/api/v1/api-keys", json={"name": "parity"})
    assert key.status_code == 201, key.text
    return {"key": key.json()["key"], "cookie": client.cookies["spikeland_session"]}


def _request(case: dict[str, Any], credentials: dict[str, str]) -> dict[str, Any]:
    request = {k: v for k, v in case.items() if k != "auth"}
    headers = dict(request.pop("headers", {}))
    auth = case.get("auth", "key")
    if auth == "key":
        headers["authorization"] = f"Bearer {credentials['key']}"
    elif auth == "basic":
        headers["authorization"] = "Basic dXNlcjpwYXNz"
    elif auth == "wrong-key":
        headers["authorization"] = "Bearer sk_not_a_key"
    elif auth == "cookie":
        headers["cookie"] = f"spikeland_session={credentials['cookie']}"
    elif auth == "wrong-cookie":
        headers["cookie"] = "spikeland_session=not-a-session"
    return request | {"headers": headers}


def _answer(response: httpx.Response) -> tuple[int, Any, list[tuple[str, str]]]:
    body = from_bytes(response.json())
    if isinstance(body, dict) and "transactionId" in body:  # the new row's own id and time
        body = body | {"transactionId": "*", "createdAt": "*"}
    headers = sorted((k, v) for k, v in response.headers.multi_items() if k != "content-length")
    return response.status_code, body, headers


async def test_the_spend_answers_as_on_fastapis_route(app: FastAPI, new_client: ClientFactory) -> None:
    _mount_plain_copy(app)
    async with new_client() as one, new_client() as other:
        hot_caller, plain_caller = await _caller(one), await _caller(other)
    seen: set[tuple[int, object]] = set()
    async with new_client() as client:  # no cookie jar of a signed-in user: each request says who
        for number, case in enumerate(CASES):
            hot = await client.post(SPEND, **_request(case, hot_caller))
            plain = await client.post(PLAIN, **_request(case, plain_caller))
            client.cookies.clear()
            assert _answer(hot) == _answer(plain), f"case {number}: {case}"
            seen.add((hot.status_code, hot.json().get("applied", hot.json().get("error", {}).get("code"))))
    # The cases reach every outcome: applied, replayed, and each kind of refusal.
    assert seen == {
        (201, True),
        (201, False),
        (400, "malformed_json"),
        (401, "not_authenticated"),
        (401, "invalid_credentials"),
        (401, "invalid_api_key"),
        (401, "invalid_session"),
        (402, "insufficient_tokens"),
        (422, "idempotency_key_reused"),
        (422, "validation_error"),
    }
