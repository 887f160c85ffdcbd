"""The merch orders pages, on the merch tests' database (the reference catalogue) with Stripe on
loopback: an order made the whole way (cart, checkout, Stripe's webhook, the local printer shipping
it) is found by its number and shown with its items, events, shipments and payment; it is refunded
through Stripe, a PENDING one is cancelled (its PaymentIntent with it), a resubmission while the
printer job still waits is refused — each checked in the database, at Stripe and in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from localstripe import resources as ls
from playwright.async_api import Page, expect
from sqlalchemy import select

from spikeland.merch.models import MerchOrder
from spikeland.merch.tasks import local_printer
from spikeland.ops import audit
from tests.console.conftest import Person, shot, sign_in
from tests.integrations.stripe_peer import StripePeer
from tests.merch import conftest as merch
from tests.merch.fulfilment import events, paid_order, submitted_ago
from tests.merch.test_checkout import CHECKOUT, _shopper, body
from tests.support.fixtures import UserClient
from tests.support.images import runner_for

# The merch tests' fixtures: their database (the reference catalogue) and Stripe on loopback; this
# module's ``app`` is theirs, so the console's ``page`` is served by it.
merch_database, stripe, app = merch.merch_database, merch.stripe, merch.app
STEP = 100.0  # seconds between the local printer's reports, in the pretend clock


async def _shipped(app: FastAPI, user_client: UserClient, stripe: StripePeer) -> MerchOrder:
    """A paid order the local printer has made and shipped (its parcels tracked)."""
    _, order_id = await paid_order(app, user_client, stripe)
    runner = runner_for(app)
    await runner.run_until_idle()  # submitted to the printer
    settings = app.state.settings.model_copy(update={"merch_local_step_seconds": STEP})
    for step in (1, 2):  # in production, then shipped
        await submitted_ago(app, order_id, STEP * step + STEP / 2)
        assert await local_printer(app.state.sessionmaker, settings) == 1
        await runner.run_until_idle()
    return await _order(app, order_id)


async def _order(app: FastAPI, order_id: str) -> MerchOrder:
    async with app.state.sessionmaker() as session:
        found = await session.scalar(select(MerchOrder).where(MerchOrder.id == order_id))
        assert found is not None
        return found


async def _audit(app: FastAPI, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with app.state.sessionmaker() as session:
        page = await audit.list_entries(session, target_id=order_id)
        return [(str(entry.action), dict(entry.metadata_ or {})) for entry in page.items]


def _intent(stripe: StripePeer, intent_id: str | None) -> dict[str, Any]:
    return dict(stripe.call(lambda: ls.PaymentIntent._api_retrieve(intent_id)._export()))


def _refunds(stripe: StripePeer, intent_id: str | None) -> list[Any]:
    return list(
        stripe.call(
            lambda: [
                r
                for r in ls.store.values()
                if getattr(r, "object", None) == "refund" and r.payment_intent == intent_id
            ]
        )
    )


async def test_find_see_and_refund_a_shipped_order(
    page: Page, app: FastAPI, person: Person, user_client: UserClient, stripe: StripePeer
) -> None:
    shipped = await _shipped(app, user_client, stripe)
    assert shipped.status.value == "SHIPPED"
    _, email = await person()
    await sign_in(page, email, then="/admin/orders")
    await page.get_by_label("Order number or customer email").fill(shipped.order_number.lower())
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("SHIPPED")
    total = f"GBP {shipped.total_amount}"
    await expect(rows.first).to_contain_text(total)
    await page.get_by_label("Status").select_option("PENDING")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("No order matches.")).to_be_visible()
    await page.get_by_label("Order number or customer email").fill("")
    await page.get_by_label("Status").select_option("")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows.filter(has_text=shipped.order_number)).to_have_count(1)
    await shot(page, "orders")

    await page.get_by_role("link", name=shipped.order_number).click()
    await expect(page.get_by_role("heading", name=f"Order {shipped.order_number}")).to_be_visible()
    items = page.locator("table").first.locator("tbody tr")
    await expect(items).to_have_count(2)
    await expect(items.filter(has_text="Ceramic Photo Mug")).to_contain_text("16.99")
    await expect(items.filter(has_text="Classic T-Shirt")).to_contain_text("2")
    await expect(page.get_by_text("Royal Mail").first).to_be_visible()
    await expect(page.get_by_role("link", name="LP").first).to_be_visible()  # tracking numbers LP…
    timeline = page.get_by_role("list", name="Events, oldest first")
    await expect(timeline).to_contain_text("PAYMENT_CAPTURED")
    await expect(timeline).to_contain_text("SHIPPED")
    await expect(page.get_by_test_id("payment-status")).to_have_text("succeeded")
    await expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)  # too late
    await shot(page, "order")

    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Refund in full").click()
    await expect(page.get_by_role("status")).to_contain_text(f"was refunded in full ({total})")
    await expect(page.get_by_test_id("status")).to_have_text("REFUNDED")
    refunded = await _order(app, shipped.id)
    assert refunded.status.value == "REFUNDED" and refunded.stripe_payment_status == "refunded"
    assert (await events(app, shipped.id))[-1] == "REFUNDED"
    refunds = _refunds(stripe, refunded.stripe_payment_intent_id)
    assert len(refunds) == 1 and refunds[0].amount == int(shipped.total_amount * 100)
    assert [action for action, _ in await _audit(app, shipped.id)] == ["MERCH_ORDER_REFUND"]
    await expect(page.get_by_role("button", name="Refund in full")).to_have_count(0)


async def test_cancel_a_pending_order_and_a_refused_resubmission(
    page: Page, app: FastAPI, person: Person, user_client: UserClient, stripe: StripePeer
) -> None:
    shopper, _ = await _shopper(app, user_client, "Ceramic Photo Mug")
    pending_id = (await shopper.post(CHECKOUT, json=body())).json()["orderId"]
    _, paid_id = await paid_order(app, user_client, stripe)  # its printer job waits: not resubmitted
    _, email = await person()
    page.on("dialog", lambda dialog: dialog.accept())

    await sign_in(page, email, then=f"/admin/orders/{paid_id}")
    await page.get_by_role("button", name="Resubmit to the printer").click()
    await expect(page.get_by_role("alert")).to_contain_text("already on its way to the printer")
    assert (await _order(app, paid_id)).status.value == "PAID"
    assert await _audit(app, paid_id) == []

    await page.goto(f"/admin/orders/{pending_id}")
    await expect(page.get_by_role("button", name="Refund in full")).to_have_count(0)  # nothing taken
    await page.get_by_label("Reason (optional)").fill("Customer asked by phone")
    await page.get_by_role("button", name="Cancel order").click()
    await expect(page.get_by_test_id("status")).to_have_text("CANCELLED")
    cancelled = await _order(app, pending_id)
    assert cancelled.status.value == "CANCELLED"
    assert _intent(stripe, cancelled.stripe_payment_intent_id)["status"] == "canceled"
    assert _refunds(stripe, cancelled.stripe_payment_intent_id) == []
    assert await events(app, pending_id) == ["ORDER_CREATED", "ORDER_CANCELLED"]
    ((action, metadata),) = await _audit(app, pending_id)
    assert action == "MERCH_ORDER_CANCEL" and metadata["reason"] == "Customer asked by phone"
    assert metadata["via"] == "console"
