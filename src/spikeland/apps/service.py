"""Apps: what users build on the platform, their requirements and how they charge.

Rules:

- **Create** makes the app DRAFT with its requirements and monetization models in one transaction.
- **Who sees what**: the owner sees their apps in any status but DELETED; everyone else sees ACTIVE
  apps only (the public directory lists ACTIVE apps, never drafts). An app one may not see is 404.
- **Status**: DRAFT → ACTIVE (publish), ACTIVE → ARCHIVED, ARCHIVED → ACTIVE (republish); any other
  move is 409 ``app_transition``. **Delete** is soft (DELETED: gone from every list, 404 after).
- **Requirements**: added, re-prioritised, edited — a new text bumps ``version`` and must name the
  version it was edited from: an edit against a version someone has changed since is 409
  ``requirement_version_conflict`` (one conditional UPDATE, so two concurrent edits of one version
  cannot both pass). Status moves PENDING → IN_PROGRESS → COMPLETED, and PENDING or IN_PROGRESS →
  REJECTED; nothing leaves COMPLETED or REJECTED (409 ``requirement_transition``).
- **Monetization models**: FREE has no price, every other type a price above 0; SUBSCRIPTION names
  its interval and no other type may (422); features are a list, never NULL.
- **Fork**: an app the caller may see is copied, with its current requirements (their text and
  priority, back to PENDING and version 1) and models, into a new DRAFT of the caller's with
  ``forkedFrom``; the fork outlives its parent (soft delete keeps the id; a hard delete, with the
  owner's account, sets ``forkedFrom`` NULL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.apps.models import (
    App,
    AppStatus,
    MonetizationModel,
    Requirement,
    RequirementPriority,
    RequirementStatus,
)
from spikeland.apps.schemas import AppCreate, MonetizationIn, RequirementIn
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.pagination import Page, newest_first

APP_MOVES = {
    AppStatus.DRAFT: {AppStatus.ACTIVE},
    AppStatus.ACTIVE: {AppStatus.ARCHIVED},
    AppStatus.ARCHIVED: {AppStatus.ACTIVE},
}
REQUIREMENT_MOVES = {
    RequirementStatus.PENDING: {RequirementStatus.IN_PROGRESS, RequirementStatus.REJECTED},
    RequirementStatus.IN_PROGRESS: {RequirementStatus.COMPLETED, RequirementStatus.REJECTED},
}


class AppNotFound(NotFound):
    code = "app_not_found"


class RequirementNotFound(NotFound):
    code = "requirement_not_found"


class ModelNotFound(NotFound):
    code = "monetization_model_not_found"


class AppTransition(Conflict):
    code = "app_transition"


class RequirementTransition(Conflict):
    code = "requirement_transition"


class VersionConflict(Conflict):
    code = "requirement_version_conflict"


def _visible(user_id: str | None) -> ColumnElement[bool]:
    """What ``user_id`` may see: ACTIVE apps, and their own that are not deleted."""
    if user_id is None:
        return App.status == AppStatus.ACTIVE
    return or_(App.status == AppStatus.ACTIVE, and_(App.user_id == user_id, App.status != AppStatus.DELETED))


async def get_visible(session: AsyncSession, app_id: str, user_id: str | None) -> App:
    app = await session.scalar(select(App).where(App.id == app_id, _visible(user_id)))
    if app is None:
        raise AppNotFound("No such app.")
    return app


async def get_owned(session: AsyncSession, app_id: str, user_id: str, *, lock: bool = False) -> App:
    statement = select(App).where(App.id == app_id, App.user_id == user_id, App.status != AppStatus.DELETED)
    app = await session.scalar(statement.with_for_update() if lock else statement)
    if app is None:
        raise AppNotFound("No such app.")
    return app


def _requirement(app_id: str, item: RequirementIn) -> Requirement:
    return Requirement(app_id=app_id, description=item.description, priority=item.priority)


def _model(app_id: str, item: MonetizationIn) -> MonetizationModel:
    return MonetizationModel(
        app_id=app_id,
        type=item.type,
        price=item.price,
        subscription_interval=item.subscription_interval,
        features=list(item.features),
    )


async def create(session: AsyncSession, user_id: str, body: AppCreate) -> App:
    app = App(name=body.name, description=body.description, user_id=user_id, status=AppStatus.DRAFT)
    session.add(app)
    await session.flush()
    session.add_all([_requirement(app.id, r) for r in body.requirements])
    session.add_all([_model(app.id, m) for m in body.monetization_models])
    await session.flush()
    return app


async def contents(session: AsyncSession, app_id: str) -> tuple[list[Requirement], list[MonetizationModel]]:
    requirements = await session.scalars(
        select(Requirement)
        .where(Requirement.app_id == app_id)
        .order_by(Requirement.created_at, Requirement.id)
    )
    models = await session.scalars(
        select(MonetizationModel)
        .where(MonetizationModel.app_id == app_id)
        .order_by(MonetizationModel.created_at, MonetizationModel.id)
    )
    return list(requirements), list(models)


async def list_mine(session: AsyncSession, user_id: str, *, cursor: str | None, limit: int) -> Page[App]:
    statement = select(App).where(App.user_id == user_id, App.status != AppStatus.DELETED)
    return await newest_first(session, statement, App.created_at, App.id, limit=limit, cursor=cursor)


async def directory(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[App]:
    statement = select(App).where(App.status == AppStatus.ACTIVE)
    return await newest_first(session, statement, App.created_at, App.id, limit=limit, cursor=cursor)


async def forks_of(
    session: AsyncSession, app_id: str, user_id: str | None, *, cursor: str | None, limit: int
) -> Page[App]:
    await get_visible(session, app_id, user_id)
    statement = select(App).where(App.forked_from == app_id, _visible(user_id))
    return await newest_first(session, statement, App.created_at, App.id, limit=limit, cursor=cursor)


async def update_app(
    session: AsyncSession, app_id: str, user_id: str, *, name: str | None, description: str | None
) -> App:
    app = await get_owned(session, app_id, user_id)
    if name is not None:
        app.name = name
    if description is not None:
        app.description = description
    await session.flush()
    return app


async def apply_move(
    session: AsyncSession,
    row: App | Requirement,
    status: Any,
    moves: dict[Any, set[Any]],
    refused: type[Conflict],
) -> None:
    """``row`` to ``status`` when ``moves`` allow it (to where it is already: nothing), else 409."""
    if status == row.status:
        return
    if status not in moves.get(row.status, set()):
        what = "An app" if isinstance(row, App) else "A requirement"
        raise refused(
            f"{what} that is {row.status.value} cannot become {status.value}.",
            details={"from": row.status.value, "to": status.value},
        )
    row.status = status
    await session.flush()


async def change_status(session: AsyncSession, app_id: str, user_id: str, status: AppStatus) -> App:
    app = await get_owned(session, app_id, user_id, lock=True)
    await apply_move(session, app, status, APP_MOVES, AppTransition)
    return app


async def delete_app(session: AsyncSession, app_id: str, user_id: str) -> None:
    app = await get_owned(session, app_id, user_id, lock=True)
    app.status = AppStatus.DELETED
    await session.flush()


async def add_requirement(
    session: AsyncSession, app_id: str, user_id: str, item: RequirementIn
) -> Requirement:
    await get_owned(session, app_id, user_id)
    requirement = _requirement(app_id, item)
    session.add(requirement)
    await session.flush()
    return requirement


async def _own_requirement(
    session: AsyncSession, app_id: str, user_id: str, requirement_id: str
) -> Requirement:
    await get_owned(session, app_id, user_id)
    found = await session.scalar(
        select(Requirement).where(Requirement.id == requirement_id, Requirement.app_id == app_id)
    )
    if found is None:
        raise RequirementNotFound("No such requirement.")
    return found


async def edit_requirement(
    session: AsyncSession,
    app_id: str,
    user_id: str,
    requirement_id: str,
    *,
    description: str | None,
    priority: RequirementPriority | None,
    version: int | None,
) -> Requirement:
    requirement = await _own_requirement(session, app_id, user_id, requirement_id)
    values: dict[str, Any] = {}
    where = Requirement.id == requirement.id
    if priority is not None:
        values["priority"] = priority
    if description is not None:
        if version is None:
            raise ValidationFailed(
                "Say which version of the requirement you edited.", code="requirement_version_required"
            )
        values |= {"description": description, "version": Requirement.version + 1}
        where = where & (Requirement.version == version)
    if values:
        result = await session.execute(
            update(Requirement).where(where).values(updated_at=utcnow(), **values).returning(Requirement.id)
        )
        if result.scalar_one_or_none() is None:  # only a text edit has a condition that can fail
            await session.refresh(requirement)
            raise VersionConflict(
                f"The requirement was changed since version {version}; it is at {requirement.version}.",
                details={"edited": version, "current": requirement.version},
            )
    await session.refresh(requirement)
    return requirement


async def move_requirement(
    session: AsyncSession, app_id: str, user_id: str, requirement_id: str, status: RequirementStatus
) -> Requirement:
    requirement = await _own_requirement(session, app_id, user_id, requirement_id)
    await session.refresh(requirement, with_for_update=True)
    await apply_move(session, requirement, status, REQUIREMENT_MOVES, RequirementTransition)
    return requirement


async def add_model(
    session: AsyncSession, app_id: str, user_id: str, item: MonetizationIn
) -> MonetizationModel:
    await get_owned(session, app_id, user_id)
    model = _model(app_id, item)
    session.add(model)
    await session.flush()
    return model


async def remove_model(session: AsyncSession, app_id: str, user_id: str, model_id: str) -> None:
    await get_owned(session, app_id, user_id)
    model = await session.scalar(
        select(MonetizationModel).where(MonetizationModel.id == model_id, MonetizationModel.app_id == app_id)
    )
    if model is None:
        raise ModelNotFound("No such monetization model.")
    await session.delete(model)
    await session.flush()


async def fork(session: AsyncSession, app_id: str, user_id: str) -> App:
    parent = await get_visible(session, app_id, user_id)
    requirements, models = await contents(session, parent.id)
    copy = App(
        name=parent.name,
        description=parent.description,
        user_id=user_id,
        forked_from=parent.id,
        status=AppStatus.DRAFT,
    )
    session.add(copy)
    await session.flush()
    session.add_all(
        Requirement(app_id=copy.id, description=r.description, priority=r.priority) for r in requirements
    )
    session.add_all(
        MonetizationModel(
            app_id=copy.id,
            type=m.type,
            price=m.price,
            subscription_interval=m.subscription_interval,
            features=list(m.features),
        )
        for m in models
    )
    await session.flush()
    return copy
