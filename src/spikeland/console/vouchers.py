"""Vouchers: the list (by status, type, start of the code; keyset pages), a new voucher, a voucher's
page with its redemptions (who, when, what it gave), its edit and its deletion. The growth service
checks every value and writes the VOUCHER_CREATE/UPDATE/DELETE audit entries itself."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from spikeland.console.forms import schema_of, utc_moment
from spikeland.console.web import ConsoleAction, ConsoleAdmin, ConsoleRoute, choice, done, page_url, render
from spikeland.core.deps import ClientIp
from spikeland.core.errors import ValidationFailed
from spikeland.core.pagination import Desc, keyset_page
from spikeland.db.enums import SubscriptionTier
from spikeland.db.session import DbSession
from spikeland.growth import service
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.growth.schemas import VoucherCreate, VoucherUpdate
from spikeland.identity.models import User

router = APIRouter(prefix="/admin/vouchers", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(s.value, s.value) for s in VoucherStatus]
TYPES = [(t.value, t.value.replace("_", " ").lower()) for t in VoucherType]
TIERS = [t.value for t in SubscriptionTier if t != SubscriptionTier.FREE]  # a trial raises the tier
UNITS = {
    VoucherType.FIXED_TOKENS: "tokens",
    VoucherType.PERCENTAGE_BONUS: "%",
    VoucherType.SUBSCRIPTION_TRIAL: "days",
}


def _metadata(raw: str | None, tier: str | None) -> dict[str, Any] | None:
    try:
        metadata = json.loads(raw) if raw and raw.strip() else None
    except ValueError:
        raise ValidationFailed("The metadata is not JSON.", code="validation_error") from None
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailed("The metadata is a JSON object ({...}).", code="validation_error")
    return {**(metadata or {}), "tier": tier} if tier else metadata


def granted(voucher: Voucher, tokens: int) -> str:
    """What one redemption gave, in words."""
    if voucher.type == VoucherType.FIXED_TOKENS:
        return f"{tokens} tokens"
    if voucher.type == VoucherType.PERCENTAGE_BONUS:
        return (
            f"{tokens} bonus tokens (+{voucher.value}%)" if tokens else f"+{voucher.value}% on the next pack"
        )
    tier = (voucher.metadata_ or {}).get("tier", "BASIC")
    return f"{voucher.value}-day {tier} trial" + (f", {tokens} tokens top-up" if tokens else "")


@router.get("", response_class=HTMLResponse)
async def vouchers(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    kind: Annotated[str | None, Query(alias="type")] = None,
    code: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page = await service.list_vouchers(
        session,
        status=choice(VoucherStatus, status),
        kind=choice(VoucherType, kind),
        code_prefix=code,
        limit=50,
        cursor=cursor,
    )
    return render(
        request,
        "vouchers.html",
        vouchers=page.items,
        values={"status": status, "type": kind, "code": code},
        statuses=STATUSES,
        types=TYPES,
        tiers=TIERS,
        units=UNITS,
        next_url=page_url(request, page.next_cursor),
    )


@router.post("")
async def create(
    admin: ConsoleAction,
    session: DbSession,
    ip: ClientIp,
    code: Annotated[str, Form(max_length=200)],
    kind: Annotated[VoucherType, Form(alias="type")],
    value: Annotated[int, Form()],
    max_uses: Annotated[int | None, Form()] = None,
    expires_at: Annotated[str | None, Form(max_length=40)] = None,
    tier: Annotated[str | None, Form(max_length=20)] = None,
    metadata: Annotated[str | None, Form(max_length=8192)] = None,
) -> RedirectResponse:
    body = schema_of(
        VoucherCreate,
        code=code,
        type=kind,
        value=value,
        max_uses=max_uses,
        expires_at=utc_moment(expires_at),
        metadata=_metadata(metadata, tier if kind == VoucherType.SUBSCRIPTION_TRIAL else None),
    )
    view = await service.create_voucher(session, admin.user, body, ip)
    return done(f"/admin/vouchers/{view.voucher.id}", f"Voucher {view.voucher.code} created.")


@router.get("/{voucher_id}", response_class=HTMLResponse)
async def voucher(
    request: Request, voucher_id: str, admin: ConsoleAdmin, session: DbSession, cursor: str | None = None
) -> HTMLResponse:
    view = await service.get_voucher(session, voucher_id)
    statement = (
        select(VoucherRedemption)
        .add_columns(User.email)
        .outerjoin(User, User.id == VoucherRedemption.user_id)
        .where(VoucherRedemption.voucher_id == voucher_id)
    )
    redemptions = await keyset_page(
        session,
        statement,
        (Desc(VoucherRedemption.redeemed_at), Desc(VoucherRedemption.id)),
        limit=50,
        cursor=cursor,
        rows=True,
    )
    return render(
        request,
        "voucher.html",
        voucher=view.voucher,
        redemption_count=view.redemption_count,
        remaining=service.remaining_uses(view.voucher),
        metadata=json.dumps(view.voucher.metadata_, indent=2) if view.voucher.metadata_ else None,
        redemptions=[
            (row, email, granted(view.voucher, row.tokens_granted)) for row, email in redemptions.items
        ],
        units=UNITS,
        next_url=page_url(request, redemptions.next_cursor),
    )


@router.post("/{voucher_id}")
async def edit(
    voucher_id: str,
    admin: ConsoleAction,
    session: DbSession,
    ip: ClientIp,
    status: Annotated[VoucherStatus, Form()],
    max_uses: Annotated[int | None, Form()] = None,
    expires_at: Annotated[str | None, Form(max_length=40)] = None,
) -> RedirectResponse:
    # Every field is sent: an empty limit is unlimited, an empty expiry never (as null in the API).
    body = schema_of(VoucherUpdate, status=status, max_uses=max_uses, expires_at=utc_moment(expires_at))
    view = await service.update_voucher(session, admin.user, voucher_id, body, ip)
    return done(
        f"/admin/vouchers/{voucher_id}", f"Voucher {view.voucher.code} saved: {view.voucher.status.value}."
    )


@router.post("/{voucher_id}/delete")
async def delete(voucher_id: str, admin: ConsoleAction, session: DbSession, ip: ClientIp) -> RedirectResponse:
    view = await service.get_voucher(session, voucher_id)
    code = view.voucher.code
    await service.delete_voucher(session, admin.user, voucher_id, ip)
    return done("/admin/vouchers", f"Voucher {code} deleted.")
