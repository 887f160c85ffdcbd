"""Merch's reactions to lower domains' events, registered by ``register()`` (called at start by
``spikeland.routes.register_hooks``; importing this module registers nothing)."""

from __future__ import annotations

from spikeland.merch import payments


def register() -> None:
    payments.register()  # the payment events of orders' intents, from billing's Stripe inbox
