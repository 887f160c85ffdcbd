"""Users: search and browse (keyset pages), a user's detail (balance, transactions, images, jobs,
sessions, API keys), and the actions — role (super admins), token adjustment with a reason, deletion.
Every action goes through the domain's service, which checks the role and writes the audit entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    SuperAction,
    choice,
    done,
    one_time_id,
    page_url,
    render,
)
from spikeland.core.deps import ClientIp
from spikeland.core.errors import ValidationFailed
from spikeland.db.session import DbSession
from spikeland.identity import admin as identity_admin
from spikeland.identity.models import ApiKey, Session, UserRole
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import remove_objects
from spikeland.tokens import admin as tokens_admin
from spikeland.tokens import service as tokens_service
from spikeland.tokens.costs import ADJUST_MAX, ADJUST_MIN
from spikeland.tokens.models import TokenTransaction, UserTokenBalance

router = APIRouter(prefix="/admin/users", route_class=ConsoleRoute, include_in_schema=False)
ROLES = [(role.value, role.value) for role in UserRole]


@router.get("", response_class=HTMLResponse)
async def users(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    q: str | None = None,
    role: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    wanted = choice(UserRole, role)
    page = await identity_admin.list_users(session, admin.user, query=q, role=wanted, limit=50, cursor=cursor)
    ids = [user.id for user in page.items]
    balances = (
        dict(
            (
                await session.execute(
                    select(UserTokenBalance.user_id, UserTokenBalance.balance).where(
                        UserTokenBalance.user_id.in_(ids)
                    )
                )
            ).all()
        )
        if ids
        else {}
    )
    return render(
        request,
        "users.html",
        users=page.items,
        balances=balances,
        values={"q": q, "role": role},
        roles=ROLES,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{user_id}", response_class=HTMLResponse)
async def user(request: Request, user_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    found = await identity_admin.get_user(session, admin.user, user_id)
    balance = await tokens_service.get_balance(session, user_id)  # as the user sees it
    transactions = await session.scalars(
        select(TokenTransaction)
        .where(TokenTransaction.user_id == user_id)
        .order_by(TokenTransaction.created_at.desc(), TokenTransaction.id.desc())
        .limit(20)
    )
    images = await session.scalars(
        select(EnhancedImage)
        .where(EnhancedImage.user_id == user_id)
        .order_by(EnhancedImage.created_at.desc(), EnhancedImage.id.desc())
        .limit(12)
    )
    image_count = await session.scalar(
        select(func.count()).select_from(EnhancedImage).where(EnhancedImage.user_id == user_id)
    )
    jobs = await session.scalars(
        select(ImageEnhancementJob)
        .where(ImageEnhancementJob.user_id == user_id)
        .order_by(ImageEnhancementJob.created_at.desc(), ImageEnhancementJob.id.desc())
        .limit(20)
    )
    sessions = await session.scalars(
        select(Session).where(Session.user_id == user_id).order_by(Session.expires.desc()).limit(20)
    )
    keys = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
    )
    return render(
        request,
        "user.html",
        user=found,
        balance=balance,
        transactions=list(transactions),
        images=list(images),
        image_count=image_count,
        jobs=list(jobs),
        sessions=list(sessions),
        keys=list(keys),
        roles=[role.value for role in UserRole],
        adjust_id=one_time_id(),
        adjust_min=ADJUST_MIN,
        adjust_max=ADJUST_MAX,
    )


@router.post("/{user_id}/role")
async def change_role(
    user_id: str,
    admin: SuperAction,
    session: DbSession,
    ip: ClientIp,
    role: Annotated[UserRole, Form()],
) -> RedirectResponse:
    changed = await identity_admin.change_role(session, admin.user, user_id, role, ip)
    return done(f"/admin/users/{user_id}", f"{changed.email} is now {changed.role.value}.")


@router.post("/{user_id}/tokens")
async def adjust_tokens(
    user_id: str,
    admin: ConsoleAction,
    session: DbSession,
    ip: ClientIp,
    amount: Annotated[int, Form(ge=ADJUST_MIN, le=ADJUST_MAX)],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    action_id: Annotated[str, Form(min_length=8, max_length=64)],
) -> RedirectResponse:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Give a reason for the adjustment.", code="validation_error")
    movement = await tokens_admin.adjust(
        session, admin.user, user_id, amount, reason, ip, f"console:{action_id}"
    )
    return done(
        f"/admin/users/{user_id}", f"Adjusted by {amount:+d}: the balance is now {movement.balance_after}."
    )


@router.post("/{user_id}/delete")
async def delete_user(
    user_id: str,
    admin: ConsoleAction,
    session: DbSession,
    ip: ClientIp,
    storage: StorageDep,
    background: BackgroundTasks,
    confirm_email: Annotated[str, Form(max_length=320)],
) -> RedirectResponse:
    target = await identity_admin.get_user(session, admin.user, user_id)
    if (target.email or "").lower() != confirm_email.strip().lower():
        raise ValidationFailed(
            "Type the user's email address to confirm the deletion.", code="confirmation_required"
        )
    files = await identity_admin.delete_user(session, admin.user, user_id, ip)
    background.add_task(remove_objects, storage, files)
    return done("/admin/users", f"{confirm_email.strip()} was deleted.")  # files go after the commit
