"""Sign-in with GitHub and Google: ``/auth/oauth/{provider}/start`` and ``.../callback``.

``start`` redirects the browser to the provider and sets a sealed flow cookie (10 minutes,
HttpOnly, SameSite=Lax so it comes back on the provider's top-level redirect, scoped to these
routes). ``callback`` checks that cookie against ``state``, exchanges the code, signs the user in
(our session cookie) and answers 303 to ``settings.public_url`` + the ``next`` path given to
``start`` (a same-site path; anything else becomes ``/``). Failures are JSON errors: 404
``oauth_provider_not_found``, 400 ``oauth_state_invalid`` / ``oauth_denied`` /
``oauth_exchange_failed`` / ``oauth_identity_incomplete``, 409 ``oauth_email_unverified`` /
``oauth_retry``, 503 ``oauth_provider_unavailable``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from spikeland.core.deps import ClientIp, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity import admin, oauth, service
from spikeland.identity.deps import KeyringDep, VisitorId, set_session_cookie, settings_of
from spikeland.settings import Settings

router = APIRouter(route_class=Route, tags=["auth"])

FLOW_COOKIE_PATH = "/api/v1/auth/oauth"  # where app.py mounts these routes
# Reaching the provider (its discovery document) can fail at the start already.
_START_ERRORS = {
    "oauth_provider_not_found": 404,
    "oauth_provider_unavailable": 503,
    "oauth_exchange_failed": 400,
}
_CALLBACK_ERRORS = {
    **_START_ERRORS,
    **dict.fromkeys(
        ("oauth_denied", "oauth_failed", "oauth_identity_incomplete", "oauth_state_invalid"), 400
    ),
    **dict.fromkeys(("oauth_retry", "oauth_email_unverified"), 409),
}


def flow_cookie(provider: str) -> str:
    return f"spikeland_oauth_{provider}"


async def providers_of(request: Request) -> dict[str, oauth.Provider]:
    # Built once per app: Google's discovery document and signing keys are cached on the provider.
    providers: dict[str, oauth.Provider] | None = getattr(request.app.state, "oauth_providers", None)
    if providers is None:
        providers = request.app.state.oauth_providers = oauth.configured_providers(settings_of(request))
    return providers


Providers = Annotated[dict[str, oauth.Provider], Depends(providers_of)]


def _callback_url(settings: Settings, provider: str) -> str:
    # From the configured public URL, never the Host header, so a forged host cannot redirect codes.
    return f"{settings.public_url.rstrip('/')}{FLOW_COOKIE_PATH}/{provider}/callback"


@router.get(
    "/auth/oauth/{provider}/start",
    response_class=RedirectResponse,
    status_code=302,
    openapi_extra=errors(**_START_ERRORS),
    name="oauth_start",
)
async def start(
    provider: str,
    providers: Providers,
    keyring: KeyringDep,
    settings: SettingsDep,
    next_path: Annotated[str | None, Query(alias="next", max_length=512)] = None,
) -> RedirectResponse:
    chosen = oauth.get_provider(providers, provider)
    flow = oauth.new_flow(chosen.name, next_path)
    url = await oauth.authorization_url(chosen, _callback_url(settings, chosen.name), flow)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        flow_cookie(chosen.name),
        oauth.seal_flow(keyring, flow),
        max_age=oauth.STATE_TTL_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=FLOW_COOKIE_PATH,
    )
    return response


@router.get(
    "/auth/oauth/{provider}/callback",
    response_class=RedirectResponse,
    status_code=303,
    openapi_extra=errors(**_CALLBACK_ERRORS),
    name="oauth_callback",
)
async def callback(
    provider: str,
    request: Request,  # the flow cookie, whose name is the provider's (set by start)
    session: DbSession,
    providers: Providers,
    keyring: KeyringDep,
    settings: SettingsDep,
    ip: ClientIp,
    visitor: VisitorId,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    chosen = oauth.get_provider(providers, provider)
    user, flow = await oauth.complete(
        session,
        keyring,
        chosen,
        _callback_url(settings, chosen.name),
        sealed=request.cookies.get(flow_cookie(chosen.name)),
        state=state,
        code=code,
        error=error,
        ip=ip,
    )
    token, _expires = await service.create_session(session, user.id, settings.session_days, visitor)
    await admin.record_admin_login(session, user, ip, method=f"oauth:{chosen.name}")
    response = RedirectResponse(settings.public_url.rstrip("/") + flow.next_path, status_code=303)
    set_session_cookie(response, settings, token)
    response.delete_cookie(
        flow_cookie(chosen.name),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=FLOW_COOKIE_PATH,
    )
    return response
