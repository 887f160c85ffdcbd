"""A Stripe-compatible server on loopback for the billing tests: localstripe plus what it lacks.

localstripe (a real aiohttp server keeping Stripe objects in memory) answers customers, payment
methods, payment intents, charges, refunds and subscriptions. It has no Prices and no Checkout
Sessions, and speaks an older API (subscription items name a ``plan``), so this module serves
its routes behind a few of our own:

- ``/v1/prices``: Prices with ``lookup_key`` (a recurring one is also a localstripe Plan of the
  same id, so a subscription can use it);
- ``/v1/checkout/sessions``: Checkout Sessions in ``payment`` and ``subscription`` mode;
- ``/v1/subscriptions``: localstripe's subscriptions, translated to today's shape (items carry
  ``price`` and their period; ``items[][price]`` accepted on create and update);
- ``Idempotency-Key`` on every POST: a repeat with the same body replays the first answer, a
  different body is an ``idempotency_error``, as Stripe does;
- ``POST /_test/checkout/sessions/{id}/complete``: what a customer paying on Stripe's page does
  (a card is charged; a subscription starts), answering the event Stripe would send;
- ``/v1/payment_intents`` keeping ``description`` and ``receipt_email`` (localstripe refuses them),
  and ``POST /_test/payment_intents/{id}/authorize``: the customer confirming a manual-capture
  intent with a card, answering ``payment_intent.amount_capturable_updated`` (or ``payment_failed``).

It runs in a thread with its own event loop on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from localstripe import resources as ls
from localstripe.errors import UserError

from tests.integrations.threaded import aiohttp_in_thread

with warnings.catch_warnings():  # localstripe registers plain-function handlers on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import server as ls_server

# The peer's state lives in localstripe's in-memory store; never in its /tmp pickle.
ls.store.dump_to_disk = lambda: None  # type: ignore[method-assign]
# Events reach the application only as the tests deliver them (signed, over HTTP); localstripe's
# own deliveries (to no registered endpoint) would only leave pending tasks behind.
ls.schedule_webhook = lambda event: None

API_VERSION = "2026-10-28.endive"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _error(status: int, message: str, type_: str = "invalid_request_error") -> web.Response:
    return _json({"error": {"type": type_, "message": message}}, status)


class StripePeerState:
    def __init__(self, url: str) -> None:
        self.url = url
        self.prices: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        # What a session was created with that its object does not show (as on Stripe).
        self.session_extra: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[bytes, int, bytes]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, idempotency key
        self.intent_extra: dict[str, dict[str, Any]] = {}  # fields localstripe does not keep


def event(type_: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    """An event as Stripe sends it to a webhook endpoint."""
    return {
        "id": _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created or int(time.time()),
        "type": type_,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header: ``t=<unix time>,v1=<HMAC-SHA256 of "t.payload">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _modern_subscription(sub: dict[str, Any], state: StripePeerState) -> dict[str, Any]:
    for item in sub.get("items", {}).get("data", []):
        plan = item.get("plan") or {}
        item["price"] = state.prices.get(plan.get("id", ""), {"id": plan.get("id")})
        item["current_period_start"] = sub.get("current_period_start")
        item["current_period_end"] = sub.get("current_period_end")
    return sub


def _plan_items(items: Any) -> Any:
    """``items[][price]`` (today's API) as localstripe's ``items[][plan]``."""
    if not isinstance(items, list):
        return items
    out = []
    for item in items:
        item = dict(item)
        if "price" in item:
            item["plan"] = item.pop("price")
        out.append(item)
    return out


def _asynchronous(handler: Any) -> Handler:
    """localstripe has plain-function handlers, which aiohttp deprecates; the same, awaited."""
    if asyncio.iscoroutinefunction(handler):
        return cast(Handler, handler)

    async def wrapped(request: web.Request) -> web.StreamResponse:
        return cast(web.StreamResponse, handler(request))

    return wrapped


def build_app(state: StripePeerState) -> web.Application:
    @web.middleware
    async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        state.requests.append((request.method, request.path, key))
        if request.method != "POST" or not key:
            return await handler(request)
        body = await request.read()
        scoped = f"{request.path}:{key}"
        if scoped in state.idempotent:
            first_body, status, answer = state.idempotent[scoped]
            if first_body != body:
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters.",
                    "idempotency_error",
                )
            return web.Response(body=answer, status=status, content_type="application/json")
        response = await handler(request)
        if isinstance(response, web.Response) and response.body is not None:
            assert isinstance(response.body, bytes)
            state.idempotent[scoped] = (body, response.status, response.body)
        return response

    app = web.Application(middlewares=[idempotency, ls_server.error_middleware, ls_server.auth_middleware])

    async def data_of(request: web.Request) -> dict[str, Any]:
        data = await ls_server.get_post_data(request)
        return dict(data or {})

    # ------------------------------------------------------------------ prices
    async def create_price(request: web.Request) -> web.Response:
        data = await data_of(request)
        try:
            amount = int(data["unit_amount"])
            currency = str(data["currency"]).lower()
        except (KeyError, ValueError):
            return _error(400, "unit_amount and currency are required")
        recurring = data.get("recurring")
        name = (data.get("product_data") or {}).get("name", "product")
        lookup_key = data.get("lookup_key")
        taken = any(p["lookup_key"] == lookup_key for p in state.prices.values())
        if lookup_key and taken and data.get("transfer_lookup_key") not in ("true", True):
            return _error(400, f"A price with lookup_key {lookup_key} already exists.")
        for price in state.prices.values():
            if lookup_key and price["lookup_key"] == lookup_key:
                price["lookup_key"] = None
        price_id = _id("price")
        product = _id("prod")
        if recurring:
            plan = ls.Plan(
                id=price_id,
                amount=amount,
                currency=currency,
                interval=recurring.get("interval", "month"),
                product={"name": name},
            )
            product = plan.product
        state.prices[price_id] = {
            "id": price_id,
            "object": "price",
            "active": True,
            "currency": currency,
            "unit_amount": amount,
            "lookup_key": lookup_key,
            "metadata": data.get("metadata") or {},
            "product": product,
            "recurring": {"interval": recurring.get("interval", "month"), "interval_count": 1}
            if recurring
            else None,
            "type": "recurring" if recurring else "one_time",
            "created": int(time.time()),
            "livemode": False,
        }
        return _json(state.prices[price_id])

    async def list_prices(request: web.Request) -> web.Response:
        query = ls_server.unflatten_data(request.query)
        keys = query.get("lookup_keys")
        prices = list(state.prices.values())
        if keys is not None:
            keys = keys if isinstance(keys, list) else [keys]
            prices = [p for p in prices if p["lookup_key"] in keys]
        if query.get("active") in ("true", "false"):
            prices = [p for p in prices if p["active"] == (query["active"] == "true")]
        return _json({"object": "list", "url": "/v1/prices", "has_more": False, "data": prices})

    async def get_price(request: web.Request) -> web.Response:
        price = state.prices.get(request.match_info["id"])
        return _json(price) if price else _error(404, "No such price")

    # ------------------------------------------------------------------ checkout sessions
    async def create_session(request: web.Request) -> web.Response:
        data = await data_of(request)
        mode = data.get("mode")
        items = data.get("line_items")
        if mode not in ("payment", "subscription") or not isinstance(items, list) or not items:
            return _error(400, "mode and line_items are required")
        if not data.get("success_url"):
            return _error(400, "success_url is required")
        total = 0
        for item in items:
            price = state.prices.get(item.get("price", ""))
            if price is None:
                return _error(400, f"No such price: {item.get('price')}")
            if (price["type"] == "recurring") != (mode == "subscription"):
                return _error(400, f"price {price['id']} does not fit mode {mode}")
            total += price["unit_amount"] * int(item.get("quantity", 1))
        customer = data.get("customer")
        if customer:
            ls.Customer._api_retrieve(customer)  # 404 when unknown
        session_id = _id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": data.get("client_reference_id"),
            "metadata": data.get("metadata") or {},
            "amount_subtotal": total,
            "amount_total": total,
            "currency": state.prices[items[0]["price"]]["currency"],
            "success_url": data["success_url"],
            "cancel_url": data.get("cancel_url"),
            "url": f"{state.url}/c/pay/{session_id}",
            "payment_intent": None,
            "subscription": None,
            "invoice": None,
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
        }
        state.sessions[session_id] = session
        state.session_extra[session_id] = {
            "line_items": items,
            "payment_intent_data": data.get("payment_intent_data") or {},
            "subscription_data": data.get("subscription_data") or {},
        }
        return _json(session)

    async def get_session(request: web.Request) -> web.Response:
        session = state.sessions.get(request.match_info["id"])
        return _json(session) if session else _error(404, "No such checkout.session")

    async def complete_session(request: web.Request) -> web.Response:
        """The customer pays with ``card`` (a test card number): the event Stripe would send."""
        session = state.sessions.get(request.match_info["id"])
        if session is None:
            return _error(404, "No such checkout.session")
        extra = state.session_extra[session["id"]]
        data = await data_of(request)
        number = data.get("card", "4242424242424242")
        card = {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        method = ls.PaymentMethod(type="card", card=card)
        if session["mode"] == "payment":
            intent = ls.PaymentIntent(
                amount=session["amount_total"],
                currency=session["currency"],
                customer=session["customer"],
                payment_method=method.id,
                metadata=dict((extra["payment_intent_data"] or {}).get("metadata") or {}),
            )
            session["payment_intent"] = intent.id
            try:
                intent._confirm(on_failure_now=intent._report_failure)
            except UserError:
                return _json(event("payment_intent.payment_failed", intent._export()))
        else:
            ls.PaymentMethod._api_attach(method.id, customer=session["customer"])
            ls.Customer._api_update(
                session["customer"], invoice_settings={"default_payment_method": method.id}
            )
            sub = ls.Subscription(
                customer=session["customer"],
                items=[{"plan": extra["line_items"][0]["price"]}],
                metadata=dict((extra["subscription_data"] or {}).get("metadata") or {}),
            )
            session["subscription"] = sub.id
        session.update(status="complete", payment_status="paid")
        return _json(event("checkout.session.completed", dict(session)))

    # ------------------------------------------------------------------ subscriptions (today's shape)
    async def create_subscription(request: web.Request) -> web.Response:
        data = await data_of(request)
        data["items"] = _plan_items(data.get("items"))
        data.pop("expand", None)
        sub = ls.Subscription._api_create(**data)
        return _json(_modern_subscription(sub._export(), state))

    async def get_subscription(request: web.Request) -> web.Response:
        sub = ls.Subscription._api_retrieve(request.match_info["id"])
        return _json(_modern_subscription(sub._export(), state))

    async def update_subscription(request: web.Request) -> web.Response:
        data = await data_of(request)
        data.pop("expand", None)
        data.pop("proration_behavior", None)  # localstripe prorates its own way; tests do not bill
        if "items" in data:
            sub = ls.Subscription._api_retrieve(request.match_info["id"])
            items = _plan_items(data["items"])
            for item in items:
                item.pop("id", None)
                item["quantity"] = item.get("quantity", sub.quantity)
            data["items"] = items
        sub = ls.Subscription._api_update(request.match_info["id"], **data)
        return _json(_modern_subscription(sub._export(), state))

    async def delete_subscription(request: web.Request) -> web.Response:
        sub = ls.Subscription._api_delete(request.match_info["id"])
        return _json(_modern_subscription(sub._export(), state))

    # ------------------------------------------------------------------ payment intents (merch)
    async def create_intent(request: web.Request) -> web.Response:
        """localstripe's PaymentIntent, keeping the fields it does not know (it refuses them)."""
        data = await data_of(request)
        kept = {name: data.pop(name) for name in ("description", "receipt_email") if name in data}
        intent = ls.PaymentIntent._api_create(**data)
        state.intent_extra[intent.id] = kept
        return _json({**intent._export(), **kept})

    async def authorize_intent(request: web.Request) -> web.Response:
        """The customer confirms with ``card`` (a test number): the event Stripe would send then."""
        intent = ls.PaymentIntent._api_retrieve(request.match_info["id"])
        data = await data_of(request)
        card = {
            "number": data.get("card", "4242424242424242"),
            "exp_month": 12,
            "exp_year": 2040,
            "cvc": "123",
        }
        intent.payment_method = ls.PaymentMethod(type="card", card=card).id
        try:
            intent._confirm(on_failure_now=intent._report_failure)
        except UserError:
            return _json(event("payment_intent.payment_failed", intent._export()))
        kind = "amount_capturable_updated" if intent.status == "requires_capture" else "payment_failed"
        return _json(event(f"payment_intent.{kind}", intent._export()))

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/v1/payment_intents", create_intent),
        ("POST", "/_test/payment_intents/{id}/authorize", authorize_intent),
        ("POST", "/v1/prices", create_price),
        ("GET", "/v1/prices", list_prices),
        ("GET", "/v1/prices/{id}", get_price),
        ("POST", "/v1/checkout/sessions", create_session),
        ("GET", "/v1/checkout/sessions/{id}", get_session),
        ("POST", "/_test/checkout/sessions/{id}/complete", complete_session),
        ("POST", "/v1/subscriptions", create_subscription),
        ("GET", "/v1/subscriptions/{id}", get_subscription),
        ("POST", "/v1/subscriptions/{id}", update_subscription),
        ("DELETE", "/v1/subscriptions/{id}", delete_subscription),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    # localstripe's own routes after ours: the first match wins.
    for route in ls_server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD":
            app.router.add_route(route.method, path, _asynchronous(route.handler))
    return app


@dataclass
class StripePeer:
    url: str
    state: StripePeerState
    loop: asyncio.AbstractEventLoop

    def call(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` on the peer's loop (localstripe objects are touched from there only)."""

        async def run() -> Any:
            return work()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)


@contextmanager
def stripe_peer() -> Iterator[StripePeer]:
    made: dict[str, StripePeerState] = {}

    def make() -> web.Application:  # on the peer's loop: localstripe's objects live there
        made["state"] = StripePeerState(url="")
        return build_app(made["state"])

    with aiohttp_in_thread(make, "Stripe") as (url, loop):
        state = made["state"]
        state.url = url
        yield StripePeer(url=url, state=state, loop=loop)
