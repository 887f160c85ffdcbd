"""Hooks other domains hang on billing events, since billing depends on none of the domains above it.

- tokens purchased: a pack payment credited tokens (once per payment intent); growth adds the
  bonus of a voucher redeemed for the next purchase.
- payment received: money taken from a user (a token pack; a merch order, whose domain runs the
  hook when the order is paid), once per payment ``key``; analytics counts the conversion.
- payment intents of another domain: an intent whose ``metadata.type`` a domain registered (merch:
  ``merch_order``) has its events (authorised, succeeded, failed, cancelled) handed to that domain;
- charges refunded that are no token purchase: handed to every domain that registered for them
  (merch: a refund made in Stripe's dashboard refunds the order); the first that knows the
  payment intent answers.

Each hook runs in the transaction of the webhook event, so a failing hook rolls the credit back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# A domain's intent handler raises BadEvent for content that can never apply (recorded, not retried).
from spikeland.billing.events import BadEvent as BadEvent
from spikeland.integrations.stripe import StripeGateway
from spikeland.settings import Settings

# (session, user id, tokens credited, Stripe payment intent id)
TokensPurchasedHook = Callable[[AsyncSession, str, int, str], Awaitable[object]]
_tokens_purchased_hooks: list[TokensPurchasedHook] = []


def on_tokens_purchased(hook: TokensPurchasedHook) -> TokensPurchasedHook:
    """Register ``hook`` (usable as a decorator); registering twice has no effect."""
    if hook not in _tokens_purchased_hooks:
        _tokens_purchased_hooks.append(hook)
    return hook


async def run_tokens_purchased_hooks(session: AsyncSession, user_id: str, tokens: int, intent: str) -> None:
    for hook in _tokens_purchased_hooks:
        await hook(session, user_id, tokens, intent)


@dataclass(frozen=True)
class IntentContext:
    gateway: StripeGateway | None
    settings: Settings


# (session, event type, the payment intent, context) -> what was done, for the log
IntentHandler = Callable[[AsyncSession, str, dict[str, Any], IntentContext], Awaitable[str]]
_intent_handlers: dict[str, IntentHandler] = {}


def on_payment_intent(kind: str, handler: IntentHandler) -> None:
    """Hand the events of intents whose ``metadata.type`` is ``kind`` to ``handler``."""
    _intent_handlers[kind] = handler


def intent_handler(kind: str | None) -> IntentHandler | None:
    return _intent_handlers.get(kind) if kind else None


# (session, the refunded charge) -> what was done, or None when the charge is not this domain's
ChargeRefundedHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[str | None]]
_charge_refunded_handlers: list[ChargeRefundedHandler] = []


def on_charge_refunded(handler: ChargeRefundedHandler) -> None:
    if handler not in _charge_refunded_handlers:
        _charge_refunded_handlers.append(handler)


async def run_charge_refunded_handlers(session: AsyncSession, charge: dict[str, Any]) -> str | None:
    for handler in _charge_refunded_handlers:
        if (outcome := await handler(session, charge)) is not None:
            return outcome
    return None


# (session, user id, amount in major units, ISO currency, the payment's key: one call per key)
PaymentHook = Callable[[AsyncSession, str, Decimal, str, str], Awaitable[None]]
_payment_hooks: list[PaymentHook] = []


def on_payment(hook: PaymentHook) -> None:
    if hook not in _payment_hooks:
        _payment_hooks.append(hook)


async def run_payment_hooks(
    session: AsyncSession, user_id: str, amount: Decimal, currency: str, key: str
) -> None:
    for hook in _payment_hooks:
        await hook(session, user_id, amount, currency, key)
