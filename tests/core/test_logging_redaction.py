"""The redaction filter keeps records formattable and keeps secrets out, uvicorn's access log included."""

from __future__ import annotations

import io
import logging
import sys

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, field_validator
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from spikeland.core.errors import install_error_handlers
from spikeland.core.logging import RedactingFilter
from spikeland.settings import Settings
from tests.core.live import base_url, serving
from tests.support import client_of

ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


def _access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's protocol logs each response (httptools_impl.RequestResponseCycle.send)."""
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", path, "1.1", 303), None,
    )  # fmt: skip


def _emit(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    handler.handle(record)
    return stream.getvalue()


def test_an_access_record_with_a_secret_is_redacted_and_still_formats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = _access_record("/api/v1/auth/oauth/google/callback?code=1&state=s3cret-state")
    line = _emit(record, AccessFormatter(ACCESS_FORMAT, use_colors=False))
    assert "GET /api/v1/auth/oauth/google/callback?code=[redacted]&state=[redacted] HTTP/1.1" in line
    assert "303 See Other" in line and "s3cret-state" not in line
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert "Logging error" not in capsys.readouterr().err


def test_a_secret_split_between_format_and_argument_is_redacted() -> None:
    record = logging.LogRecord("spikeland", logging.INFO, __file__, 1, "got token=%s", ("abc123",), None)
    assert _emit(record, logging.Formatter("%(message)s")) == "got token=[redacted]\n"


def test_a_traceback_does_not_echo_a_rejected_password() -> None:
    password = "p" * 300
    error = {"type": "string_too_long", "loc": ("body", "password"), "msg": "too long", "input": password}
    try:
        raise RequestValidationError([error])
    except RequestValidationError:
        record = logging.LogRecord("spikeland", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    logged = _emit(record, logging.Formatter("%(message)s"))
    assert "RequestValidationError" in logged and "too long" in logged
    assert "ppppp" not in logged


async def test_a_real_server_logs_a_secret_query_and_a_long_password_safely(
    settings: Settings, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    password = "S" * 300
    root_handler = logging.StreamHandler(sys.stderr)  # what `spikeland serve` adds (basicConfig)
    logging.getLogger().addHandler(root_handler)
    try:
        async with (
            serving(settings, database_url, log_config=LOGGING_CONFIG, access_log=True) as server,
            httpx.AsyncClient(base_url=base_url(server)) as client,
        ):
            answer = await client.post(
                "/api/v1/auth/login?code=1", json={"email": "x@example.com", "password": password}
            )
            callback = await client.get("/api/v1/auth/oauth/github/callback?code=c0de&state=st4te")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert answer.status_code == 422
    assert password not in answer.text
    out, err = capfd.readouterr()
    logged = out + err
    assert '"POST /api/v1/auth/login?code=[redacted] HTTP/1.1" 422' in logged, logged
    callback_line = (
        f'/oauth/github/callback?code=[redacted]&state=[redacted] HTTP/1.1" {callback.status_code}'
    )
    assert callback_line in logged
    assert "Logging error" not in logged
    assert "SSSSSSSSSS" not in logged and "c0de" not in logged and "st4te" not in logged


class _Quoting(BaseModel):
    password: str
    name: str

    @field_validator("password", "name")
    @classmethod
    def _quoting(cls, value: str) -> str:
        raise ValueError(f"{value} is not acceptable")  # a validator that quotes what it refuses


async def test_a_validation_error_never_repeats_a_secret_field_input() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(body: _Quoting) -> None:
        return None

    async with client_of(app) as client:
        answer = await client.post("/echo", json={"password": "hunter2-secret", "name": "plain-name"})
    assert answer.status_code == 422
    assert "hunter2-secret" not in answer.text
    fields = {item["field"]: item["message"] for item in answer.json()["error"]["details"]}
    assert "[redacted]" in fields["body.password"] and "plain-name" in fields["body.name"]
