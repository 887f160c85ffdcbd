"""Signing in and out of the console, and its static files."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

import plotly
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from spikeland.console.web import ADMIN_ROLES, HERE, ConsoleAction, ConsoleRoute, render
from spikeland.core.deps import ClientIp, Limiter, SettingsDep
from spikeland.core.errors import NotFound, SpikelandError
from spikeland.db.session import DbSession
from spikeland.identity import admin as identity_admin
from spikeland.identity import service as identity
from spikeland.identity.deps import (
    SESSION_COOKIE,
    DecoyCostDep,
    VisitorId,
    clear_session_cookie,
    set_session_cookie,
)

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
LOGIN_COOKIE = "spikeland_console_login"  # the sign-in form's double-submit token (no session yet)
STATIC = {
    "console.css": (HERE / "static" / "console.css", "text/css"),
    "console.js": (HERE / "static" / "console.js", "text/javascript"),
    "favicon.svg": (HERE / "static" / "favicon.svg", "image/svg+xml"),
    "plotly.min.js": (Path(plotly.__file__).parent / "package_data" / "plotly.min.js", "text/javascript"),
}


def _next(value: str | None) -> str:
    """Where to go after signing in: a console page only (never another site)."""
    if value and value.startswith("/admin") and not value.startswith("/admin/login") and "//" not in value:
        return value
    return "/admin"


def _login_page(
    request: Request,
    next_url: str,
    error: str | None = None,
    email: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", status_code, login_token=token, next=next_url, error=error, email=email
    )
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/admin")
    return response


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, _next(next))


@router.post("/login")
async def login(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    decoy: DecoyCostDep,
    ip: ClientIp,
    visitor: VisitorId,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    """Sign in with the platform's account; only an admin gets a session here."""
    target = _next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        return _login_page(request, target, "The sign-in form expired; try again.", email, 400)
    try:
        user = await identity.authenticate(session, settings, limiter, decoy, email, password, ip)
    except SpikelandError as exc:
        # A wrong password is the sign-in page again with a message (a 401 would want a
        # WWW-Authenticate scheme this form is not); a rate limit keeps its 429.
        return _login_page(request, target, exc.message, email, 429 if exc.status_code == 429 else 200)
    if user.role not in ADMIN_ROLES:
        return render(request, "error.html", 403, status=403, message="This account is not an admin.")
    token, _ = await identity.create_session(session, user.id, settings.session_days, visitor)
    await identity_admin.record_admin_login(session, user, ip)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings, token)
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
async def logout(
    request: Request, admin: ConsoleAction, session: DbSession, settings: SettingsDep
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await identity.end_session(session, token)
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session_cookie(response, settings)
    return response


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    found = STATIC.get(name)
    if found is None:
        raise NotFound("No such file.")
    return FileResponse(found[0], media_type=found[1], headers={"Cache-Control": "public, max-age=3600"})
