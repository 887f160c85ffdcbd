"""The Stripe adapter through the real SDK against the Stripe-compatible peer on loopback."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from spikeland.integrations.stripe import (
    InvalidSignature,
    StripeGateway,
    StripeRequestError,
    StripeUnavailable,
    make_gateway,
    verify_webhook,
)
from spikeland.settings import Settings
from tests.integrations.stripe_peer import StripePeer, sign, stripe_peer


@pytest.fixture(scope="module")
def peer() -> Iterator[StripePeer]:
    with stripe_peer() as running:
        yield running


@pytest.fixture
def gateway(peer: StripePeer) -> StripeGateway:
    return StripeGateway("sk_test_" + secrets.token_hex(6), peer.url, 5)


async def test_prices_are_found_by_lookup_key_and_replaced_when_the_amount_changes(
    gateway: StripeGateway, peer: StripePeer
) -> None:
    key = f"price_test_{secrets.token_hex(4)}"
    first = await gateway.ensure_price(
        lookup_key=key, unit_amount=499, currency="gbp", name="T", recurring=True
    )
    fresh = StripeGateway("sk_test_other", peer.url, 5)  # no cache: finds it on Stripe
    same = await fresh.ensure_price(lookup_key=key, unit_amount=499, currency="gbp", name="T", recurring=True)
    assert same == first
    dearer = await fresh.ensure_price(
        lookup_key=key, unit_amount=599, currency="gbp", name="T", recurring=True
    )
    assert dearer != first
    holders = [p["id"] for p in peer.state.prices.values() if p["lookup_key"] == key]
    assert holders == [dearer]  # the lookup key moved to the new price
    created = [r for r in peer.state.requests if r[:2] == ("POST", "/v1/prices")]
    assert all(r[2] for r in created)  # every creation carries an idempotency key


async def test_a_real_price_id_is_used_as_it_is(gateway: StripeGateway, peer: StripePeer) -> None:
    made = await gateway.ensure_price(
        lookup_key=f"k_{secrets.token_hex(4)}", unit_amount=299, currency="gbp", name="P", recurring=False
    )
    fresh = StripeGateway("sk_test_other", peer.url, 5)
    assert (
        await fresh.ensure_price(lookup_key=made, unit_amount=299, currency="gbp", name="P", recurring=False)
        == made
    )


async def test_one_customer_per_user(gateway: StripeGateway) -> None:
    user_id = f"c{secrets.token_hex(12)}"
    first = await gateway.create_customer(email="a@example.com", user_id=user_id)
    assert await gateway.create_customer(email="a@example.com", user_id=user_id) == first
    assert await gateway.create_customer(email="a@example.com", user_id=user_id + "x") != first


async def test_refusals_and_outages_are_told_apart(gateway: StripeGateway) -> None:
    with pytest.raises(StripeRequestError) as refused:
        await gateway.retrieve_subscription("sub_does_not_exist")
    assert refused.value.status == 404
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    down = StripeGateway("sk_test_x", f"http://127.0.0.1:{port}", 2)
    with pytest.raises(StripeUnavailable):
        await down.retrieve_subscription("sub_1")


def test_webhook_signatures() -> None:
    body, secret = b'{"id": "evt_1"}', "whsec_" + secrets.token_hex(8)
    verify_webhook(body, sign(body, secret), secret, 300)
    for header in (None, "", "t=1", sign(body, "whsec_other"), sign(body, secret, int(time.time()) - 301)):
        with pytest.raises(InvalidSignature):
            verify_webhook(body, header, secret, 300)
    with pytest.raises(InvalidSignature):
        verify_webhook(body + b"x", sign(body, secret), secret, 300)


def test_no_secret_key_no_gateway(settings: Settings, peer: StripePeer) -> None:
    assert make_gateway(settings) is None
    configured = settings.model_copy(
        update={"stripe_secret_key": SecretStr("sk_test_1"), "stripe_api_base": peer.url}
    )
    assert make_gateway(configured) is make_gateway(configured)
