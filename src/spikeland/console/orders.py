"""Merch orders: the list (status, an order number or the customer's email, dates; keyset pages), an
order's detail (the items as bought, its events, shipments with tracking, the payment), and the
admin API's actions — cancel, resubmit, refund — through ``merch.order_changes`` with the Stripe
gateway the app is configured with, each audited under the API's action name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AfterValidator

from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    day_range,
    done,
    page_url,
    render,
)
from spikeland.core.deps import SettingsDep
from spikeland.core.schemas import TEXT_WHITESPACE, no_control
from spikeland.db.session import DbSession
from spikeland.integrations.stripe import make_gateway
from spikeland.merch import order_changes
from spikeland.merch.models import MerchOrderStatus

router = APIRouter(prefix="/admin/orders", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(status.value, status.value) for status in MerchOrderStatus]
CANCELLABLE = {MerchOrderStatus.PENDING.value, MerchOrderStatus.PAID.value}  # order_changes.cancel's rule
REFUNDABLE = {status.value for status in order_changes.PAID_STATES}
ADDRESS = ("name", "line1", "line2", "city", "state", "postalCode", "countryCode")  # as on a label
Reason = Annotated[str, Form(max_length=500), AfterValidator(lambda v: no_control(v, TEXT_WHITESPACE))]


@router.get("", response_class=HTMLResponse)
async def orders(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    q: str | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    since, until = day_range(start, end)
    page = await order_changes.admin_orders(
        session,
        status=choice(MerchOrderStatus, status),
        since=since,
        until=until,
        limit=50,
        cursor=cursor,
        search=q,
    )
    return render(
        request,
        "orders.html",
        orders=page.items,
        values={"status": status, "q": q, "start": start, "end": end},
        statuses=STATUSES,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{order_id}", response_class=HTMLResponse)
async def order(request: Request, order_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    found = await order_changes.admin_order(session, order_id)
    address = found.shipping_address
    return render(
        request,
        "order.html",
        order=found,
        ship_to=", ".join(str(address[k]) for k in ADDRESS if address.get(k)),
        can_cancel=found.status in CANCELLABLE,
        can_refund=found.status in REFUNDABLE,
        can_resubmit=found.status == MerchOrderStatus.PAID.value,
    )


@router.post("/{order_id}/cancel")
async def cancel(
    request: Request,
    order_id: str,
    admin: ConsoleAction,
    session: DbSession,
    settings: SettingsDep,
    reason: Reason = "",
) -> RedirectResponse:
    why = reason.strip() or None
    changed = await order_changes.cancel(session, make_gateway(settings), admin.user, order_id, why)
    await audited(session, request, admin, "MERCH_ORDER_CANCEL", order_id, reason=why)
    return done(f"/admin/orders/{order_id}", f"{changed.order_number} is {changed.status.value}.")


@router.post("/{order_id}/resubmit")
async def resubmit(
    request: Request, order_id: str, admin: ConsoleAction, session: DbSession
) -> RedirectResponse:
    changed = await order_changes.resubmit(session, admin.user, order_id)
    await audited(session, request, admin, "MERCH_ORDER_RESUBMIT", order_id)
    return done(f"/admin/orders/{order_id}", f"{changed.order_number} is on its way to the printer again.")


@router.post("/{order_id}/refund")
async def refund(
    request: Request, order_id: str, admin: ConsoleAction, session: DbSession, settings: SettingsDep
) -> RedirectResponse:
    changed = await order_changes.refund(session, make_gateway(settings), admin.user, order_id)
    await audited(session, request, admin, "MERCH_ORDER_REFUND", order_id)
    return done(
        f"/admin/orders/{order_id}",
        f"{changed.order_number} was refunded in full ({changed.currency} {changed.total_amount}).",
    )
