"""Real protocol peers on loopback for the OAuth tests: an OpenID provider and a small GitHub.

``OidcPeer`` runs ``oidc-provider-mock`` (Authlib's authorization server in Flask) on 127.0.0.1 in
a thread. ``GitHubPeer`` serves GitHub's authorize / access_token endpoints (with PKCE checked) and
``/user`` + ``/user/emails``. Both are driven over HTTP, as a browser and GitHub would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import authlib.deprecate
import httpx
import werkzeug.serving

with warnings.catch_warnings():
    # The mock provider still imports authlib.jose, which Authlib 1.9 deprecates: not our code.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock


class _QuietHandler(werkzeug.serving.WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # request lines carry codes and states; keep them out of the test logs


@dataclass
class OidcPeer:
    base_url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    async def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.put(f"{self.base_url}/users/{sub}", json=claims)
            response.raise_for_status()

    async def authorize(self, authorization_url: str, sub: str, *, deny: bool = False) -> str:
        """Submit the provider's consent form as ``sub``; returns where the provider redirects."""
        form = {"action": "deny"} if deny else {"sub": sub}
        async with httpx.AsyncClient() as http:
            response = await http.post(authorization_url, data=form)
        assert response.status_code == 302, response.text
        return response.headers["location"]


@contextmanager
def run_oidc_peer() -> Iterator[OidcPeer]:
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield OidcPeer(base_url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ----------------------------------------------------------------------------- GitHub


@dataclass
class GitHubPeer:
    base_url: str = ""
    client_id: str = "gh-client"
    client_secret: str = "gh-secret"
    # what the next authorization signs in as
    profile: dict[str, Any] = field(default_factory=dict)
    emails: list[dict[str, Any]] | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, tuple[dict[str, Any], list[dict[str, Any]] | None]] = field(default_factory=dict)

    def sign_in_as(self, profile: dict[str, Any], emails: list[dict[str, Any]] | None) -> None:
        self.profile, self.emails = profile, emails

    async def authorize(self, authorization_url: str) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(authorization_url)
        assert response.status_code == 302, response.text
        return response.headers["location"]


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _handler(peer: GitHubPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/login/oauth/authorize":
                code = secrets.token_urlsafe(16)
                peer.codes[code] = {**query, "grant": (dict(peer.profile), peer.emails)}
                self.send_response(302)
                target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                self.send_header("Location", target)
                self.end_headers()
                return
            token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            grant = peer.tokens.get(token)
            if grant is None:
                self._json(401, {"message": "Bad credentials"})
            elif url.path == "/user":
                self._json(200, grant[0])
            elif url.path == "/user/emails" and grant[1] is not None:
                self._json(200, grant[1])
            else:
                self._json(404, {"message": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != "/login/oauth/access_token":
                self._json(404, {"message": "Not Found"})
                return
            issued = peer.codes.pop(form.get("code", ""), None)
            if (
                issued is None
                or form.get("client_id") != peer.client_id
                or form.get("client_secret") != peer.client_secret
                or form.get("redirect_uri") != issued["redirect_uri"]
                or _s256(form.get("code_verifier", "")) != issued.get("code_challenge")
            ):
                # GitHub answers a bad code with 200 and an error body
                self._json(200, {"error": "bad_verification_code"})
                return
            token = "gho_" + secrets.token_urlsafe(24)
            peer.tokens[token] = issued["grant"]
            self._json(200, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})

    return Handler


@contextmanager
def run_github_peer() -> Iterator[GitHubPeer]:
    peer = GitHubPeer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    peer.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
