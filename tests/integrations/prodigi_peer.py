"""A Prodigi print API on loopback: order creation as Prodigi answers it, and its signed callbacks.

- ``POST /v4.0/Orders`` (``X-API-Key``): validates the order (recipient, items with SKU, copies
  and an asset URL), answers ``{"outcome": "Created", "order": …}`` with ``ord_…``/``ori_…`` ids;
  the same ``idempotencyKey`` again answers the first order (``AlreadyExists``). ``fail_next``
  makes the next requests answer 503 (an outage); ``reject_next`` one 400 ``ValidationFailed``.
- ``send(order_id, …)``: what Prodigi does when an order moves — the whole order document, with
  its stage, production details and shipments, as a CloudEvent POSTed to the order's
  ``callbackUrl``, signed with HMAC-SHA256 of the body in ``X-Prodigi-Signature``.

It runs in a thread with its own event loop on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from spikeland.integrations.pod.prodigi import SIGNATURE_HEADER, sign
from tests.integrations.threaded import aiohttp_in_thread

API_KEY = "prodigi-test-key"
WEBHOOK_SECRET = "prodigi-callback-secret"


@dataclass
class ProdigiState:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    reject_next: bool = False
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    callbacks: list[tuple[int, str]] = field(default_factory=list)  # (our answer's status, body)


def _invalid(order: dict[str, Any]) -> str | None:
    recipient = order.get("recipient") or {}
    address = recipient.get("address") or {}
    for name in ("line1", "postalOrZipCode", "countryCode", "townOrCity"):
        if not address.get(name):
            return f"recipient.address.{name} is required"
    items = order.get("items") or []
    if not items:
        return "items is required"
    for item in items:
        if not item.get("sku") or not isinstance(item.get("copies"), int) or item["copies"] < 1:
            return "each item needs a sku and copies"
        if not all(str(a.get("url", "")).startswith("http") for a in item.get("assets") or [{}]):
            return "each asset needs a url"
    return None


def build_app(state: ProdigiState) -> web.Application:
    async def create_order(request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != API_KEY:
            return web.json_response({"statusText": "Unauthorized"}, status=401)
        body = await request.json()
        state.requests.append(body)
        if state.fail_next > 0:
            state.fail_next -= 1
            return web.json_response({"statusText": "Service unavailable"}, status=503)
        if state.reject_next:
            state.reject_next = False
            return web.json_response(
                {"outcome": "ValidationFailed", "failures": {"items[0].sku": [{"code": "InvalidSku"}]}},
                status=400,
            )
        if problem := _invalid(body):
            return web.json_response({"outcome": "ValidationFailed", "failures": problem}, status=400)
        key = body.get("idempotencyKey")
        if key and key in state.by_key:
            return web.json_response({"outcome": "AlreadyExists", "order": state.orders[state.by_key[key]]})
        order_id = f"ord_{next(state.ids)}"
        order = {
            "id": order_id,
            "merchantReference": body.get("merchantReference"),
            "callbackUrl": body.get("callbackUrl"),
            "shippingMethod": body.get("shippingMethod"),
            "recipient": body.get("recipient"),
            "status": {"stage": "InProgress", "issues": [], "details": {"inProduction": "NotStarted"}},
            "items": [
                {
                    "id": f"ori_{next(state.ids)}",
                    "merchantReference": item.get("merchantReference"),
                    "sku": item["sku"],
                    "copies": item["copies"],
                    "status": "Ok",
                    "assets": item.get("assets"),
                }
                for item in body["items"]
            ],
            "shipments": [],
        }
        state.orders[order_id] = order
        if key:
            state.by_key[key] = order_id
        return web.json_response({"outcome": "Created", "order": order})

    app = web.Application()
    app.router.add_post("/v4.0/Orders", create_order)
    return app


@dataclass
class ProdigiPeer:
    url: str
    state: ProdigiState
    loop: asyncio.AbstractEventLoop

    def only_order(self) -> dict[str, Any]:
        (order,) = self.state.orders.values()
        return order

    async def send(
        self,
        order_id: str,
        *,
        stage: str = "InProgress",
        in_production: str = "NotStarted",
        shipments: Sequence[tuple[str, str, Sequence[str]]] = (),
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Move the order and POST its callback (``shipments``: (id, status, our item references))."""

        async def post() -> dict[str, Any]:
            order = self.state.orders[order_id]
            order["status"] = {"stage": stage, "issues": [], "details": {"inProduction": in_production}}
            ids = {item["merchantReference"]: item["id"] for item in order["items"]}
            for ship_id, status, refs in shipments:
                entry = {
                    "id": ship_id,
                    "status": status,
                    "carrier": {"name": "Royal Mail", "service": "Tracked 48"},
                    "tracking": {"number": f"RM{ship_id[-6:]}GB", "url": f"https://track.test/{ship_id}"},
                    "items": [{"itemId": ids[ref]} for ref in refs],
                }
                order["shipments"] = [s for s in order["shipments"] if s["id"] != ship_id] + [entry]
            kind = "shipments.shipment" if shipments else "status.stage.changed"
            event = {
                "specversion": "1.0",
                "type": f"com.prodigi.order.{kind}#{stage}",
                "source": "http://api.prodigi.com/v4.0/Orders/",
                "id": event_id or f"evt_{next(self.state.ids)}",
                "time": "2026-12-04T10:00:00Z",
                "datacontenttype": "application/json",
                "data": {"order": json.loads(json.dumps(order))},
                "subject": order_id,
            }
            body = json.dumps(event).encode()
            headers = {SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"}
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(order["callbackUrl"], content=body, headers=headers)
            self.state.callbacks.append((answer.status_code, answer.text))
            return event

        # On the peer's loop: the test's loop serves the app the callback goes to.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(post(), self.loop))


@contextmanager
def prodigi_peer() -> Iterator[ProdigiPeer]:
    state = ProdigiState()
    with aiohttp_in_thread(lambda: build_app(state), "Prodigi") as (url, loop):
        yield ProdigiPeer(url, state, loop)
