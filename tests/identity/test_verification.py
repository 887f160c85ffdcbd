"""Email verification, magic links, password change and reset: full flows through the HTTP API,
reading the mails from the local outbox."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.app import create_app
from spikeland.core.errors import SpikelandError
from spikeland.core.security import digest
from spikeland.db.engine import make_sessionmaker, transaction
from spikeland.identity import verification
from spikeland.settings import Settings
from tests.integrations.resend_peer import resend_peer
from tests.support.mail import CONFIRM, RESET, SIGN_IN, link_of, mails_to, token_of

API = "/api/v1/auth"
PASSWORD = "first password"


def new_email() -> str:
    return f"verify-{secrets.token_hex(4)}@example.com"


async def register(client: httpx.AsyncClient, address: str, *, login: bool = True) -> str:
    """A new account (its sign-up mails it a confirmation link); signed in on ``client`` unless not
    ``login``; returns the user id."""
    created = await client.post(f"{API}/signup", json={"email": address, "password": PASSWORD})
    assert created.status_code == 202, created.text
    signed_in = await client.post(f"{API}/login", json={"email": address, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text  # sign-up does not show the user: sign-in does
    if not login:
        assert (await client.post(f"{API}/logout")).status_code == 204
    user_id: str = signed_in.json()["user"]["id"]
    return user_id


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app: its own cookies."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def rows_exec(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# ----------------------------------------------------------------------------- email verification


async def test_verify_email_flow(client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine) -> None:
    address = new_email()
    user_id = await register(client, address)
    assert (await client.get("/api/v1/me")).json()["emailVerified"] is None

    [mail] = mails_to(settings, address)  # sent by the sign-up
    assert mail["Subject"] == CONFIRM
    assert link_of(mail).startswith(f"{settings.public_url}/auth/verify-email?token=")
    raw = token_of(mail)

    # The table holds the digest, never the token.
    stored = await rows(
        engine,
        "select token, expires - now() at time zone 'utc' from verification_tokens where identifier = :i",
        i=f"verify-email:{address}",
    )
    assert [r[0] for r in stored] == [digest(raw)]
    assert 23.9 * 3600 < stored[0][1].total_seconds() <= 24 * 3600
    assert await rows(engine, "select 1 from verification_tokens where token = :t", t=raw) == []

    [log] = await rows(
        engine,
        'select "userId", "to", subject, template, status, "resendId", metadata from email_logs '
        'where "userId" = :u',
        u=user_id,
    )
    assert log[:6] == (user_id, address, "Confirm your email address", "VERIFY_EMAIL", "SENT", None)
    assert log[6]["purpose"] == "verify-email" and log[6]["provider"] == "local"
    assert raw not in str(log[6])

    asked = await client.post(f"{API}/verify-email/request")  # another link, if that one got lost
    assert asked.status_code == 202, asked.text
    assert [m["Subject"] for m in mails_to(settings, address)] == [CONFIRM, CONFIRM]

    confirmed = await client.post(f"{API}/verify-email/confirm", json={"token": raw})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["emailVerified"] is not None
    assert (
        await rows(engine, "select 1 from verification_tokens where identifier like :i", i=f"%{address}")
        == []
    )

    again = await client.post(f"{API}/verify-email/confirm", json={"token": raw})
    assert again.status_code == 400 and error_code(again) == "invalid_token"
    already = await client.post(f"{API}/verify-email/request")
    assert already.status_code == 409 and error_code(already) == "already_verified"


async def test_verify_email_request_needs_a_session(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{API}/verify-email/request")).status_code == 401


async def test_bad_tokens_all_look_the_same(
    client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    address = new_email()
    await register(client, address)
    await client.post(f"{API}/verify-email/request")
    verify_token = token_of(mails_to(settings, address)[-1])
    await client.post(f"{API}/magic-link/request", json={"email": address})
    magic_token = token_of(mails_to(settings, address)[-1])
    await rows_exec(
        engine,
        "update verification_tokens set expires = expires - interval '24 hours 1 second' "
        "where identifier = :i",
        i=f"magic-link:{address}",
    )

    unknown = await client.post(f"{API}/magic-link/confirm", json={"token": "nope"})
    expired = await client.post(f"{API}/magic-link/confirm", json={"token": magic_token})
    wrong_purpose = await client.post(f"{API}/magic-link/confirm", json={"token": verify_token})
    assert unknown.status_code == expired.status_code == wrong_purpose.status_code == 400
    assert unknown.json() == expired.json() == wrong_purpose.json()
    assert error_code(unknown) == "invalid_token"
    # A token shown to the wrong endpoint is not used up by it.
    assert (await client.post(f"{API}/verify-email/confirm", json={"token": verify_token})).status_code == 200
    missing = await client.post(f"{API}/magic-link/confirm", json={})
    assert missing.status_code == 422


# ----------------------------------------------------------------------------- magic link


async def test_magic_link_signs_in(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, settings: Settings
) -> None:
    address = new_email()
    user_id = await register(client, address, login=False)

    asked = await client.post(f"{API}/magic-link/request", json={"email": address.upper()})
    assert asked.status_code == 202
    [mail] = mails_to(settings, address, SIGN_IN)
    assert link_of(mail).startswith(f"{settings.public_url}/auth/magic-link?token=")

    # Opened in another browser: that browser is signed in, exactly as by a password login.
    signed_in = await other_client.post(f"{API}/magic-link/confirm", json={"token": token_of(mail)})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["id"] == user_id and "expires" in signed_in.json()
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = await other_client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["emailVerified"] is not None

    again = await client.post(f"{API}/magic-link/confirm", json={"token": token_of(mail)})
    assert again.status_code == 400 and error_code(again) == "invalid_token"


async def test_an_admin_magic_link_sign_in_is_audited(
    client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    address = new_email()
    user_id = await register(client, address, login=False)
    await rows_exec(engine, "update users set role = 'ADMIN' where id = :u", u=user_id)
    await client.post(f"{API}/magic-link/request", json={"email": address})
    signed_in = await client.post(
        f"{API}/magic-link/confirm", json={"token": token_of(mails_to(settings, address, SIGN_IN)[0])}
    )
    assert signed_in.status_code == 200
    audited = await rows(engine, 'select action, metadata from audit_logs where "userId" = :u', u=user_id)
    assert audited == [("ADMIN_LOGIN", {"method": "magic-link"})]


async def test_using_one_link_retires_the_others(client: httpx.AsyncClient, settings: Settings) -> None:
    address = new_email()
    await register(client, address, login=False)
    for _ in range(2):
        await client.post(f"{API}/magic-link/request", json={"email": address})
    first, second = (token_of(m) for m in mails_to(settings, address, SIGN_IN))
    assert (await client.post(f"{API}/magic-link/confirm", json={"token": second})).status_code == 200
    assert (await client.post(f"{API}/magic-link/confirm", json={"token": first})).status_code == 400


@pytest.mark.parametrize("endpoint", ["magic-link/request", "password/reset/request"])
async def test_no_account_enumeration(
    client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine, endpoint: str
) -> None:
    known, unknown = new_email(), new_email()
    await register(client, known, login=False)
    before = len(mails_to(settings, known))

    for_known = await client.post(f"{API}/{endpoint}", json={"email": known})
    for_unknown = await client.post(f"{API}/{endpoint}", json={"email": unknown})
    assert for_known.status_code == for_unknown.status_code == 202
    assert for_known.json() == for_unknown.json()
    assert len(mails_to(settings, known)) == before + 1 and mails_to(settings, unknown) == []
    assert (
        await rows(engine, "select 1 from verification_tokens where identifier like :i", i=f"%{unknown}")
        == []
    )

    malformed = await client.post(f"{API}/{endpoint}", json={"email": "not-an-email"})
    assert malformed.status_code == 422 and error_code(malformed) == "validation_error"


async def test_mail_requests_are_rate_limited_per_address_and_ip(client: httpx.AsyncClient) -> None:
    address = new_email()
    for _ in range(5):
        assert (await client.post(f"{API}/magic-link/request", json={"email": address})).status_code == 202
    limited = await client.post(f"{API}/magic-link/request", json={"email": address})
    assert limited.status_code == 429 and error_code(limited) == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    # Another kind of mail for the same address is counted apart.
    assert (await client.post(f"{API}/password/reset/request", json={"email": address})).status_code == 202

    for _ in range(19):  # 20 per IP per hour, whatever the addresses
        assert (await client.post(f"{API}/password/reset/request", json={"email": new_email()})).is_success
    by_ip = await client.post(f"{API}/password/reset/request", json={"email": new_email()})
    assert by_ip.status_code == 429 and "retry-after" in by_ip.headers


# ----------------------------------------------------------------------------- passwords


async def test_password_change_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    address = new_email()
    await register(client, address)
    login = await other_client.post(f"{API}/login", json={"email": address, "password": PASSWORD})
    assert login.status_code == 200

    wrong = await client.post(
        f"{API}/password/change",
        json={"currentPassword": "not my password", "newPassword": "second password"},
    )
    assert wrong.status_code == 400 and error_code(wrong) == "wrong_password"
    weak = await client.post(
        f"{API}/password/change", json={"currentPassword": PASSWORD, "newPassword": "short"}
    )
    assert weak.status_code == 422
    changed = await client.post(
        f"{API}/password/change", json={"currentPassword": PASSWORD, "newPassword": "second password"}
    )
    assert changed.status_code == 204, changed.text

    assert (await client.get("/api/v1/me")).status_code == 200
    assert (await other_client.get("/api/v1/me")).status_code == 401
    old = await other_client.post(f"{API}/login", json={"email": address, "password": PASSWORD})
    new = await other_client.post(f"{API}/login", json={"email": address, "password": "second password"})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_password_change_needs_a_session(client: httpx.AsyncClient) -> None:
    body = {"currentPassword": PASSWORD, "newPassword": "second password"}
    assert (await client.post(f"{API}/password/change", json=body)).status_code == 401


async def test_password_reset_ends_every_session(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    address = new_email()
    user_id = await register(client, address)

    assert (
        await other_client.post(f"{API}/password/reset/request", json={"email": address})
    ).status_code == 202
    [mail] = mails_to(settings, address, RESET)
    assert link_of(mail).startswith(f"{settings.public_url}/auth/reset-password?token=")
    raw = token_of(mail)

    weak = await other_client.post(
        f"{API}/password/reset/confirm", json={"token": raw, "newPassword": "short"}
    )
    assert weak.status_code == 422
    reset = await other_client.post(
        f"{API}/password/reset/confirm", json={"token": raw, "newPassword": "brand new password"}
    )
    assert reset.status_code == 204, reset.text

    assert (await client.get("/api/v1/me")).status_code == 401  # the old cookie is dead
    assert await rows(engine, 'select 1 from sessions where "userId" = :u', u=user_id) == []
    login = await client.post(f"{API}/login", json={"email": address, "password": "brand new password"})
    assert login.status_code == 200 and login.json()["user"]["emailVerified"] is not None

    again = await other_client.post(
        f"{API}/password/reset/confirm", json={"token": raw, "newPassword": "another password"}
    )
    assert again.status_code == 400 and error_code(again) == "invalid_token"
    templates = await rows(engine, 'select template from email_logs where "userId" = :u', u=user_id)
    assert sorted(t for (t,) in templates) == ["PASSWORD_RESET", "VERIFY_EMAIL"]  # the sign-up's, this one


# ----------------------------------------------------------------------------- service level


async def test_a_token_is_used_once_under_concurrency(engine: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(engine)
    address = new_email()
    async with transaction(sessionmaker) as session:
        raw = await verification.issue_token(session, verification.MAGIC_LINK, address)

    async def use() -> str | None:
        try:
            async with transaction(sessionmaker) as session:
                return await verification.consume_token(session, verification.MAGIC_LINK, raw)
        except SpikelandError:
            return None

    outcomes = await asyncio.gather(*(use() for _ in range(5)))
    assert outcomes.count(address) == 1 and outcomes.count(None) == 4


# ----------------------------------------------------------------------------- Resend


async def test_mails_go_through_resend_when_configured(
    settings: Settings, database_url: str, engine: AsyncEngine
) -> None:
    with resend_peer() as peer:
        signup_id, resend_id = f"re_{secrets.token_hex(6)}", f"re_{secrets.token_hex(6)}"
        peer.answers.append((200, {"id": signup_id}))
        peer.answers.append((200, {"id": resend_id}))
        peer.answers.append((422, {"statusCode": 422, "name": "validation_error", "message": "Bad `to`."}))
        configured = settings.model_copy(
            update={"resend_api_key": SecretStr("re_live_key"), "resend_api_url": peer.url}
        )
        app = create_app(configured, database_url=database_url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                address = new_email()
                user_id = await register(client, address)
                assert (await client.post(f"{API}/verify-email/request")).status_code == 202
                failed = await client.post(f"{API}/magic-link/request", json={"email": address})
                assert failed.status_code == 202  # a refused mail does not change the answer

    _signup, sent, _refused = peer.received
    assert sent.headers["authorization"] == "Bearer re_live_key"
    assert sent.body["to"] == [address] and "/auth/verify-email?token=" in sent.body["text"]
    assert mails_to(settings, address) == []  # nothing went to the local outbox
    logged = await rows(
        engine,
        'select template, status, "resendId" from email_logs where "userId" = :u order by "sentAt"',
        u=user_id,
    )
    assert logged == [
        ("VERIFY_EMAIL", "SENT", signup_id),
        ("VERIFY_EMAIL", "SENT", resend_id),
        ("MAGIC_LINK", "FAILED", None),
    ]
