"""Reading Stripe objects out of stored event payloads (plain JSON dicts).

Stripe moved some fields between API versions (a subscription's period went from the
subscription to its items; an invoice's subscription from ``invoice.subscription`` to
``invoice.parent.subscription_details``); the readers accept both shapes. A field that is
missing or of the wrong kind raises :class:`BadEvent`: the event can never be applied, so it is
recorded and not retried.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


class BadEvent(Exception):
    """A signed event whose content cannot be applied (missing fields, unknown user or package)."""


def data_object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise BadEvent("the event has no data.object")
    return obj


def text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise BadEvent(f"{obj.get('object', 'object')}.{key} is missing")
    return value


def optional_text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def integer(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent(f"{obj.get('object', 'object')}.{key} is not a number")
    return value


def metadata(obj: dict[str, Any]) -> dict[str, str]:
    value = obj.get("metadata")
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def moment(seconds: Any) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise BadEvent("a timestamp is missing")
    return datetime.fromtimestamp(seconds, UTC)


def money(minor_units: int) -> Decimal:
    """Pence (Stripe's amounts) to pounds with two decimals."""
    return (Decimal(minor_units) / 100).quantize(Decimal("0.01"))


def _first_item(subscription: dict[str, Any]) -> dict[str, Any]:
    items = subscription.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return {}


def subscription_period(subscription: dict[str, Any]) -> tuple[datetime, datetime]:
    item = _first_item(subscription)
    start = item.get("current_period_start", subscription.get("current_period_start"))
    end = item.get("current_period_end", subscription.get("current_period_end"))
    return moment(start), moment(end)


def subscription_price(subscription: dict[str, Any]) -> dict[str, Any] | None:
    item = _first_item(subscription)
    price = item.get("price") or item.get("plan")
    if isinstance(price, str):
        return {"id": price}
    return price if isinstance(price, dict) else None


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent")
    if isinstance(parent, dict):
        details = parent.get("subscription_details")
        if isinstance(details, dict) and optional_text(details, "subscription"):
            return optional_text(details, "subscription")
    return optional_text(invoice, "subscription")


def invoice_period(invoice: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The service period the invoice pays for: its first subscription line's period."""
    lines = invoice.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    for line in data if isinstance(data, list) else []:
        period = line.get("period") if isinstance(line, dict) else None
        if isinstance(period, dict) and "start" in period and "end" in period:
            return moment(period["start"]), moment(period["end"])
    return None
