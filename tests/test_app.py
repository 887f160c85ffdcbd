import httpx
import pytest
from fastapi import FastAPI

from spikeland.core.errors import Conflict
from spikeland.core.schemas import Schema


class Echo(Schema):
    display_name: str
    count: int


@pytest.fixture(autouse=True)
def echo_route(app: FastAPI) -> None:
    """A route added by the test so the handlers can be exercised with a real JSON body."""

    @app.post("/api/v1/test-echo", response_model=Echo)
    async def echo(body: Echo) -> Echo:
        if body.count < 0:
            raise Conflict("negative", details={"count": body.count})
        return body


async def test_health_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Spikeland" and "/health" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/api/v1")).json()["docsUrl"] == "/docs"


async def test_json_is_camel_case_both_ways(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/test-echo", json={"displayName": "Ada", "count": 2})
    assert response.status_code == 200
    assert response.json() == {"displayName": "Ada", "count": 2}


async def test_malformed_json_gets_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/test-echo", content=b'{"displayName": "Ada",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "malformed_json", "message": "The request body is not valid JSON.", "details": None}
    }


async def test_validation_errors_name_the_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/test-echo", json={"displayName": "Ada", "count": "many"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["body.count"]


async def test_domain_errors_and_unknown_routes_use_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/test-echo", json={"displayName": "Ada", "count": -1})
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "conflict", "message": "negative", "details": {"count": -1}}
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/health")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
