"""Admin voucher management: list, read, create, update, delete — each change audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from spikeland.core.deps import ClientIp
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.growth import service
from spikeland.growth.models import VoucherStatus
from spikeland.growth.schemas import VoucherCreate, VoucherOut, VoucherPage, VoucherUpdate
from spikeland.identity.deps import AdminUser

router = APIRouter(route_class=Route, prefix="/admin/vouchers", tags=["admin"])


@router.get("", response_model=VoucherPage)
async def list_vouchers(
    actor: AdminUser,
    session: DbSession,
    status: VoucherStatus | None = None,
    limit: PageLimit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> VoucherPage:
    page = await service.list_vouchers(session, status=status, limit=limit, cursor=cursor)
    return VoucherPage(
        items=[VoucherOut.of(v.voucher, v.redemption_count) for v in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "",
    openapi_extra=errors(voucher_code_taken=409),
    response_model=VoucherOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_voucher(
    body: VoucherCreate, actor: AdminUser, session: DbSession, ip: ClientIp
) -> VoucherOut:
    view = await service.create_voucher(session, actor, body, ip)
    return VoucherOut.of(view.voucher, view.redemption_count)


@router.get("/{voucher_id}", openapi_extra=errors(voucher_not_found=404), response_model=VoucherOut)
async def get_voucher(voucher_id: str, actor: AdminUser, session: DbSession) -> VoucherOut:
    view = await service.get_voucher(session, voucher_id)
    return VoucherOut.of(view.voucher, view.redemption_count)


@router.patch("/{voucher_id}", openapi_extra=errors(voucher_not_found=404), response_model=VoucherOut)
async def update_voucher(
    voucher_id: str, body: VoucherUpdate, actor: AdminUser, session: DbSession, ip: ClientIp
) -> VoucherOut:
    view = await service.update_voucher(session, actor, voucher_id, body, ip)
    return VoucherOut.of(view.voucher, view.redemption_count)


@router.delete(
    "/{voucher_id}", openapi_extra=errors(voucher_not_found=404), status_code=status.HTTP_204_NO_CONTENT
)
async def delete_voucher(voucher_id: str, actor: AdminUser, session: DbSession, ip: ClientIp) -> None:
    await service.delete_voucher(session, actor, voucher_id, ip)
