"""The platform's moderation of apps (admins, from the console): every app in any status, an
ACTIVE app archived (taken out of the directory) or an ARCHIVED one restored, a custom domain
released. The moves are the owner's own (``service.APP_MOVES``): an admin cannot publish a draft or
revive a deleted app. The caller checks the role and records the audit entry."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.apps.models import App, AppStatus
from spikeland.apps.service import APP_MOVES, AppNotFound, AppTransition, apply_move
from spikeland.core.pagination import Page, newest_first

MODERATION_MOVES = {AppStatus.ARCHIVED, AppStatus.ACTIVE}


async def list_apps(
    session: AsyncSession,
    *,
    status: AppStatus | None,
    query: str | None,
    with_domain: bool,
    cursor: str | None,
    limit: int,
) -> Page[App]:
    statement = select(App)
    if status is not None:
        statement = statement.where(App.status == status)
    if query and query.strip():
        pattern = (
            "%" + query.strip()[:100].replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        statement = statement.where(
            or_(App.name.ilike(pattern, escape="\\"), App.domain.ilike(pattern, escape="\\"))
        )
    if with_domain:
        statement = statement.where(App.domain.is_not(None))
    return await newest_first(session, statement, App.created_at, App.id, limit=limit, cursor=cursor)


async def _locked(session: AsyncSession, app_id: str) -> App:
    app = await session.scalar(select(App).where(App.id == app_id).with_for_update())
    if app is None:
        raise AppNotFound("No such app.")
    return app


async def set_status(session: AsyncSession, app_id: str, status: AppStatus) -> tuple[App, AppStatus]:
    """Archive (ACTIVE → ARCHIVED) or restore (ARCHIVED → ACTIVE); the app and its former status."""
    app = await _locked(session, app_id)
    before = app.status
    if status not in MODERATION_MOVES:
        raise AppTransition(f"Moderation archives or restores; it does not make an app {status.value}.")
    await apply_move(session, app, status, APP_MOVES, AppTransition)
    return app, before


async def release_domain(session: AsyncSession, app_id: str) -> tuple[App, str | None]:
    """Detach the app's custom domain (another app may then claim it); the app and the domain."""
    app = await _locked(session, app_id)
    domain, app.domain = app.domain, None
    await session.flush()
    return app, domain
