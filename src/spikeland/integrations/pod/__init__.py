"""Print on demand: one small interface, a local provider (default) and Prodigi (when configured).

The merch domain hands a provider a paid order (:class:`PrintOrder`: our order and item ids as
the merchant references, SKUs, copies, the print image of each line) and learns what happens to it
from provider *updates* (:class:`PrintUpdate`: the order's stage and its parcels, each with the
items it carries). Updates arrive as the provider's own documents — Prodigi's signed callbacks, the
local provider's schedule — and are stored in the webhook inbox as they came; :func:`parse_update`
reads them back. Statuses are plain strings here (the merch domain owns the enums): a stage is
``IN_PRODUCTION``, ``COMPLETE`` or ``CANCELLED``; a parcel's status one of :data:`PARCEL_STATUSES`.

Failures: :class:`PrintProviderUnavailable` may pass on a retry (network, 5xx, 429);
:class:`PrintOrderRejected` will not (the provider refused the order as it is).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from spikeland.integrations.storage import Storage
from spikeland.settings import Settings

_log = logging.getLogger(__name__)

STAGES = ("IN_PRODUCTION", "COMPLETE", "CANCELLED")
# A parcel's way, in order; FAILED may end it anywhere before DELIVERED.
PARCEL_STATUSES = ("PROCESSING", "SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED", "FAILED")


class PrintProviderUnavailable(Exception):
    """The provider could not be reached or answered an error that may pass."""


class PrintOrderRejected(Exception):
    """The provider refused the order as it is: retrying will not help."""


class BadUpdate(ValueError):
    """A provider document that is not an update we can read."""


@dataclass(frozen=True)
class PrintItem:
    reference: str  # our order item id
    sku: str
    copies: int
    image_key: str  # the print image in storage
    image_url: str  # where the provider can fetch it
    width_px: int  # the print's pixels at the product's DPI
    height_px: int
    dpi: int


@dataclass(frozen=True)
class PrintOrder:
    reference: str  # our order id: the provider's merchant reference and idempotency key
    order_number: str
    recipient: Mapping[str, Any]  # name, line1, line2?, city, postalCode, countryCode, phone?
    email: str
    items: tuple[PrintItem, ...]


@dataclass(frozen=True)
class Submitted:
    provider_order_id: str
    status: str  # the provider's word for where the order is, kept as the items' podStatus


@dataclass(frozen=True)
class Parcel:
    id: str  # the provider's shipment id
    status: str  # one of PARCEL_STATUSES
    items: tuple[str, ...]  # our order item ids
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class PrintUpdate:
    event_id: str
    event_type: str
    provider_order_id: str
    order_reference: str | None  # our order id, when the provider echoes it
    stage: str | None  # one of STAGES, or None when the update is about parcels only
    parcels: tuple[Parcel, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class PrintProvider(Protocol):
    # "LOCAL" or "PRODIGI": the inbox's provider column, and how the order's items are marked.
    name: str

    async def submit(self, order: PrintOrder) -> Submitted:
        """Place the order; placing the same ``order.reference`` again returns the first one."""
        ...


def parse_update(provider: str, payload: Mapping[str, Any]) -> PrintUpdate:
    """An inbox event's stored document as an update (``BadUpdate`` when it is not one)."""
    if provider == "PRODIGI":
        from spikeland.integrations.pod.prodigi import parse_callback

        return parse_callback(payload)
    if provider == "LOCAL":
        from spikeland.integrations.pod.local import parse_local

        return parse_local(payload)
    raise BadUpdate(f"no print provider {provider!r}")


def make_print_provider(settings: Settings, storage: Storage) -> PrintProvider:
    """Prodigi when an API key is configured, otherwise the local provider."""
    if settings.prodigi_api_key is not None:
        from spikeland.integrations.pod.prodigi import ProdigiProvider

        return ProdigiProvider(
            api_key=settings.prodigi_api_key.get_secret_value(),
            api_url=settings.prodigi_api_url,
            callback_url=settings.public_url.rstrip("/") + "/api/v1/merch/webhooks/prodigi",
            timeout=settings.prodigi_timeout_seconds,
        )
    from spikeland.integrations.pod.local import LocalPrintProvider

    if settings.environment == "production":
        _log.warning("no Prodigi API key configured: orders are printed by nobody (local provider)")
    return LocalPrintProvider(storage)


__all__ = [
    "PARCEL_STATUSES",
    "STAGES",
    "BadUpdate",
    "Parcel",
    "PrintItem",
    "PrintOrder",
    "PrintOrderRejected",
    "PrintProvider",
    "PrintProviderUnavailable",
    "PrintUpdate",
    "Submitted",
    "make_print_provider",
    "parse_update",
]
