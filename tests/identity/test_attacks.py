"""Bad input and attacks: malformed bodies are 4xx in the error envelope and write nothing;
forged, expired and revoked credentials are 401; other people's things are 404; guessing is 429."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.core.clock import utcnow
from spikeland.core.security import digest
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.identity.models import ApiKey, Session, User
from tests.support import sign_up

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"attack-{secrets.token_hex(4)}@example.com"


async def user_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(User))).scalar_one())


async def signed_in(client: httpx.AsyncClient, email: str | None = None) -> dict[str, Any]:
    return await sign_up(client, email or new_email(), PASSWORD)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    error: dict[str, Any] = body["error"]
    return error


# ----------------------------------------------------------------------------- malformed input

MALFORMED_EMAILS = [
    "",
    " ",
    "not-an-email",
    "a@",
    "@example.com",
    "a b@example.com",
    "a@b@example.com",
    "' OR 1=1 --@example.com",
    "nul\x00byte@example.com",
    "x" * 250 + "@example.com",  # over 254 characters
    "a@" + "b" * 64 + ".com",  # a DNS label over 63 characters
]

BAD_SIGNUPS: list[Any] = [
    *({"email": email, "password": PASSWORD} for email in MALFORMED_EMAILS),
    {"email": "{new}", "password": "short"},
    {"email": "{new}", "password": "x" * 73},
    {"email": "{new}", "password": "é" * 37},  # 37 characters, 74 bytes: over bcrypt's 72
    {"email": "{new}", "password": "😀" * 19},  # 19 characters, 76 bytes
    {"email": "{new}", "password": PASSWORD, "name": "n" * 101},
    {"email": "{new}", "password": PASSWORD, "name": "   "},
    {"email": "{new}", "password": PASSWORD, "name": "n" * 100_000},
    {"email": "{new}", "password": PASSWORD, "referralCode": "R" * 33},
    {"email": 123, "password": PASSWORD},
    {"email": None, "password": PASSWORD},
    {"email": ["a@example.com"], "password": PASSWORD},
    {"email": "{new}", "password": 12345678},
    {"email": "{new}", "password": None},
    {"email": "{new}", "password": {"$ne": ""}},
    {"email": "{new}", "password": PASSWORD, "name": ["x"]},
    {"email": "{new}", "password": PASSWORD, "referralCode": 7},
    {},
    {"email": "{new}"},
    {"password": PASSWORD},
    [],
    "a string",
    None,
    42,
]


def _fill(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: (new_email() if v == "{new}" else v) for k, v in body.items()}
    return body


@pytest.mark.parametrize("body", BAD_SIGNUPS, ids=lambda b: repr(b)[:40])
async def test_bad_signup_is_422_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, body: Any
) -> None:
    before = await user_count(engine)
    response = await client.post("/api/v1/auth/signup", json=_fill(body))
    error = assert_error(response, 422, "validation_error")
    assert error["details"] and all("field" in d and "message" in d for d in error["details"])
    assert await user_count(engine) == before


# PostgreSQL text cannot hold U+0000: such input must come back as a 422, never reach the
# database as an unhandled error (a 500 whose log would carry the statement's parameters).


@pytest.mark.parametrize("field", ["name", "referralCode"])
async def test_nul_character_in_signup_text_is_422(
    client: httpx.AsyncClient, engine: AsyncEngine, field: str
) -> None:
    before = await user_count(engine)
    body = {"email": new_email(), "password": PASSWORD, field: "Ann\x00"}
    response = await client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"], response.text
    assert await user_count(engine) == before


async def test_nul_character_in_api_key_name_is_422(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    response = await client.post("/api/v1/api-keys", json={"name": "ci\x00"})
    assert response.status_code == 422 and response.json()["error"]["code"], response.text


async def test_nul_character_in_a_path_id_is_a_4xx(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    response = await client.delete("/api/v1/api-keys/c%00x")
    assert response.status_code in (404, 422), response.text


async def test_nul_character_in_a_password_is_just_a_character(client: httpx.AsyncClient) -> None:
    email, password = new_email(), "long\x00enough"
    created = await client.post("/api/v1/auth/signup", json={"email": email, "password": password})
    assert created.status_code == 202, created.text
    truncated = await client.post("/api/v1/auth/login", json={"email": email, "password": "long"})
    assert truncated.status_code == 401  # bcrypt must not stop at the NUL


async def test_password_of_exactly_72_multibyte_bytes_is_accepted(client: httpx.AsyncClient) -> None:
    email, password = new_email(), "é" * 36
    created = await client.post("/api/v1/auth/signup", json={"email": email, "password": password})
    assert created.status_code == 202, created.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    # bcrypt reads 72 bytes; a longer guess sharing them must not pass for the password.
    longer = await client.post("/api/v1/auth/login", json={"email": email, "password": password + "x"})
    assert longer.status_code == 401


BAD_LOGINS: list[Any] = [
    {"email": "not-an-email", "password": PASSWORD},
    {"email": "x" * 250 + "@example.com", "password": PASSWORD},
    {"email": "{new}", "password": ""},
    {"email": "{new}", "password": "p" * 257},
    {"email": 1, "password": PASSWORD},
    {"email": "{new}", "password": ["p"]},
    {"email": "{new}"},
    {"password": PASSWORD},
    {},
    [],
]


@pytest.mark.parametrize("body", BAD_LOGINS, ids=lambda b: repr(b)[:40])
async def test_bad_login_is_422(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post("/api/v1/auth/login", json=_fill(body))
    assert_error(response, 422, "validation_error")
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/auth/login"])
@pytest.mark.parametrize("raw", ['{"email": ', "{'email': 'a@b.c'}", '{"email": "a@b.c"} trailing', "\xff"])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, engine: AsyncEngine, path: str, raw: str
) -> None:
    before = await user_count(engine)
    response = await client.post(
        path, content=raw.encode("utf-8", "surrogateescape"), headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")
    assert await user_count(engine) == before


# ----------------------------------------------------------------------------- forged credentials


async def test_tampered_session_cookies_are_401(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    token = client.cookies[SESSION_COOKIE]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for forged in (
        secrets.token_urlsafe(32),
        token[:-5],
        token[: len(token) // 2],
        flipped,
        token + "x",
        "''",
    ):
        client.cookies.set(SESSION_COOKIE, forged)
        assert_error(await client.get("/api/v1/me"), 401, "invalid_session")
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_expired_session_is_401(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await signed_in(client)
    token = client.cookies[SESSION_COOKIE]
    async with engine.begin() as conn:
        await conn.execute(
            update(Session)
            .where(Session.session_token == digest(token))
            .values(expires=utcnow() - timedelta(seconds=1))
        )
    expired = await client.get("/api/v1/me")
    assert_error(expired, 401, "invalid_session")
    # The dead cookie is deleted with the 401, on both auth paths (ORM and the spend's driver path).
    assert SESSION_COOKIE not in client.cookies
    assert (
        f'{SESSION_COOKIE}=""' in expired.headers["set-cookie"]
        and "Max-Age=0" in expired.headers["set-cookie"]
    )
    client.cookies.set(SESSION_COOKIE, token)
    spend = await client.post("/api/v1/tokens/spend", json={"amount": 1, "purpose": "enhancement"})
    assert_error(spend, 401, "invalid_session")
    assert spend.headers["set-cookie"] == expired.headers["set-cookie"]


async def test_session_revoked_by_logout_is_401(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    token = client.cookies[SESSION_COOKIE]
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    client.cookies.set(SESSION_COOKIE, token)
    assert_error(await client.get("/api/v1/me"), 401, "invalid_session")


async def add_key(engine: AsyncEngine, user_id: str, *, active: bool = True) -> str:
    raw = "sk_live_" + secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(
            insert(ApiKey).values(
                user_id=user_id, name="k", key_hash=digest(raw), key_prefix=raw[:12], is_active=active
            )
        )
    return raw


async def test_unknown_inactive_and_malformed_bearer_keys_are_401(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user = await signed_in(client)
    good = await add_key(engine, user["id"])
    inactive = await add_key(engine, user["id"], active=False)
    client.cookies.clear()
    ok = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200 and ok.json()["id"] == user["id"]

    invalid_keys = [
        "sk_live_" + secrets.token_urlsafe(32),  # unknown
        inactive,
        good[:-1],  # truncated
        good.upper(),
        good.removeprefix("sk_live_"),  # the secret without its prefix
        digest(good),  # the stored hash is not a key
        "sk_live_" + "a" * 500,
        "",
    ]
    for presented in invalid_keys:
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {presented}"})
        assert_error(response, 401, "invalid_api_key")
    for header in (f"Basic {good}", f"Token {good}", good, "Bearer"):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header


async def test_a_bad_key_is_not_ignored_beside_a_good_cookie(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)
    forged = {"Authorization": "Bearer sk_live_" + secrets.token_urlsafe(32)}
    assert_error(await client.get("/api/v1/me", headers=forged), 401, "invalid_api_key")


async def test_revoked_key_is_401(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    created = await client.post("/api/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert (await client.delete(f"/api/v1/api-keys/{key['id']}")).status_code == 204
    client.cookies.clear()
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert_error(response, 401, "invalid_api_key")


# ----------------------------------------------------------------------------- other people's things


async def test_another_users_key_is_404_like_a_missing_one(client: httpx.AsyncClient, app: Any) -> None:
    await signed_in(client)
    owned = (await client.post("/api/v1/api-keys", json={"name": "mine"})).json()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as intruder:
        await signed_in(intruder)
        theirs = await intruder.delete(f"/api/v1/api-keys/{owned['id']}")
        missing = await intruder.delete(f"/api/v1/api-keys/c{secrets.token_hex(12)}")
        assert_error(theirs, 404, missing.json()["error"]["code"])
        assert theirs.json() == missing.json()  # nothing tells an existing id from a made-up one
        assert owned["id"] not in (await intruder.get("/api/v1/api-keys")).text
        as_owner = await intruder.get("/api/v1/me", headers={"Authorization": f"Bearer {owned['key']}"})
        assert as_owner.status_code == 200  # still active: the intruder's revoke changed nothing


# ----------------------------------------------------------------------------- guessing


async def test_failed_logins_per_email_are_limited(client: httpx.AsyncClient, app: Any) -> None:
    email = new_email()
    await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    limit = app.state.settings.login_attempts_per_email
    for _ in range(limit):
        wrong = await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong guess"})
        assert wrong.status_code == 401
    for password in ("wrong guess", PASSWORD):  # once limited, even the right password waits
        limited = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert_error(limited, 429, "rate_limited")
        assert 0 < int(limited.headers["retry-after"]) <= app.state.settings.login_window_seconds
    other = await client.post("/api/v1/auth/login", json={"email": new_email(), "password": "x"})
    assert other.status_code == 401  # another address from the same IP is not yet limited


async def test_failed_logins_per_ip_are_limited(client: httpx.AsyncClient, app: Any) -> None:
    limit = app.state.settings.login_attempts_per_ip
    for _ in range(limit):  # a different address each time: only the IP limit can catch this
        wrong = await client.post("/api/v1/auth/login", json={"email": new_email(), "password": "guess"})
        assert wrong.status_code == 401
    limited = await client.post("/api/v1/auth/login", json={"email": new_email(), "password": "guess"})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
