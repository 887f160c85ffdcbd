"""No secret reaches the logs: a real server (``spikeland serve`` at DEBUG, uvicorn access log on)
goes through sign-up, login, API keys, a magic link, a password reset and a Google sign-in, and
everything it printed is searched for every secret that crossed it."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from spikeland.core.security import digest
from tests.conftest import create_database, drop_database
from tests.identity.oidc_peer import OidcPeer, run_oidc_peer
from tests.support.mail import RESET, SIGN_IN, mails_to, token_of

# Slow: a real `spikeland serve` process and an OIDC peer for one full flow.
pytestmark = pytest.mark.slow

PASSWORD = "log hygiene password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcPeer]:
    with run_oidc_peer() as peer:
        yield peer


@pytest.fixture
def server(server_url: str, oidc: OidcPeer, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The real server on its own database; yields (base URL, log file, data dir)."""
    name = f"spikeland_logs_{secrets.token_hex(3)}"
    url = asyncio.run(create_database(server_url, name))
    port, log = free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")} | {
        "SPIKELAND_DATABASE_URL": url,
        "SPIKELAND_DATA_DIR": str(tmp_path / "data"),
        "SPIKELAND_LOG_LEVEL": "DEBUG",
        "SPIKELAND_BCRYPT_COST": "4",
        "SPIKELAND_COOKIE_SECURE": "false",
        "SPIKELAND_PUBLIC_URL": base,
        "SPIKELAND_GOOGLE_CLIENT_ID": "spikeland-logs",
        "SPIKELAND_GOOGLE_CLIENT_SECRET": "google-secret-for-logs",
        "SPIKELAND_GOOGLE_METADATA_URL": oidc.metadata_url,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spikeland", "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, log.read_text()
                asyncio.run(asyncio.sleep(0.05))
            yield base, log, tmp_path / "data"
        finally:
            proc.terminate()
            proc.wait(30)
            asyncio.run(drop_database(server_url, name))


async def test_a_full_flow_leaves_no_secret_in_the_logs(
    server: tuple[str, Path, Path], oidc: OidcPeer
) -> None:
    base, log, data_dir = server
    email = f"logs-{secrets.token_hex(4)}@example.com"
    secrets_seen: list[str] = [PASSWORD, "google-secret-for-logs"]
    async with httpx.AsyncClient(base_url=base) as web:
        assert (
            await web.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        ).status_code == 202
        login = await web.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        cookie = web.cookies["spikeland_session"]
        secrets_seen += [cookie, digest(cookie)]

        created = await web.post("/api/v1/api-keys", json={"name": "ci"})
        key = created.json()["key"]
        secrets_seen += [key, digest(key)]
        async with httpx.AsyncClient(base_url=base) as script:
            assert (
                await script.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            ).status_code == 200
            # A secret in a query string must not survive into the access log either.
            await script.get(f"/api/v1/me?token={key}&code=oauth-code-in-query")
            assert (
                await script.get("/api/v1/me", headers={"Authorization": "Bearer sk_live_wrong"})
            ).status_code == 401

        settings_view = type("S", (), {"data_dir": data_dir})
        assert (await web.post("/api/v1/auth/magic-link/request", json={"email": email})).status_code == 202
        assert (
            await web.post("/api/v1/auth/password/reset/request", json={"email": email})
        ).status_code == 202
        for _ in range(100):
            mails = mails_to(settings_view, email)  # type: ignore[arg-type]
            if len(mails) >= 3:  # the sign-up's confirmation, the magic link, the reset
                break
            await asyncio.sleep(0.05)
        tokens = [token_of(mail) for mail in mails]
        secrets_seen += tokens + [digest(t) for t in tokens]
        by_subject = {str(m["Subject"]): t for t, m in zip(tokens, mails, strict=True)}
        magic = by_subject[SIGN_IN]
        assert (await web.post("/api/v1/auth/magic-link/confirm", json={"token": magic})).status_code == 200
        secrets_seen.append(web.cookies["spikeland_session"])
        reset = by_subject[RESET]
        new_password = "a brand new password"
        secrets_seen.append(new_password)
        confirm = await web.post(
            "/api/v1/auth/password/reset/confirm", json={"token": reset, "newPassword": new_password}
        )
        assert confirm.status_code == 204

        sub = f"g-{secrets.token_hex(4)}"
        await oidc.set_user(sub, {"email": f"g-{email}", "email_verified": True, "name": "G"})
        started = await web.get("/api/v1/auth/oauth/google/start")
        callback = await oidc.authorize(started.headers["location"], sub)
        query = parse_qs(urlsplit(callback).query)
        secrets_seen += [query["code"][0], query["state"][0]]
        finished = await web.get(callback)
        assert finished.status_code == 303, finished.text
        secrets_seen.append(web.cookies["spikeland_session"])
        assert (await web.post("/api/v1/auth/logout")).status_code == 204

    await asyncio.sleep(0.2)
    logged = log.read_text()
    assert "GET /api/v1/me" in logged and "POST /api/v1/auth/login" in logged, "the access log is on"
    for secret in secrets_seen:
        assert secret not in logged, f"a secret ({secret[:4]}...) reached the logs"
    assert not re.search(r"\$2[aby]\$\d\d\$", logged), "a bcrypt hash reached the logs"
