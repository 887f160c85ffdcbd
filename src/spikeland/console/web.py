"""The console's machinery: pages rendered on the server (Jinja2), who may see them, the CSRF token
every form carries, and what a refused action looks like to a person.

- Who: the platform's own session cookie (``/admin/login`` signs in as the API does), ADMIN or
  SUPER_ADMIN only. Signed out → the sign-in page (and back after it); another role → a 403 page. An
  API key is no way in: the console is for people in a browser.
- CSRF: every form that changes something carries ``csrf_token``, an HMAC of the session's id under
  the keyring's key (nothing stored; it changes with every sign-in). A POST without the right one
  is refused and changes nothing; the origin check (``core.csrf``) stands in front of it as well.
- Errors: a service's refusal (``SpikelandError``) of a form's action rolls the request's
  transaction back (the error passes through the session dependency) and comes back as a message
  on the page the form was on; on a page itself it is an error page with its status.
- Every page is sent with a strict Content-Security-Policy: scripts only from ``/admin/static``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import jinja2
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland import __version__
from spikeland.core.deps import client_ip
from spikeland.core.errors import Forbidden, SpikelandError, Unauthorized, ValidationFailed
from spikeland.core.logging import route_template
from spikeland.core.security import Keyring
from spikeland.db.session import DbSession
from spikeland.identity.deps import KeyringDep, optional_principal
from spikeland.identity.models import User, UserRole
from spikeland.ops import audit

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
templates.env.undefined = jinja2.StrictUndefined  # a missing value is an error, not a blank
FLASH_COOKIE = "spikeland_console_flash"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ADMIN_ROLES = (UserRole.ADMIN, UserRole.SUPER_ADMIN)


class CsrfRefused(Forbidden):
    code = "csrf_token_invalid"


@dataclass(frozen=True)
class Admin:
    """The signed-in admin of a console request."""

    user: User
    session_id: str
    csrf: str

    @property
    def is_super(self) -> bool:
        return self.user.role == UserRole.SUPER_ADMIN


def csrf_token(keyring: Keyring, session_id: str) -> str:
    key = keyring.keys[keyring.current]
    return hmac.new(key, b"console-csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


async def _admin(request: Request, response: Response, session: DbSession, keyring: KeyringDep) -> Admin:
    principal = await optional_principal(request, response, session)
    if principal is None or principal.via != "session" or principal.session_id is None:
        raise Unauthorized("Sign in to use the console.", code="not_authenticated")
    if principal.user.role not in ADMIN_ROLES:
        raise Forbidden("The console is for admins.", code="admin_required")
    admin = Admin(principal.user, principal.session_id, csrf_token(keyring, principal.session_id))
    request.state.console_admin = admin
    return admin


async def _admin_action(request: Request, admin: Annotated[Admin, Depends(_admin)]) -> Admin:
    """The admin of a form's POST whose ``csrf_token`` is right."""
    form = await request.form()
    presented = form.get("csrf_token")
    if not isinstance(presented, str) or not hmac.compare_digest(presented, admin.csrf):
        raise CsrfRefused("The form is out of date or did not come from the console; nothing was changed.")
    return admin


async def _super_admin_action(admin: Annotated[Admin, Depends(_admin_action)]) -> Admin:
    if not admin.is_super:
        raise Forbidden("Only a super admin can do this.", code="super_admin_required")
    return admin


ConsoleAdmin = Annotated[Admin, Depends(_admin)]
ConsoleAction = Annotated[Admin, Depends(_admin_action)]
SuperAction = Annotated[Admin, Depends(_super_admin_action)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with the admin, the navigation, a pending flash message."""
    flash = request.cookies.get(FLASH_COOKIE)
    context = {
        "request": request,
        "admin": getattr(request.state, "console_admin", None),
        "flash": _read_flash(flash),
        **context,
    }
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/admin")
    return response


def _read_flash(value: str | None) -> dict[str, str] | None:
    if not value or ":" not in value:
        return None
    kind, _, text = unquote(value).partition(":")
    return {"kind": "error" if kind == "error" else "ok", "text": text[:500]}


def done(to: str, message: str, *, error: bool = False) -> RedirectResponse:
    """After a form's action: back to a page (303, so a reload does not repeat the POST) with a
    message shown there once."""
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        quote(("error:" if error else "ok:") + message, safe=" :,.'()-/@"),
        max_age=60,
        httponly=True,
        samesite="strict",
        path="/admin",
    )
    return response


def back_to(request: Request, fallback: str = "/admin") -> str:
    """The console page a form was posted from (its Referer, when it is one of ours), else ``fallback``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path.startswith("/admin") and referer.netloc in ("", request.headers.get("host", "")):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return fallback


class ConsoleRoute(APIRoute):
    """A console page or action: HTML in, HTML out, errors shown to a person (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except Unauthorized as exc:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                redirect = RedirectResponse(f"/admin/login?next={quote(target, safe='')}", status_code=303)
                if exc.headers and "set-cookie" in exc.headers:  # a dead session's cookie goes
                    redirect.headers.append("set-cookie", exc.headers["set-cookie"])
                response = redirect
            except (SpikelandError, RequestValidationError) as exc:
                message, status = _explain(exc)
                if request.method == "POST" and not isinstance(exc, CsrfRefused):
                    response = done(back_to(request), message, error=True)
                else:
                    response = render(
                        request, "error.html", status_code=status, message=message, status=status
                    )
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handle


def _explain(exc: SpikelandError | RequestValidationError) -> tuple[str, int]:
    if isinstance(exc, SpikelandError):
        return exc.message, exc.status_code
    problems = []
    for error in exc.errors()[:3]:
        field = ".".join(str(part) for part in error.get("loc", ())[1:]) or "form"
        problems.append(f"{field}: {error.get('msg', 'invalid')}")
    return "Check the form — " + "; ".join(problems), 422


def page_url(request: Request, cursor: str | None) -> str | None:
    """This page's URL with its filters and the next page's cursor (None when there is none)."""
    if cursor is None:
        return None
    return str(request.url.include_query_params(cursor=cursor).replace(scheme="", netloc=""))


def one_time_id() -> str:
    """A form's own id: the action it submits is applied once however often it is sent (a double
    click, a reload), where the service takes an idempotency key."""
    return secrets.token_urlsafe(18)


def day_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """A filter's dates (``YYYY-MM-DD``, whole UTC days, both inclusive; empty is open) as the
    ``[since, until)`` times the domains' list functions take."""
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError:
        raise ValidationFailed("Dates are YYYY-MM-DD.", code="validation_error") from None
    if first is not None and last is not None and first > last:
        raise ValidationFailed("The start is after the end.", code="invalid_date_range")
    since = datetime.combine(first, time(), UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    return since, until


E = TypeVar("E", bound=StrEnum)


def choice(kind: type[E], value: str | None) -> E | None:
    """A filter's choice: empty ("Any") is None; a value not among ``kind``'s is a 422 page."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValidationFailed(f"Unknown {kind.__name__}: {value[:40]}", code="validation_error") from None


async def audited(
    session: AsyncSession,
    request: Request,
    admin: Admin,
    action: str,
    target_id: str | None,
    **metadata: Any,
) -> None:
    """Write ``action`` to the audit trail in the action's own transaction, as the admin API's
    ``audited(...)`` dependency does for the same action (same names: one trail whichever door was
    used); ``via: console`` and the page's route say where it came from."""
    await audit.record(
        session,
        actor_id=admin.user.id,
        action=action,
        target_id=target_id,
        metadata={"via": "console", "route": route_template(request.scope), **metadata},
        ip=client_ip(request),
    )
