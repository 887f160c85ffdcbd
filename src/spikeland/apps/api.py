"""Apps over HTTP (``apps.service`` has the rules): the owner's apps, the public directory, forks,
requirements and monetization models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.apps import domains, service
from spikeland.apps.models import App
from spikeland.apps.schemas import (
    AppCreate,
    AppDetail,
    AppOut,
    AppPage,
    AppUpdate,
    MonetizationIn,
    MonetizationOut,
    RequirementIn,
    RequirementOut,
    RequirementStatusChange,
    RequirementUpdate,
    StatusChange,
)
from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import Page, PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller, KeyringDep, OptionalCaller

router = APIRouter(route_class=Route, prefix="/apps", tags=["apps"])
_NOT_FOUND = errors(app_not_found=404)


async def _detail(session: AsyncSession, app: App) -> AppDetail:
    requirements, models = await service.contents(session, app.id)
    return AppDetail(
        **AppOut.model_validate(app).model_dump(),
        requirements=[RequirementOut.model_validate(r) for r in requirements],
        monetization_models=[MonetizationOut.model_validate(m) for m in models],
    )


def _page(page: Page[App]) -> AppPage:
    return AppPage(items=[AppOut.model_validate(a) for a in page.items], next_cursor=page.next_cursor)


@router.post("", response_model=AppDetail, status_code=status.HTTP_201_CREATED)
async def create_app(body: AppCreate, caller: CurrentCaller, session: DbSession) -> AppDetail:
    """A new DRAFT app with its requirements and monetization models."""
    return await _detail(session, await service.create(session, caller.user_id, body))


@router.get("", response_model=AppPage)
async def my_apps(
    caller: CurrentCaller, session: DbSession, limit: PageLimit = 50, cursor: PageCursor = None
) -> AppPage:
    """The caller's apps (all but deleted), newest first."""
    return _page(await service.list_mine(session, caller.user_id, cursor=cursor, limit=limit))


@router.get("/directory", response_model=AppPage)
async def directory(session: DbSession, limit: PageLimit = 50, cursor: PageCursor = None) -> AppPage:
    """Everyone's ACTIVE apps, newest first (no sign-in needed; never drafts)."""
    return _page(await service.directory(session, cursor=cursor, limit=limit))


@router.get("/{app_id}", response_model=AppDetail, openapi_extra=_NOT_FOUND)
async def get_app(app_id: str, caller: OptionalCaller, session: DbSession) -> AppDetail:
    """An ACTIVE app, or one of the caller's own."""
    return await _detail(
        session, await service.get_visible(session, app_id, caller.user_id if caller else None)
    )


@router.patch("/{app_id}", response_model=AppOut, openapi_extra=_NOT_FOUND)
async def update_app(app_id: str, body: AppUpdate, caller: CurrentCaller, session: DbSession) -> AppOut:
    app = await service.update_app(
        session, app_id, caller.user_id, name=body.name, description=body.description
    )
    return AppOut.model_validate(app)


@router.post(
    "/{app_id}/status", response_model=AppOut, openapi_extra=errors(app_not_found=404, app_transition=409)
)
async def change_status(app_id: str, body: StatusChange, caller: CurrentCaller, session: DbSession) -> AppOut:
    """DRAFT → ACTIVE, ACTIVE → ARCHIVED, ARCHIVED → ACTIVE."""
    return AppOut.model_validate(await service.change_status(session, app_id, caller.user_id, body.status))


@router.delete("/{app_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=_NOT_FOUND)
async def delete_app(app_id: str, caller: CurrentCaller, session: DbSession) -> None:
    """Soft delete: gone from every list (forks of it stay)."""
    await service.delete_app(session, app_id, caller.user_id)


@router.post(
    "/{app_id}/fork", response_model=AppDetail, status_code=status.HTTP_201_CREATED, openapi_extra=_NOT_FOUND
)
async def fork_app(app_id: str, caller: CurrentCaller, session: DbSession) -> AppDetail:
    """A DRAFT copy of an ACTIVE app (or one's own) with its requirements and models."""
    return await _detail(session, await service.fork(session, app_id, caller.user_id))


@router.get("/{app_id}/forks", response_model=AppPage, openapi_extra=_NOT_FOUND)
async def forks(
    app_id: str, caller: OptionalCaller, session: DbSession, limit: PageLimit = 50, cursor: PageCursor = None
) -> AppPage:
    """The app's forks one may see (ACTIVE ones, and one's own)."""
    user_id = caller.user_id if caller else None
    return _page(await service.forks_of(session, app_id, user_id, cursor=cursor, limit=limit))


@router.post(
    "/{app_id}/requirements",
    response_model=RequirementOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_NOT_FOUND,
)
async def add_requirement(
    app_id: str, body: RequirementIn, caller: CurrentCaller, session: DbSession
) -> RequirementOut:
    return RequirementOut.model_validate(await service.add_requirement(session, app_id, caller.user_id, body))


@router.patch(
    "/{app_id}/requirements/{requirement_id}",
    response_model=RequirementOut,
    openapi_extra=errors(
        app_not_found=404,
        requirement_not_found=404,
        requirement_version_conflict=409,
        requirement_version_required=422,
    ),
)
async def edit_requirement(
    app_id: str, requirement_id: str, body: RequirementUpdate, caller: CurrentCaller, session: DbSession
) -> RequirementOut:
    """A new text (naming the version it was edited from: 409 when it changed since) or priority."""
    requirement = await service.edit_requirement(
        session,
        app_id,
        caller.user_id,
        requirement_id,
        description=body.description,
        priority=body.priority,
        version=body.version,
    )
    return RequirementOut.model_validate(requirement)


@router.post(
    "/{app_id}/requirements/{requirement_id}/status",
    response_model=RequirementOut,
    openapi_extra=errors(app_not_found=404, requirement_not_found=404, requirement_transition=409),
)
async def move_requirement(
    app_id: str, requirement_id: str, body: RequirementStatusChange, caller: CurrentCaller, session: DbSession
) -> RequirementOut:
    """PENDING → IN_PROGRESS → COMPLETED; PENDING or IN_PROGRESS → REJECTED."""
    requirement = await service.move_requirement(session, app_id, caller.user_id, requirement_id, body.status)
    return RequirementOut.model_validate(requirement)


@router.post(
    "/{app_id}/monetization-models",
    response_model=MonetizationOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_NOT_FOUND,
)
async def add_model(
    app_id: str, body: MonetizationIn, caller: CurrentCaller, session: DbSession
) -> MonetizationOut:
    return MonetizationOut.model_validate(await service.add_model(session, app_id, caller.user_id, body))


@router.delete(
    "/{app_id}/monetization-models/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=errors(app_not_found=404, monetization_model_not_found=404),
)
async def remove_model(app_id: str, model_id: str, caller: CurrentCaller, session: DbSession) -> None:
    await service.remove_model(session, app_id, caller.user_id, model_id)


class DomainIn(RequestSchema):
    domain: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]


class DomainClaim(Schema):
    domain: str
    record_name: str
    record_type: str
    record_value: str
    expires_at: datetime


@router.post(
    "/{app_id}/domain",
    response_model=DomainClaim,
    openapi_extra=errors(app_not_found=404, invalid_domain=422, domain_taken=409),
)
async def claim_domain(
    app_id: str, body: DomainIn, caller: CurrentCaller, session: DbSession, keyring: KeyringDep
) -> DomainClaim:
    """Claim a custom domain: the TXT record to publish before verifying (valid 48 hours)."""
    claim = await domains.claim(session, keyring, app_id, caller.user_id, body.domain)
    return DomainClaim(
        domain=claim.domain,
        record_name=claim.record_name,
        record_type="TXT",
        record_value=claim.record_value,
        expires_at=claim.expires_at,
    )


@router.post(
    "/{app_id}/domain/verify",
    response_model=AppOut,
    openapi_extra=errors(
        app_not_found=404, invalid_domain=422, domain_taken=409, domain_not_verified=409, dns_unavailable=503
    ),
)
async def verify_domain(
    app_id: str,
    body: DomainIn,
    caller: CurrentCaller,
    session: DbSession,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> AppOut:
    """Attach the domain once its TXT record is published."""
    app = await domains.verify(session, keyring, settings, app_id, caller.user_id, body.domain)
    return AppOut.model_validate(app)


@router.delete("/{app_id}/domain", response_model=AppOut, openapi_extra=_NOT_FOUND)
async def release_domain(app_id: str, caller: CurrentCaller, session: DbSession) -> AppOut:
    """Detach the app's domain."""
    return AppOut.model_validate(await domains.release(session, app_id, caller.user_id))
