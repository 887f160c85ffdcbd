"""The local print provider: prepares real print files and plays the printer's part on a schedule.

``submit`` renders each line's print file — the order's print image cropped to fill the print and
resized to its pixels at the product's DPI, a JPEG carrying that DPI — into storage under
``merch/prints/<order>/<item>.jpg``, and answers an order id made from ours (so placing an order
twice is placing it once). What a printer would then report, :func:`updates_due` produces from
the time since submission, one step every ``step`` seconds (``SPIKELAND_MERCH_LOCAL_STEP_SECONDS``):
in production; shipped (one parcel per product, as from separate production lines, with a
carrier and tracking number); in transit; delivered. Each update has a fixed id, so producing it
again is a duplicate the inbox ignores. The merch domain's periodic job stores them in the
webhook inbox like Prodigi's callbacks, and from there they take the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageOps

from spikeland.integrations.pod import BadUpdate, Parcel, PrintItem, PrintOrder, PrintUpdate, Submitted
from spikeland.integrations.storage import Storage

PREFIX = "local_"
CARRIER = "Royal Mail"
Image.MAX_IMAGE_PIXELS = None  # our own stored images, already checked on upload


def print_key(order_reference: str, item_reference: str) -> str:
    return f"merch/prints/{order_reference}/{item_reference}.jpg"


def _render(data: bytes, width: int, height: int, dpi: int) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        picture = ImageOps.exif_transpose(opened).convert("RGB")
    fitted = ImageOps.fit(picture, (width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=92, dpi=(dpi, dpi))
    return out.getvalue()


class LocalPrintProvider:
    name = "LOCAL"

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def _prepare(self, order: PrintOrder, item: PrintItem) -> None:
        source = await self._storage.get(item.image_key)
        # Pillow's work off the event loop: a print file is megapixels.
        rendered = await asyncio.to_thread(_render, source, item.width_px, item.height_px, item.dpi)
        await self._storage.put(print_key(order.reference, item.reference), rendered, "image/jpeg")

    async def submit(self, order: PrintOrder) -> Submitted:
        for item in order.items:
            await self._prepare(order, item)
        return Submitted(provider_order_id=PREFIX + order.reference, status="InProgress")


def _tracking(parcel_id: str) -> tuple[str, str]:
    digits = int(hashlib.sha256(parcel_id.encode()).hexdigest()[:12], 16) % 10**9
    number = f"LP{digits:09d}GB"
    return number, f"https://www.royalmail.com/track-your-item#/tracking-results/{number}"


def _parcels(provider_order_id: str, items: Sequence[tuple[str, str]], status: str) -> tuple[Parcel, ...]:
    by_product: dict[str, list[str]] = {}
    for item_id, product_id in items:
        by_product.setdefault(product_id, []).append(item_id)
    parcels = []
    for index, item_ids in enumerate(by_product.values(), start=1):
        parcel_id = f"{provider_order_id}_p{index}"
        number, url = _tracking(parcel_id)
        parcels.append(Parcel(parcel_id, status, tuple(item_ids), CARRIER, number, url))
    return tuple(parcels)


# (step, event name, order stage, parcel status): what the printer reports after ``step`` steps.
SCHEDULE = (
    (1, "production", "IN_PRODUCTION", None),
    (2, "shipped", None, "SHIPPED"),
    (3, "in_transit", None, "IN_TRANSIT"),
    (4, "delivered", "COMPLETE", "DELIVERED"),
)


def updates_due(
    provider_order_id: str,
    order_reference: str,
    items: Sequence[tuple[str, str]],
    elapsed: float,
    step: float,
) -> list[PrintUpdate]:
    """Every update the local printer has made ``elapsed`` seconds after submission; ``items`` are
    (order item id, product id) in the order's item order."""
    reached = int(elapsed // step) if step > 0 else len(SCHEDULE)
    updates = []
    for at, name, stage, parcel_status in SCHEDULE:
        if at > reached:
            break
        parcels = _parcels(provider_order_id, items, parcel_status) if parcel_status else ()
        updates.append(
            PrintUpdate(
                event_id=f"{provider_order_id}:{name}",
                event_type=f"local.order.{name}",
                provider_order_id=provider_order_id,
                order_reference=order_reference,
                stage=stage,
                parcels=parcels,
            )
        )
    return updates


def parse_local(payload: Mapping[str, Any]) -> PrintUpdate:
    try:
        parcels = tuple(
            Parcel(**{**parcel, "items": tuple(parcel["items"])}) for parcel in payload.get("parcels") or ()
        )
        return PrintUpdate(
            event_id=str(payload["event_id"]),
            event_type=str(payload["event_type"]),
            provider_order_id=str(payload["provider_order_id"]),
            order_reference=payload.get("order_reference"),
            stage=payload.get("stage"),
            parcels=parcels,
        )
    except (KeyError, TypeError) as exc:
        raise BadUpdate(f"not a local provider update: {exc}") from None
