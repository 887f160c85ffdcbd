"""Prodigi (https://www.prodigi.com/print-api/docs/reference/): orders placed with
``POST {api_url}/v4.0/Orders`` (``X-API-Key``), progress reported by callbacks to our
``/api/v1/merch/webhooks/prodigi``.

- The order carries our order id as ``merchantReference`` and ``idempotencyKey`` (a retry after a
  lost answer finds the order already placed) and each item its order item id, so callbacks name
  our items.
- Callbacks are CloudEvents (``id``, ``type``, ``data.order``): the order's ``status.stage``
  (InProgress, Complete, Cancelled; "in production" once ``status.details.inProduction`` has
  started) and its ``shipments`` (each with ``status``, carrier, tracking and the items it holds).
  Each is signed: HMAC-SHA256 of the exact body with the webhook secret, hex, in
  ``X-Prodigi-Signature`` (as the original platform checked them).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import httpx

from spikeland.core.admission import outside
from spikeland.integrations.pod import (
    BadUpdate,
    Parcel,
    PrintOrder,
    PrintOrderRejected,
    PrintProviderUnavailable,
    PrintUpdate,
    Submitted,
)

SIGNATURE_HEADER = "X-Prodigi-Signature"
# The order as it is cannot be placed; anything else (401/403 included: our key, not the order)
# may pass once fixed, so it is retried rather than refunded.
_REJECTED = {400, 404, 409, 422}
_STAGES = {"complete": "COMPLETE", "cancelled": "CANCELLED"}
_PARCEL = {
    "processing": "PROCESSING",
    "shipped": "SHIPPED",
    "intransit": "IN_TRANSIT",
    "outfordelivery": "OUT_FOR_DELIVERY",
    "delivered": "DELIVERED",
    "failed": "FAILED",
    "cancelled": "FAILED",
    "returned": "FAILED",
}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(sign(secret, body), signature.strip().lower())


class ProdigiProvider:
    name = "PRODIGI"

    def __init__(self, *, api_key: str, api_url: str, callback_url: str, timeout: float = 20.0) -> None:
        self._api_key = api_key
        self._endpoint = api_url.rstrip("/") + "/v4.0/Orders"
        self._callback_url = callback_url
        self._timeout = timeout

    def _body(self, order: PrintOrder) -> dict[str, Any]:
        address = order.recipient
        return {
            "merchantReference": order.reference,
            "idempotencyKey": order.reference,
            "shippingMethod": "Standard",
            "callbackUrl": self._callback_url,
            "recipient": {
                "name": address.get("name"),
                "email": order.email,
                "phoneNumber": address.get("phone"),
                "address": {
                    "line1": address.get("line1"),
                    "line2": address.get("line2"),
                    "postalOrZipCode": address.get("postalCode"),
                    "countryCode": address.get("countryCode"),
                    "townOrCity": address.get("city"),
                    "stateOrCounty": address.get("state"),
                },
            },
            "items": [
                {
                    "merchantReference": item.reference,
                    "sku": item.sku,
                    "copies": item.copies,
                    "sizing": "fillPrintArea",
                    "assets": [{"printArea": "default", "url": item.image_url}],
                }
                for item in order.items
            ],
            "metadata": {"orderNumber": order.order_number},
        }

    async def submit(self, order: PrintOrder) -> Submitted:
        headers = {"X-API-Key": self._api_key}
        try:
            # The admission slot goes to other requests while Prodigi answers (core.admission).
            async with outside(), httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.post(self._endpoint, json=self._body(order), headers=headers)
        except httpx.HTTPError as exc:
            raise PrintProviderUnavailable(f"Prodigi could not be reached: {exc}") from None
        if answer.status_code in _REJECTED:
            raise PrintOrderRejected(f"Prodigi refused the order ({answer.status_code}): {answer.text[:500]}")
        if answer.status_code >= 300:
            raise PrintProviderUnavailable(f"Prodigi answered {answer.status_code}: {answer.text[:500]}")
        try:
            placed = answer.json()["order"]
            return Submitted(
                str(placed["id"]), str((placed.get("status") or {}).get("stage") or "InProgress")
            )
        except (ValueError, KeyError, TypeError):
            raise PrintProviderUnavailable(
                f"Prodigi answered without an order: {answer.text[:500]}"
            ) from None


def _word(value: Any) -> str:
    return re.sub(r"[^a-z]", "", str(value or "").lower())


def _stage(order: Mapping[str, Any]) -> str | None:
    status = order.get("status") or {}
    stage = _word(status.get("stage"))
    if stage in _STAGES:
        return _STAGES[stage]
    if stage == "inprogress" and _word((status.get("details") or {}).get("inProduction")) in (
        "inprogress",
        "complete",
    ):
        return "IN_PRODUCTION"
    return None


def _parcels(order: Mapping[str, Any]) -> tuple[Parcel, ...]:
    ours = {str(i.get("id")): str(i.get("merchantReference")) for i in order.get("items") or []}
    parcels = []
    for shipment in order.get("shipments") or []:
        status = _PARCEL.get(_word(shipment.get("status")))
        if status is None:
            raise BadUpdate(f"unknown shipment status {shipment.get('status')!r}")
        carrier, tracking = shipment.get("carrier") or {}, shipment.get("tracking") or {}
        items = tuple(
            ours.get(str(i.get("itemId")), str(i.get("itemId"))) for i in shipment.get("items") or []
        )
        parcels.append(
            Parcel(
                id=str(shipment["id"]),
                status=status,
                items=items,
                carrier=carrier.get("name"),
                tracking_number=tracking.get("number"),
                tracking_url=tracking.get("url"),
            )
        )
    return tuple(parcels)


def parse_callback(payload: Mapping[str, Any]) -> PrintUpdate:
    try:
        order = payload["data"]["order"]
        return PrintUpdate(
            event_id=str(payload["id"]),
            event_type=str(payload["type"]),
            provider_order_id=str(order["id"]),
            order_reference=order.get("merchantReference"),
            stage=_stage(order),
            parcels=_parcels(order),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadUpdate(f"not a Prodigi callback: {exc!r}") from None
