"""Email verification, magic-link sign-in, password change and reset (``/api/v1/auth/...``).

Mails go out after the request's commit (a background task, see ``spikeland.ops.emails``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import Field

from spikeland.core.deps import ClientIp, Limiter, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema
from spikeland.db.session import DbSession
from spikeland.identity import admin, verification
from spikeland.identity.deps import CurrentPrincipal, CurrentUser, MailDep, VisitorId, set_session_cookie
from spikeland.identity.schemas import Accepted, Email, GivenPassword, NewPassword, SessionOut, UserOut

router = APIRouter(route_class=Route, tags=["auth"])

Token = Annotated[str, Field(min_length=1, max_length=512)]


class TokenRequest(RequestSchema):
    token: Token


class EmailRequest(RequestSchema):
    email: Email


class PasswordChangeRequest(RequestSchema):
    current_password: GivenPassword
    new_password: NewPassword


class PasswordResetRequest(RequestSchema):
    token: Token
    new_password: NewPassword


# The same answer whether or not the address has an account.
_IF_ACCOUNT = "If an account uses this address, an email is on its way."


@router.post(
    "/auth/verify-email/request",
    openapi_extra=errors(already_verified=409),
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def request_verification(
    user: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    ip: ClientIp,
    mail: MailDep,
) -> Accepted:
    outgoing = await verification.request_verification(session, settings, limiter, user, ip)
    mail.after_commit(outgoing)
    return Accepted(message="A confirmation link is on its way.")


@router.post("/auth/verify-email/confirm", openapi_extra=errors(invalid_token=400), response_model=UserOut)
async def confirm_email(body: TokenRequest, session: DbSession) -> UserOut:
    return UserOut.model_validate(await verification.confirm_email(session, body.token))


@router.post("/auth/magic-link/request", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def request_magic_link(
    body: EmailRequest,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    ip: ClientIp,
    mail: MailDep,
) -> Accepted:
    outgoing = await verification.request_magic_link(session, settings, limiter, body.email, ip)
    mail.after_commit(outgoing)
    return Accepted(message=_IF_ACCOUNT)


@router.post("/auth/magic-link/confirm", openapi_extra=errors(invalid_token=400), response_model=SessionOut)
async def confirm_magic_link(
    body: TokenRequest,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    ip: ClientIp,
    visitor: VisitorId,
) -> SessionOut:
    signed_in = await verification.confirm_magic_link(session, settings, body.token, visitor)
    await admin.record_admin_login(session, signed_in.user, ip, method="magic-link")
    set_session_cookie(response, settings, signed_in.token)
    return SessionOut(user=UserOut.model_validate(signed_in.user), expires=signed_in.expires)


@router.post(
    "/auth/password/change", openapi_extra=errors(wrong_password=400), status_code=status.HTTP_204_NO_CONTENT
)
async def change_password(
    body: PasswordChangeRequest,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
) -> None:
    await verification.change_password(
        session,
        settings,
        limiter,
        principal.user,
        body.current_password,
        body.new_password,
        keep_session_id=principal.session_id,
    )


@router.post("/auth/password/reset/request", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: EmailRequest,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    ip: ClientIp,
    mail: MailDep,
) -> Accepted:
    outgoing = await verification.request_password_reset(session, settings, limiter, body.email, ip)
    mail.after_commit(outgoing)
    return Accepted(message=_IF_ACCOUNT)


@router.post(
    "/auth/password/reset/confirm",
    openapi_extra=errors(invalid_token=400),
    status_code=status.HTTP_204_NO_CONTENT,
)
async def reset_password(
    body: PasswordResetRequest, session: DbSession, settings: SettingsDep, limiter: Limiter
) -> None:
    await verification.reset_password(session, settings, limiter, body.token, body.new_password)
