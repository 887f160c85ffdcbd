import secrets

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.core.security import digest


def new_email() -> str:
    return f"Person-{secrets.token_hex(4)}@Example.com "


async def test_signup_login_me_logout(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    email = new_email()
    created = await client.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse"})
    assert created.status_code == 202, created.text
    assert set(created.json()) == {"status", "message"}  # no user: see test_signup.py

    assert (await client.get("/api/v1/me")).status_code == 401
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200, login.text
    user = login.json()["user"]
    assert user["email"] == email.strip().lower()
    assert len(user["referralCode"]) == 8 and "passwordHash" not in user
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=2592000" in cookie
    token = client.cookies["spikeland_session"]

    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == user["id"]

    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text('select "sessionToken" from sessions where "userId" = :u'), {"u": user["id"]}
            )
        ).scalar_one()
    assert stored == digest(token) and stored != token

    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    client.cookies.set("spikeland_session", token)
    assert (await client.get("/api/v1/me")).json()["error"]["code"] == "invalid_session"


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    email = new_email()
    await client.post("/api/v1/auth/signup", json={"email": email, "password": "long enough"})
    wrong = await client.post("/api/v1/auth/login", json={"email": email, "password": "not it at all"})
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": new_email(), "password": "not it at all"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
