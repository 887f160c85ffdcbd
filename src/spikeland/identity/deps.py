"""Who is calling: the session cookie or an API key, and what role they need."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import BackgroundTasks, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.deps import Sessions, client_ip
from spikeland.core.errors import Forbidden, Unauthorized
from spikeland.core.logging import log_user, route_template
from spikeland.core.openapi import raises
from spikeland.core.security import Keyring, load_keyring
from spikeland.db.session import DbSession, DbUnit, RequestDb
from spikeland.identity import api_keys
from spikeland.identity.key_cache import KeyCache
from spikeland.identity.models import User, UserRole
from spikeland.identity.password_costs import DecoyCost
from spikeland.identity.service import resolve_session, resolve_session_owner
from spikeland.integrations.deps import EmailDep
from spikeland.integrations.email import EmailSender
from spikeland.ops import audit
from spikeland.ops.emails import OutgoingEmail, deliver
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
    """For the dependencies below that have the request already (handlers take ``SettingsDep``)."""
    settings: Settings = request.app.state.settings
    return settings


# Made on first use, once per app (async, so two first requests on the event loop cannot both).
async def keyring_of(request: Request) -> Keyring:
    keyring: Keyring | None = getattr(request.app.state, "keyring", None)
    if keyring is None:
        keyring = request.app.state.keyring = load_keyring(settings_of(request))
    return keyring


KeyringDep = Annotated[Keyring, Depends(keyring_of)]


async def _decoy_cost(request: Request) -> DecoyCost:
    """The app's ``DecoyCost`` (``app.state.decoy_cost``), made on first use (async: on the event
    loop, two first requests cannot both make one)."""
    decoy: DecoyCost | None = getattr(request.app.state, "decoy_cost", None)
    if decoy is None:
        decoy = request.app.state.decoy_cost = DecoyCost(settings_of(request).bcrypt_cost)
    return decoy


DecoyCostDep = Annotated[DecoyCost, Depends(_decoy_cost)]


@dataclass(frozen=True)
class Mail:
    """Sends a route's mail once the request's transaction has committed (see ``ops.emails``)."""

    background: BackgroundTasks
    sessionmaker: async_sessionmaker[AsyncSession]
    sender: EmailSender

    def after_commit(self, outgoing: OutgoingEmail | None) -> None:
        if outgoing is not None:
            self.background.add_task(deliver, self.sessionmaker, self.sender, outgoing)


async def _mail(background: BackgroundTasks, sessionmaker: Sessions, sender: EmailDep) -> Mail:
    return Mail(background, sessionmaker, sender)


def key_cache_of(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


MailDep = Annotated[Mail, Depends(_mail)]


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


def _presented_key(request: Request) -> str | None:
    """The API key in ``Authorization: Bearer``; None without the header; 401 for another scheme."""
    authorization = request.headers.get("authorization", "")
    if not authorization:
        return None
    if not authorization.lower().startswith(BEARER):
        raise Unauthorized("Unsupported authorization scheme.", code="invalid_credentials")
    return authorization[len(BEARER) :].strip()


def _invalid_key() -> Unauthorized:
    return Unauthorized("The API key is not valid.", code="invalid_api_key")


def _invalid_session(response: Response, settings: Settings) -> Unauthorized:
    """401 that also deletes the dead cookie: the error carries the header itself, since FastAPI
    drops the ``response`` parameter's headers when the handler raises."""
    clearing = Response()
    clear_session_cookie(clearing, settings)
    return Unauthorized(
        "The session has expired or is not valid.",
        code="invalid_session",
        headers={"set-cookie": clearing.headers["set-cookie"]},
    )


_PRINCIPAL = "spikeland.principal"  # in the request's scope: its caller, once looked up
_CALLER = "spikeland.caller"  # the same, by id (Caller)


async def _principal(request: Request, response: Response, session: AsyncSession) -> Principal | None:
    """The caller, looked up once per request whichever of the dependencies below asks first.

    Each dependency below does the lookup itself rather than depending on the one before it: each
    level of dependency costs FastAPI's solver about as much Python as a statement (measured)."""
    scope = request.scope
    if _PRINCIPAL in scope:
        principal: Principal | None = scope[_PRINCIPAL]
        return principal
    principal = scope[_PRINCIPAL] = await _look_up(request, response, session)
    if principal is not None:
        log_user.set(principal.user.id)  # what an error logged in this request is about (ops)
    return principal


async def _look_up(request: Request, response: Response, session: AsyncSession) -> Principal | None:
    settings = settings_of(request)
    presented = _presented_key(request)
    if presented is not None:
        key = await api_keys.authenticate(session, presented)
        if key is None:
            raise _invalid_key()
        return Principal(user=key.user, via="api_key", api_key_id=key.api_key_id)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    active = await resolve_session(session, token, settings.session_days)
    if active is None:
        raise _invalid_session(response, settings)
    if active.renewed:
        set_session_cookie(response, settings, token)
    return Principal(user=active.user, via="session", session_id=active.session_id)


async def optional_principal(request: Request, response: Response, session: DbSession) -> Principal | None:
    return await _principal(request, response, session)


@dataclass(frozen=True)
class Caller:
    """Who is calling, by id: for routes that need no more than the user's id (no user row loaded).

    The same credentials and the same rules as ``Principal`` (``optional_principal``), looked up on
    the request's driver connection (``RequestDb.reader``), or not at all for a cached API key.
    """

    user_id: str
    via: Literal["session", "api_key"]
    session_id: str | None = None
    api_key_id: str | None = None


async def _caller(request: Request, response: Response, db: RequestDb) -> Caller | None:
    """The caller by id, looked up once per request (on the request's driver connection: the
    API-key cache, else one read; a session's sliding expiry is its one write)."""
    scope = request.scope
    if _CALLER in scope:
        known: Caller | None = scope[_CALLER]
        return known
    scope[_CALLER] = caller = await _identify(request, response, db)
    if caller is not None:
        log_user.set(caller.user_id)
    return caller


async def _identify(request: Request, response: Response, db: RequestDb) -> Caller | None:
    settings = settings_of(request)
    presented = _presented_key(request)
    if presented is not None:
        key = await api_keys.identify(db.reader, db.write, presented, key_cache_of(request))
        if key is None:
            raise _invalid_key()
        return Caller(user_id=key.user_id, via="api_key", api_key_id=key.api_key_id)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    active = await resolve_session_owner(db.reader, db.write, token, settings.session_days)
    if active is None:
        raise _invalid_session(response, settings)
    if active.renewed:
        set_session_cookie(response, settings, token)
    return Caller(user_id=active.user_id, via="session", session_id=active.session_id)


async def require_caller(request: Request, response: Response, db: DbUnit) -> Caller:
    """``require_principal`` for routes that read on the driver (``db.query``): the same checks and
    errors, without loading the user's row. One dependency rather than an optional one under a
    required one: each level of dependency costs about as much Python as a statement (measured)."""
    caller = await _caller(request, response, db)
    if caller is None:
        raise _not_authenticated()
    return caller


async def optional_caller(request: Request, response: Response, db: DbUnit) -> Caller | None:
    """``optional_principal`` by id: None for a signed-out visitor, 401 for a bad credential."""
    return await _caller(request, response, db)


def caller_id(caller: Caller | None) -> str | None:
    return caller.user_id if caller else None


def _not_authenticated() -> Unauthorized:
    return Unauthorized("Sign in to do this.", code="not_authenticated")


async def require_principal(request: Request, response: Response, session: DbSession) -> Principal:
    principal = await _principal(request, response, session)
    if principal is None:
        raise _not_authenticated()
    return principal


async def require_user(request: Request, response: Response, session: DbSession) -> User:
    return (await require_principal(request, response, session)).user


async def require_admin(request: Request, response: Response, session: DbSession) -> User:
    user = await require_user(request, response, session)
    if user.role not in (UserRole.ADMIN, UserRole.SUPER_ADMIN):
        raise Forbidden("Admin access required.", code="admin_required")
    return user


async def require_super_admin(request: Request, response: Response, session: DbSession) -> User:
    user = await require_user(request, response, session)
    if user.role != UserRole.SUPER_ADMIN:
        raise Forbidden("Super-admin access required.", code="super_admin_required")
    return user


async def by_user(request: Request, response: Response, db: DbUnit) -> str:
    """The caller's user id, as the ``by`` of ``core.deps.rate_limit`` (per-user limits): by id, on
    the driver, so a limited route does not load the user's row for it."""
    return (await require_caller(request, response, db)).user_id


def user_id_of(principal: Principal | None) -> str | None:
    """The caller's user id, None when signed out (routes that anyone may call)."""
    return principal.user.id if principal else None


# What each dependency can answer, for the OpenAPI document (core.openapi): a bad credential is
# refused even where signing in is optional; a missing one only where it is required.
_BAD_CREDENTIALS = {"invalid_session": 401, "invalid_api_key": 401, "invalid_credentials": 401}
_REQUIRED = {**_BAD_CREDENTIALS, "not_authenticated": 401}
raises(optional_principal, **_BAD_CREDENTIALS)
raises(optional_caller, **_BAD_CREDENTIALS)
for _required in (require_caller, require_principal, require_user, by_user):
    raises(_required, **_REQUIRED)
raises(require_admin, **_REQUIRED, admin_required=403)
raises(require_super_admin, **_REQUIRED, super_admin_required=403)

OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
CurrentCaller = Annotated[Caller, Depends(require_caller)]
OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
CurrentUser = Annotated[User, Depends(require_user)]
AdminUser = Annotated[User, Depends(require_admin)]
SuperAdminUser = Annotated[User, Depends(require_super_admin)]


VISITOR_COOKIE = "spike_visitor_id"  # the analytics visitor id, as the original's web client keeps it
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


async def _visitor_id(request: Request) -> str | None:
    """The anonymous visitor id the browser presents (header ``X-Visitor-Id`` or the cookie);
    None when absent or malformed."""
    found = request.headers.get("x-visitor-id") or request.cookies.get(VISITOR_COOKIE)
    return found if found and _VISITOR.match(found) else None


VisitorId = Annotated[str | None, Depends(_visitor_id)]


def audited(action: str, *, with_query: bool = False) -> Any:
    """A route dependency that writes ``action`` to the audit trail (``ops.audit``) once the route
    succeeded, in the route's transaction (after the endpoint, before the commit: the entry stands
    or falls with the change). The actor is the signed-in admin, the target the route's first path
    parameter, the metadata the method and route template (and with ``with_query`` the query: the
    filters of a delete by filter); a failed route records nothing.

    For admin routes whose service records a richer entry itself (role changes, user deletion,
    vouchers, token adjustments) this is not used; tests/test_audit_coverage.py holds every other
    admin route that changes something to having it."""

    async def audit_after(request: Request, actor: AdminUser, session: DbSession) -> AsyncIterator[None]:
        yield
        metadata: dict[str, Any] = {"method": request.method, "route": route_template(request.scope)}
        if with_query and request.query_params:
            metadata["query"] = dict(request.query_params)
        target = next(iter(request.path_params.values()), None)
        await audit.record(
            session,
            actor_id=actor.id,
            action=action,
            target_id=target,
            metadata=metadata,
            ip=client_ip(request),
        )

    audit_after.__name__ = f"audited_{action.lower()}"
    audit_after.__dict__["audit_action"] = action  # read by the coverage test
    return Depends(audit_after, scope="function")
