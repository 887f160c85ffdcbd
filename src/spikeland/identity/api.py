"""Sign-up, sign-in, sign-out and the current user."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from spikeland.db.session import DbSession
from spikeland.identity import admin, service
from spikeland.identity.deps import (
    SESSION_COOKIE,
    CurrentUser,
    clear_session_cookie,
    client_ip,
    limiter_of,
    send_after_commit,
    set_session_cookie,
    settings_of,
)
from spikeland.identity.password_costs import DecoyCost
from spikeland.identity.schemas import Accepted, LoginRequest, SessionOut, SignupRequest, UserOut
from spikeland.identity.signup import CHECK_YOUR_EMAIL, sign_up

router = APIRouter(tags=["auth"])


@router.post("/auth/signup", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def signup(
    body: SignupRequest, request: Request, background: BackgroundTasks, session: DbSession
) -> Accepted:
    """The same answer for a new address and for one that has an account (see ``identity.signup``)."""
    outgoing = await sign_up(session, settings_of(request), limiter_of(request), body, client_ip(request))
    send_after_commit(request, background, outgoing)
    return Accepted(message=CHECK_YOUR_EMAIL)


def _decoy_cost(request: Request) -> DecoyCost:
    """The app's ``DecoyCost`` (``app.state.decoy_cost``), made on first use."""
    decoy: DecoyCost | None = getattr(request.app.state, "decoy_cost", None)
    if decoy is None:
        decoy = request.app.state.decoy_cost = DecoyCost(settings_of(request).bcrypt_cost)
    return decoy


@router.post("/auth/login", response_model=SessionOut)
async def login(body: LoginRequest, request: Request, response: Response, session: DbSession) -> SessionOut:
    settings = settings_of(request)
    user = await service.authenticate(
        session,
        settings,
        limiter_of(request),
        _decoy_cost(request),
        body.email,
        body.password,
        client_ip(request),
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
