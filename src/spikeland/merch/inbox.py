"""Print providers' updates in, exactly once: stored in ``merch_webhook_events`` with an APPLY job.

The inbox row and its job are written in one transaction, and the row's ``eventId`` is unique, so a
redelivered callback (or the local printer reporting a step again) stores nothing and queues
nothing. The job (``merch.fulfilment``) applies the update later, with the runner's retries.
Prodigi's callbacks are checked first: signed with the webhook secret over the exact body, and
readable as an update, or refused with nothing written.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import ServiceUnavailable, SpikelandError
from spikeland.integrations.pod import BadUpdate
from spikeland.integrations.pod.prodigi import parse_callback, signature_valid
from spikeland.merch.jobs import enqueue
from spikeland.merch.models import FulfilmentKind
from spikeland.ops.models import MerchWebhookEvent
from spikeland.settings import Settings

MAX_BODY = 64 * 1024


class InvalidWebhook(SpikelandError):  # the code Stripe's webhook answers with for the same fault
    status_code = 400
    code = "invalid_signature"


class MalformedPayload(SpikelandError):
    status_code = 400
    code = "malformed_payload"


async def store(
    session: AsyncSession, provider: str, event_id: str, event_type: str, payload: dict[str, Any]
) -> bool:
    """Keep one provider event and queue its application; False when it was already kept."""
    statement = (
        insert(MerchWebhookEvent)
        .values(provider=provider, event_id=event_id, event_type=event_type, payload=payload)
        .on_conflict_do_nothing(index_elements=[MerchWebhookEvent.event_id])
        .returning(MerchWebhookEvent.id)
    )
    row_id = (await session.execute(statement)).scalar_one_or_none()
    if row_id is None:
        return False
    await enqueue(session, FulfilmentKind.APPLY, event_id=row_id)
    return True


async def receive_prodigi(
    session: AsyncSession, body: bytes, signature: str | None, settings: Settings
) -> bool:
    """Verify and keep one Prodigi callback; True when it is new, False for a redelivery."""
    if settings.prodigi_webhook_secret is None:
        raise ServiceUnavailable("Prodigi callbacks are not configured.", code="webhooks_unavailable")
    if not signature_valid(settings.prodigi_webhook_secret.get_secret_value(), body, signature):
        raise InvalidWebhook("The Prodigi signature is missing or not valid.")
    if b"\\u0000" in body:
        raise MalformedPayload("The body contains a NUL character, which cannot be stored.")
    try:
        payload = json.loads(body)
        update = parse_callback(payload)
    except (ValueError, UnicodeDecodeError, BadUpdate) as exc:
        raise MalformedPayload(f"The body is not a Prodigi callback: {exc}") from None
    if not 0 < len(update.event_id) <= 255 or len(update.event_type) > 255:
        raise MalformedPayload("The callback's id or type is empty or too long.")
    # Prodigi's event ids are unique among Prodigi's; the provider keeps them apart from Stripe's.
    return await store(session, "PRODIGI", f"prodigi:{update.event_id}", update.event_type, payload)
