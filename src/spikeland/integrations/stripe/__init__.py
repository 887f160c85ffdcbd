"""Stripe through the official SDK: customers, prices, Checkout Sessions, subscriptions, webhooks.

Everything billing asks of Stripe goes through :class:`StripeGateway`, a thin async wrapper of
``stripe.StripeClient`` whose API base is a setting, so the tests point it at a Stripe-compatible
server on loopback. Objects come back as plain dicts (the JSON Stripe sent), the same shape the
webhook handlers read from stored events. Any failure to get an answer raises
:class:`StripeUnavailable`; a request Stripe refused raises :class:`StripeRequestError`.

Without ``SPIKELAND_STRIPE_SECRET_KEY`` there is no gateway (``make_gateway`` returns None) and
taking payments answers 503 ``payments_unavailable``. There is deliberately no local payment
implementation: one that grants tokens without a payment is a way to mint money the moment it is
mis-configured in production. To try purchases offline, run any Stripe-compatible server (the
tests' localstripe-based peer) and set ``SPIKELAND_STRIPE_API_BASE`` and a ``sk_test_`` key.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, cast

import stripe

from spikeland.core.admission import outside
from spikeland.settings import Settings


class StripeUnavailable(Exception):
    """Stripe did not answer (network, timeout, 5xx, rate limit)."""


class StripeRequestError(Exception):
    """Stripe refused the request (4xx): ``code`` is Stripe's error type or code."""

    def __init__(self, message: str, code: str | None, status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidSignature(Exception):
    """The webhook's Stripe-Signature is missing, malformed, wrong or too old."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


def verify_webhook(payload: bytes, header: str | None, secret: str, tolerance: int) -> None:
    """Check ``Stripe-Signature`` over the raw body with the endpoint's signing secret."""
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignature(str(exc).split(";")[0]) from None


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as the JSON Stripe sent."""
    return cast(dict[str, Any], json.loads(str(obj)))


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending the encoded form as ``content`` (httpx deprecates bytes
    passed as ``data``, and would warn on every request)."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Any, post_data: Any) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data", None)
        if isinstance(data, bytes | str):
            kwargs["content"] = data
        elif data:
            kwargs["data"] = data
        return args, kwargs


class StripeGateway:
    def __init__(self, api_key: str, api_base: str, timeout: float) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=_HTTPXClient(timeout=timeout),
            max_network_retries=2,
        )
        # lookup_key and amount -> price id: prices never change in place (a new amount is a new
        # price), so a hit stays true for the life of the process.
        self._prices: dict[tuple[str, int, str, bool], str] = {}

    async def _call(self, work: Any) -> dict[str, Any]:
        try:
            async with outside():  # Stripe's answer takes its time: the slot goes to others
                return _plain(await work)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise StripeUnavailable(str(exc)) from None
        except stripe.StripeError as exc:
            status = exc.http_status
            if status is None or status >= 500:
                raise StripeUnavailable(str(exc)) from None
            error = exc.error
            code = (getattr(error, "code", None) or getattr(error, "type", None)) if error else None
            raise StripeRequestError(exc.user_message or str(exc), code, status) from None

    async def create_customer(self, *, email: str | None, user_id: str) -> str:
        customer = await self._call(
            self.client.v1.customers.create_async(
                cast(Any, {"metadata": {"userId": user_id}} | ({"email": email} if email else {})),
                # One customer per user even when two checkouts start at once.
                {"idempotency_key": f"customer-{user_id}"},
            )
        )
        return str(customer["id"])

    async def ensure_price(
        self, *, lookup_key: str, unit_amount: int, currency: str, name: str, recurring: bool
    ) -> str:
        """The id of the active price with this lookup key and amount, created when missing."""
        cache_key = (lookup_key, unit_amount, currency, recurring)
        if cache_key in self._prices:
            return self._prices[cache_key]
        wanted = (unit_amount, currency, recurring)
        candidates: list[dict[str, Any]] = []
        if lookup_key.startswith("price_"):
            # An operator may have stored a real price id rather than a lookup key.
            with contextlib.suppress(StripeRequestError):
                candidates.append(await self._call(self.client.v1.prices.retrieve_async(lookup_key)))
        found = await self._call(
            self.client.v1.prices.list_async({"lookup_keys": [lookup_key], "active": True, "limit": 1})
        )
        candidates.extend(found.get("data", []))
        for price in candidates:
            shape = (price.get("unit_amount"), price.get("currency"), price.get("recurring") is not None)
            if price.get("active", True) and shape == wanted:
                self._prices[cache_key] = str(price["id"])
                return self._prices[cache_key]
        params: dict[str, Any] = {
            "lookup_key": lookup_key,
            "transfer_lookup_key": True,  # the amount changed: the key moves to the new price
            "unit_amount": unit_amount,
            "currency": currency,
            "product_data": {"name": name},
        }
        if recurring:
            params["recurring"] = {"interval": "month"}
        price = await self._call(
            self.client.v1.prices.create_async(
                cast(Any, params), {"idempotency_key": f"price-{lookup_key}-{unit_amount}-{currency}"}
            )
        )
        self._prices[cache_key] = str(price["id"])
        return self._prices[cache_key]

    async def create_checkout_session(
        self,
        *,
        mode: str,
        customer: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        idempotency_key: str | None,
    ) -> CheckoutSession:
        params: dict[str, Any] = {
            "mode": mode,
            "customer": customer,
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "client_reference_id": metadata["userId"],
        }
        # The metadata travels on to the payment intent / subscription, so their own events
        # (payment_failed, subscription.updated) say whose they are.
        if mode == "payment":
            params["payment_intent_data"] = {"metadata": metadata}
        else:
            params["subscription_data"] = {"metadata": metadata}
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
        session = await self._call(
            self.client.v1.checkout.sessions.create_async(cast(Any, params), cast(Any, options))
        )
        return CheckoutSession(id=str(session["id"]), url=str(session["url"]))

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return await self._call(self.client.v1.subscriptions.retrieve_async(subscription_id))

    async def set_cancel_at_period_end(self, subscription_id: str, cancel: bool) -> dict[str, Any]:
        return await self._call(
            self.client.v1.subscriptions.update_async(subscription_id, {"cancel_at_period_end": cancel})
        )

    async def switch_price(
        self, subscription_id: str, price_id: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        """Bill ``price_id`` from the next period on: no proration, the current period stays paid."""
        current = await self.retrieve_subscription(subscription_id)
        items = current.get("items", {}).get("data", [])
        if not items:
            raise StripeRequestError("the subscription has no item", "resource_missing", 404)
        params: dict[str, Any] = {
            "items": [{"id": items[0]["id"], "price": price_id}],
            "proration_behavior": "none",
            "metadata": metadata,
        }
        return await self._call(self.client.v1.subscriptions.update_async(subscription_id, cast(Any, params)))

    # ------------------------------------------------------------------ payment intents (merch)

    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        description: str,
        receipt_email: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """An intent to be confirmed by the customer and captured by us (``capture_method:
        manual``): the money is only authorised until the order is checked again and captured."""
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": metadata,
            "description": description,
        }
        if receipt_email:
            params["receipt_email"] = receipt_email
        options: dict[str, Any] = {"idempotency_key": idempotency_key}
        return await self._call(
            self.client.v1.payment_intents.create_async(cast(Any, params), cast(Any, options))
        )

    async def retrieve_payment_intent(self, intent_id: str) -> dict[str, Any]:
        return await self._call(self.client.v1.payment_intents.retrieve_async(intent_id))

    async def capture_payment_intent(self, intent_id: str, idempotency_key: str) -> dict[str, Any]:
        options: dict[str, Any] = {"idempotency_key": idempotency_key}
        return await self._call(
            self.client.v1.payment_intents.capture_async(intent_id, {}, cast(Any, options))
        )

    async def cancel_payment_intent(self, intent_id: str) -> dict[str, Any]:
        return await self._call(self.client.v1.payment_intents.cancel_async(intent_id))

    async def refund_payment_intent(self, intent_id: str, idempotency_key: str) -> dict[str, Any]:
        """Give back everything the intent captured (one refund per key, however often asked)."""
        options: dict[str, Any] = {"idempotency_key": idempotency_key}
        params: dict[str, Any] = {"payment_intent": intent_id}
        return await self._call(self.client.v1.refunds.create_async(cast(Any, params), cast(Any, options)))


_gateways: dict[tuple[str, str, float], StripeGateway] = {}


def make_gateway(settings: Settings) -> StripeGateway | None:
    """The gateway for these settings (one per key and base per process), or None without a key."""
    if settings.stripe_secret_key is None:
        return None
    key = (
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_api_base,
        settings.stripe_timeout_seconds,
    )
    if key not in _gateways:
        _gateways[key] = StripeGateway(*key)
    return _gateways[key]


__all__ = [
    "CheckoutSession",
    "InvalidSignature",
    "StripeGateway",
    "StripeRequestError",
    "StripeUnavailable",
    "make_gateway",
    "verify_webhook",
]
