"""Sign-up, sign-in, sign-out and the current user."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from spikeland.core.ratelimit import RateLimiter
from spikeland.db.session import DbSession
from spikeland.identity import admin, service
from spikeland.identity.deps import (
    SESSION_COOKIE,
    CurrentUser,
    clear_session_cookie,
    client_ip,
    set_session_cookie,
    settings_of,
)
from spikeland.identity.password_costs import DecoyCost
from spikeland.identity.schemas import LoginRequest, SessionOut, SignupRequest, UserOut

router = APIRouter(tags=["auth"])


@router.post("/auth/signup", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def signup(body: SignupRequest, request: Request, session: DbSession) -> UserOut:
    user = await service.signup(session, settings_of(request), body, ip=client_ip(request))
    return UserOut.model_validate(user)


def _decoy_cost(request: Request) -> DecoyCost:
    """The app's ``DecoyCost`` (``app.state.decoy_cost``), made on first use."""
    decoy: DecoyCost | None = getattr(request.app.state, "decoy_cost", None)
    if decoy is None:
        decoy = request.app.state.decoy_cost = DecoyCost(settings_of(request).bcrypt_cost)
    return decoy


@router.post("/auth/login", response_model=SessionOut)
async def login(body: LoginRequest, request: Request, response: Response, session: DbSession) -> SessionOut:
    settings = settings_of(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    user = await service.authenticate(
        session, settings, limiter, _decoy_cost(request), body.email, body.password, client_ip(request)
    )
    token, expires = await service.create_session(session, user.id, settings.session_days)
    await admin.record_admin_login(session, user, client_ip(request))
    set_session_cookie(response, settings, token)
    return SessionOut(user=UserOut.model_validate(user), expires=expires)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, session: DbSession) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await service.end_session(session, token)
    clear_session_cookie(response, settings_of(request))


@router.get("/me", response_model=UserOut, tags=["me"])
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
