"""OAuth sign-in end to end: our app (ASGI) against a real OpenID provider and a GitHub peer on loopback."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland import keys
from spikeland.app import create_app
from spikeland.core.security import DecryptionError, Keyring, load_keyring, new_key_spec, parse_keys
from spikeland.identity import oauth
from spikeland.settings import Settings
from tests.identity.oidc_peer import GitHubPeer, OidcPeer, run_github_peer, run_oidc_peer

PUBLIC = "http://test"
# The mock provider (Authlib's server side) uses an API Authlib deprecates; the warning is not ours.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcPeer]:
    with run_oidc_peer() as peer:
        yield peer


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubPeer]:
    with run_github_peer() as peer:
        yield peer


@pytest.fixture
def oauth_settings(settings: Settings, oidc: OidcPeer, github: GitHubPeer) -> Settings:
    return settings.model_copy(
        update={
            "public_url": PUBLIC,
            "google_client_id": "spikeland-test",
            "google_client_secret": SecretStr("google-secret"),
            "google_metadata_url": oidc.metadata_url,
            "github_client_id": github.client_id,
            "github_client_secret": SecretStr(github.client_secret),
            "github_oauth_url": f"{github.base_url}/login/oauth",
            "github_api_url": github.base_url,
        }
    )


async def _client_for(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            yield client


@pytest.fixture
async def web(oauth_settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on our app, with Google and GitHub configured against the loopback peers."""
    async for client in _client_for(oauth_settings, database_url):
        yield client


def new_email() -> str:
    return f"oauth-{secrets.token_hex(4)}@example.com"


async def google_sign_in(
    web: httpx.AsyncClient, oidc: OidcPeer, sub: str, claims: dict[str, Any], next_path: str = "/"
) -> httpx.Response:
    await oidc.set_user(sub, claims)
    started = await web.get("/api/v1/auth/oauth/google/start", params={"next": next_path})
    assert started.status_code == 302, started.text
    callback = await oidc.authorize(started.headers["location"], sub)
    return await web.get(callback)


async def register(web: httpx.AsyncClient, engine: AsyncEngine, email: str, password: str) -> str:
    """A password sign-up, not signed in (sign-up answers 202 without the user); the new user's id."""
    created = await web.post("/api/v1/auth/signup", json={"email": email, "password": password})
    assert created.status_code == 202, created.text
    async with engine.connect() as conn:
        found = await conn.execute(text("select id from users where email = :e"), {"e": email})
        return str(found.scalar_one())


async def account_row(engine: AsyncEngine, provider: str, account_id: str) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    'select "userId", type, access_token, refresh_token, id_token, token_type '
                    'from accounts where provider = :p and "providerAccountId" = :a'
                ),
                {"p": provider, "a": account_id},
            )
        ).one_or_none()


# ----------------------------------------------------------------------------- Google (OIDC)


async def test_google_sign_in_encrypts_tokens_and_rotation_moves_them(
    web: httpx.AsyncClient,
    oidc: OidcPeer,
    settings: Settings,
    engine: AsyncEngine,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sub, email = f"g-{secrets.token_hex(4)}", new_email()
    claims = {"email": email, "email_verified": True, "name": "Ada Lovelace", "picture": "https://img/ada"}
    await oidc.set_user(sub, claims)

    started = await web.get("/api/v1/auth/oauth/google/start", params={"next": "/gallery?tab=1"})
    assert started.status_code == 302
    authorize = urlsplit(started.headers["location"])
    query = parse_qs(authorize.query)
    assert authorize.netloc == urlsplit(oidc.base_url).netloc
    assert query["redirect_uri"] == [f"{PUBLIC}/api/v1/auth/oauth/google/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    flow_cookie = started.headers["set-cookie"].lower()
    assert (
        "httponly" in flow_cookie
        and "max-age=600" in flow_cookie
        and "path=/api/v1/auth/oauth" in flow_cookie
    )

    callback = await oidc.authorize(started.headers["location"], sub)
    finished = await web.get(callback)
    assert finished.status_code == 303, finished.text
    assert finished.headers["location"] == f"{PUBLIC}/gallery?tab=1"
    code = parse_qs(urlsplit(callback).query)["code"][0]

    me = (await web.get("/api/v1/me")).json()
    assert me["email"] == email and me["name"] == "Ada Lovelace" and me["image"] == "https://img/ada"
    assert me["emailVerified"] is not None

    row = await account_row(engine, "google", sub)
    assert row is not None and row.userId == me["id"] and row.type == "oidc"
    keyring = load_keyring(settings)
    secrets_at_rest = (row.access_token, row.refresh_token, row.id_token)
    plain = [keyring.decrypt(value) for value in secrets_at_rest]
    assert all(v.startswith(f"enc:v1:{keyring.current}:") for v in secrets_at_rest)
    assert plain[2].count(".") == 2  # the ID token is a JWT

    # Nothing secret reached our logs: not the tokens, the code, nor our session cookie. (The peers
    # run in this process too, on their own threads; what they log is the provider's business.)
    main = threading.main_thread().ident
    logged = "\n".join(r.getMessage() for r in caplog.records if r.thread == main)
    assert "/oauth/google/callback" in logged
    for value in [*plain, code, web.cookies["spikeland_session"]]:
        assert value not in logged

    # Rotation: a new current key; every token re-encrypted under it, opening to the same plaintext.
    rotated = Keyring(keys={**keyring.keys, **parse_keys(new_key_spec("rot2")).keys}, current="rot2")
    assert await keys.rotate(session, rotated, batch_size=2) >= 3
    after = (
        await session.execute(
            text('select access_token, refresh_token, id_token from accounts where "providerAccountId" = :a'),
            {"a": sub},
        )
    ).one()
    assert all(rotated.key_id_of(v) == "rot2" for v in after)
    assert [rotated.decrypt(v) for v in after] == plain
    with pytest.raises(DecryptionError):
        keyring.decrypt(after[0])  # the old keyring does not know the new key
    assert await keys.count_pending(session, rotated) == 0


async def test_returning_user_is_found_and_tokens_are_refreshed(
    web: httpx.AsyncClient, oidc: OidcPeer, engine: AsyncEngine, settings: Settings
) -> None:
    sub, email = f"g-{secrets.token_hex(4)}", new_email()
    claims = {"email": email, "email_verified": True}
    assert (await google_sign_in(web, oidc, sub, claims)).status_code == 303
    first = await account_row(engine, "google", sub)
    web.cookies.clear()

    assert (await google_sign_in(web, oidc, sub, claims)).status_code == 303
    second = await account_row(engine, "google", sub)
    assert second.userId == first.userId
    keyring = load_keyring(settings)
    assert keyring.decrypt(second.access_token) != keyring.decrypt(first.access_token)
    assert (await web.get("/api/v1/me")).json()["id"] == first.userId


async def test_verified_email_links_to_the_existing_user(
    web: httpx.AsyncClient, oidc: OidcPeer, engine: AsyncEngine
) -> None:
    email = new_email()
    user_id = await register(web, engine, email, "correct horse")
    async with engine.begin() as conn:  # as if the address had been verified by mail
        await conn.execute(text('update users set "emailVerified" = now() where id = :u'), {"u": user_id})

    sub = f"g-{secrets.token_hex(4)}"
    finished = await google_sign_in(web, oidc, sub, {"email": email.upper(), "email_verified": True})
    assert finished.status_code == 303, finished.text
    assert (await account_row(engine, "google", sub)).userId == user_id
    assert (await web.get("/api/v1/me")).json()["id"] == user_id
    login = await web.post("/api/v1/auth/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200  # a verified owner keeps their password


async def test_admin_oauth_sign_in_is_audited(
    web: httpx.AsyncClient, oidc: OidcPeer, engine: AsyncEngine
) -> None:
    email = new_email()
    user_id = await register(web, engine, email, "admin pass")
    async with engine.begin() as conn:
        await conn.execute(
            text("""update users set role = 'ADMIN', "emailVerified" = now() where id = :u"""), {"u": user_id}
        )
    sub = f"g-{secrets.token_hex(4)}"
    assert (await google_sign_in(web, oidc, sub, {"email": email, "email_verified": True})).status_code == 303
    async with engine.connect() as conn:
        logged = (
            (
                await conn.execute(
                    text(
                        """select metadata from audit_logs where "userId" = :u and action = 'ADMIN_LOGIN'"""
                    ),
                    {"u": user_id},
                )
            )
            .scalars()
            .all()
        )
    assert {"method": "oauth:google"} in logged


async def test_linking_to_an_unverified_signup_voids_its_password(
    web: httpx.AsyncClient, oidc: OidcPeer, oauth_settings: Settings, database_url: str
) -> None:
    """Whoever registered an address they never proved may not be its owner (pre-registration hijack)."""
    email = new_email()
    credentials = {"email": email, "password": "squatter pw"}
    async for squatter in _client_for(oauth_settings, database_url):
        assert (await squatter.post("/api/v1/auth/signup", json=credentials)).status_code == 202
        signed_in = await squatter.post("/api/v1/auth/login", json=credentials)
        assert signed_in.status_code == 200

        sub = f"g-{secrets.token_hex(4)}"
        claims = {"email": email, "email_verified": True}
        assert (await google_sign_in(web, oidc, sub, claims)).status_code == 303
        me = (await web.get("/api/v1/me")).json()
        assert me["id"] == signed_in.json()["user"]["id"] and me["emailVerified"] is not None
        assert (await squatter.get("/api/v1/me")).status_code == 401  # their session was revoked
        assert (await squatter.post("/api/v1/auth/login", json=credentials)).status_code == 401


async def test_unverified_email_of_an_existing_user_is_refused(
    web: httpx.AsyncClient, oidc: OidcPeer, engine: AsyncEngine
) -> None:
    email = new_email()
    await web.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse"})
    sub = f"g-{secrets.token_hex(4)}"
    refused = await google_sign_in(web, oidc, sub, {"email": email, "email_verified": False})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "oauth_email_unverified"
    assert await account_row(engine, "google", sub) is None
    assert "spikeland_session" not in web.cookies


async def test_unverified_email_of_a_new_user_creates_an_unverified_user(
    web: httpx.AsyncClient, oidc: OidcPeer
) -> None:
    email = new_email()
    finished = await google_sign_in(web, oidc, f"g-{secrets.token_hex(4)}", {"email": email})
    assert finished.status_code == 303
    me = (await web.get("/api/v1/me")).json()
    assert me["email"] == email and me["emailVerified"] is None


async def test_tampered_or_missing_state_is_400(
    web: httpx.AsyncClient, oidc: OidcPeer, oauth_settings: Settings, database_url: str
) -> None:
    sub = f"g-{secrets.token_hex(4)}"
    await oidc.set_user(sub, {"email": new_email(), "email_verified": True})
    started = await web.get("/api/v1/auth/oauth/google/start")
    callback = urlsplit(await oidc.authorize(started.headers["location"], sub))
    query = parse_qs(callback.query)
    code, state = query["code"][0], query["state"][0]
    path = callback.path

    tampered = await web.get(path, params={"code": code, "state": state[:-2] + "xx"})
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "oauth_state_invalid"
    assert (await web.get(path, params={"code": code})).json()["error"]["code"] == "oauth_state_invalid"
    other_provider = await web.get(
        "/api/v1/auth/oauth/github/callback", params={"code": code, "state": state}
    )
    assert other_provider.json()["error"]["code"] == "oauth_state_invalid"

    async for browser in _client_for(oauth_settings, database_url):  # a browser without the cookie
        stolen = await browser.get(path, params={"code": code, "state": state})
        assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "oauth_state_invalid"
        browser.cookies.set("spikeland_oauth_google", "enc:v1:x:garbage", path="/api/v1/auth/oauth")
        forged = await browser.get(path, params={"code": code, "state": state})
        assert forged.json()["error"]["code"] == "oauth_state_invalid"

    # The real browser, untouched, still completes.
    assert (await web.get(path, params={"code": code, "state": state})).status_code == 303


async def test_denied_and_bad_code_are_400(web: httpx.AsyncClient, oidc: OidcPeer) -> None:
    sub = f"g-{secrets.token_hex(4)}"
    await oidc.set_user(sub, {"email": new_email()})
    started = await web.get("/api/v1/auth/oauth/google/start")
    denied = await web.get(await oidc.authorize(started.headers["location"], sub, deny=True))
    assert denied.status_code == 400
    assert denied.json()["error"] == {
        "code": "oauth_denied",
        "message": "The sign-in was not completed.",
        "details": {"error": "access_denied"},
    }

    started = await web.get("/api/v1/auth/oauth/google/start")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    bad = await web.get("/api/v1/auth/oauth/google/callback", params={"code": "not-a-code", "state": state})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "oauth_exchange_failed"


async def test_open_redirects_are_refused(web: httpx.AsyncClient, oidc: OidcPeer) -> None:
    sub = f"g-{secrets.token_hex(4)}"
    finished = await google_sign_in(web, oidc, sub, {"email": new_email()}, next_path="//evil.example/x")
    assert finished.headers["location"] == f"{PUBLIC}/"
    for bad in ("https://evil.example", "/\\evil.example", "relative", "/ok\r\nx", "", None):
        assert oauth.safe_next(bad) == "/"
    assert oauth.safe_next("/albums/1?x=y#z") == "/albums/1?x=y#z"


async def test_unknown_unconfigured_and_unreachable_providers(
    web: httpx.AsyncClient, client: httpx.AsyncClient, oauth_settings: Settings, database_url: str
) -> None:
    for path in ("/api/v1/auth/oauth/facebook/start", "/api/v1/auth/oauth/facebook/callback"):
        missing = await web.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "oauth_provider_not_found"
    # The default test app configures no provider at all.
    assert (await client.get("/api/v1/auth/oauth/google/start")).status_code == 404

    closed = oauth_settings.model_copy(update={"google_metadata_url": "http://127.0.0.1:9/.well-known/x"})
    async for browser in _client_for(closed, database_url):
        down = await browser.get("/api/v1/auth/oauth/google/start")
        assert down.status_code == 503 and down.json()["error"]["code"] == "oauth_provider_unavailable"


# ----------------------------------------------------------------------------- GitHub


async def test_github_sign_in_through_the_peer(
    web: httpx.AsyncClient, github: GitHubPeer, engine: AsyncEngine, settings: Settings
) -> None:
    account_id, email = secrets.randbelow(10**9), new_email()
    github.sign_in_as(
        {
            "id": account_id,
            "login": "octo",
            "name": None,
            "avatar_url": "https://avatars/octo",
            "email": None,
        },
        [
            {"email": "old@example.com", "primary": False, "verified": True},
            {"email": email, "primary": True, "verified": True},
        ],
    )
    started = await web.get("/api/v1/auth/oauth/github/start")
    assert parse_qs(urlsplit(started.headers["location"]).query)["scope"] == ["read:user user:email"]
    finished = await web.get(await github.authorize(started.headers["location"]))
    assert finished.status_code == 303, finished.text

    me = (await web.get("/api/v1/me")).json()
    assert me["email"] == email and me["name"] == "octo" and me["emailVerified"] is not None
    row = await account_row(engine, "github", str(account_id))
    assert row.type == "oauth" and row.id_token is None and row.refresh_token is None
    assert load_keyring(settings).decrypt(row.access_token).startswith("gho_")


async def test_github_identity_mapping() -> None:
    profile = {"id": 7, "login": "octo", "name": "Octo Cat", "avatar_url": "a", "email": "public@example.com"}
    verified = oauth.github_identity(profile, [{"email": "p@example.com", "primary": True, "verified": True}])
    assert verified == oauth.Identity("github", "7", "p@example.com", True, "Octo Cat", "a")

    unverified_primary = oauth.github_identity(
        profile,
        [
            {"email": "p@example.com", "primary": True, "verified": False},
            {"email": "other@example.com", "primary": False, "verified": True},
        ],
    )
    assert (unverified_primary.email, unverified_primary.email_verified) == ("p@example.com", False)

    no_grant = oauth.github_identity(profile, [])
    assert (no_grant.email, no_grant.email_verified) == ("public@example.com", False)
    nothing = oauth.github_identity({"id": 8, "login": "x"}, {"message": "Not Found"})
    assert (nothing.email, nothing.name, nothing.image) == (None, "x", None)

    with pytest.raises(oauth.OAuthFailed):
        oauth.github_identity({"login": "no-id"}, [])

    # What PostgreSQL would refuse (NUL) is cleaned from names; an address needing change is none.
    odd = oauth.github_identity(
        {"id": 9, "name": " A\x00da ", "avatar_url": 5},
        [{"email": "Ada@Example.com\x00", "primary": True, "verified": True}],
    )
    assert (odd.name, odd.image, odd.email, odd.email_verified) == ("Ada", None, None, False)
    upper = oauth.oidc_identity("google", {"sub": "s", "email": " Ada@Example.COM", "email_verified": "true"})
    assert (upper.email, upper.email_verified) == ("ada@example.com", True)
    with pytest.raises(oauth.OAuthFailed):
        oauth.oidc_identity("google", {"sub": "bad\x00sub"})


async def test_github_without_email_grant_refuses_to_link(
    web: httpx.AsyncClient, github: GitHubPeer, engine: AsyncEngine
) -> None:
    email = new_email()
    await web.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse"})
    github.sign_in_as({"id": secrets.randbelow(10**9), "login": "mallory", "email": email}, None)
    started = await web.get("/api/v1/auth/oauth/github/start")
    refused = await web.get(await github.authorize(started.headers["location"]))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "oauth_email_unverified"


def test_tokens_keep_what_the_provider_did_not_resend() -> None:
    keyring = parse_keys(new_key_spec("t1"))
    first = oauth.Tokens(access_token="a1", refresh_token="r1", id_token="i1", expires_at=5)
    again = replace(first, access_token="a2", refresh_token=None, id_token=None)
    values = oauth._token_values(keyring, again, refresh=True)
    assert "refresh_token" not in values and "id_token" not in values
    assert keyring.decrypt(values["access_token"]) == "a2"
    created = oauth._token_values(keyring, again, refresh=False)
    assert created["refresh_token"] is None and created["id_token"] is None
