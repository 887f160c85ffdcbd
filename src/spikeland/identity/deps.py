"""Who is calling: the session cookie or an API key, and what role they need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Response

from spikeland.core.errors import Forbidden, Unauthorized
from spikeland.db.session import DbSession
from spikeland.identity import api_keys
from spikeland.identity.models import User, UserRole
from spikeland.identity.service import resolve_session
from spikeland.settings import Settings

SESSION_COOKIE = "spikeland_session"
BEARER = "bearer "


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["session", "api_key"]
    session_id: str | None = None
    api_key_id: str | None = None


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str:
    """The caller's address; proxy headers count only when the deployment says it sits behind one."""
    settings = settings_of(request)
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        real_ip = request.headers.get("x-real-ip")
        if real_ip:
            return real_ip.strip()
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )


async def optional_principal(request: Request, response: Response, session: DbSession) -> Principal | None:
    settings = settings_of(request)
    authorization = request.headers.get("authorization", "")
    if authorization:
        if not authorization.lower().startswith(BEARER):
            raise Unauthorized("Unsupported authorization scheme.", code="invalid_credentials")
        key = await api_keys.authenticate(session, authorization[len(BEARER) :].strip())
        if key is None:
            raise Unauthorized("The API key is not valid.", code="invalid_api_key")
        return Principal(user=key.user, via="api_key", api_key_id=key.api_key_id)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    active = await resolve_session(session, token, settings.session_days)
    if active is None:
        clear_session_cookie(response, settings)
        raise Unauthorized("The session has expired or is not valid.", code="invalid_session")
    if active.renewed:
        set_session_cookie(response, settings, token)
    return Principal(user=active.user, via="session", session_id=active.session_id)


async def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("Sign in to do this.", code="not_authenticated")
    return principal


async def require_user(principal: Annotated[Principal, Depends(require_principal)]) -> User:
    return principal.user


async def require_admin(user: Annotated[User, Depends(require_user)]) -> User:
    if user.role not in (UserRole.ADMIN, UserRole.SUPER_ADMIN):
        raise Forbidden("Admin access required.", code="admin_required")
    return user


async def require_super_admin(user: Annotated[User, Depends(require_user)]) -> User:
    if user.role != UserRole.SUPER_ADMIN:
        raise Forbidden("Super-admin access required.", code="super_admin_required")
    return user


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
CurrentUser = Annotated[User, Depends(require_user)]
AdminUser = Annotated[User, Depends(require_admin)]
SuperAdminUser = Annotated[User, Depends(require_super_admin)]
