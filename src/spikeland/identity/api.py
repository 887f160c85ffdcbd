"""Sign-up, sign-in, sign-out and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Response, status

from spikeland.core.deps import ClientIp, Limiter, SettingsDep
from spikeland.core.errors import Unauthorized
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.wire import Rows
from spikeland.db.session import DbSession, DbUnit
from spikeland.identity import admin, reads, service
from spikeland.identity.deps import (
    SESSION_COOKIE,
    CurrentCaller,
    DecoyCostDep,
    MailDep,
    VisitorId,
    clear_session_cookie,
    set_session_cookie,
)
from spikeland.identity.schemas import Accepted, LoginRequest, SessionOut, SignupRequest, UserOut
from spikeland.identity.signup import CHECK_YOUR_EMAIL, sign_up

router = APIRouter(route_class=Route, tags=["auth"])


@router.post("/auth/signup", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def signup(
    body: SignupRequest,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    ip: ClientIp,
    mail: MailDep,
) -> Accepted:
    """The same answer for a new address and for one that has an account (see ``identity.signup``)."""
    outgoing = await sign_up(session, settings, limiter, body, ip)
    mail.after_commit(outgoing)
    return Accepted(message=CHECK_YOUR_EMAIL)


@router.post("/auth/login", openapi_extra=errors(invalid_credentials=401), response_model=SessionOut)
async def login(
    body: LoginRequest,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    decoy: DecoyCostDep,
    ip: ClientIp,
    visitor: VisitorId,
) -> SessionOut:
    user = await service.authenticate(session, settings, limiter, decoy, body.email, body.password, ip)
    token, expires = await service.create_session(session, user.id, settings.session_days, visitor)
    await admin.record_admin_login(session, user, ip)
    set_session_cookie(response, settings, token)
    return SessionOut(user=UserOut.model_validate(user), expires=expires)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    # Left out of the OpenAPI, as before: the session cookie is how one signs in, not an input.
    token: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> None:
    if token:
        await service.end_session(session, token)
    clear_session_cookie(response, settings)


@router.get("/me", response_model=UserOut, tags=["me"])
async def me(caller: CurrentCaller, db: DbUnit) -> Rows:
    found = await reads.me(db, caller.user_id)
    if found is None:  # deleted while the request was on its way
        raise Unauthorized("Sign in to do this.", code="not_authenticated")
    return Rows(found)
