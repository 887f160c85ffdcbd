"""Stripe webhooks: verified and stored on arrival, applied later by the worker.

``receive`` checks the signature, parses the event and inserts it into the inbox
(``merch_webhook_events``, provider STRIPE) with ``ON CONFLICT (eventId) DO NOTHING``: a
redelivery is answered 200 and changes nothing. The endpoint does no other work, so Stripe
gets its answer in one insert.

``process_pending`` (a worker job) claims unprocessed events oldest first with
``FOR UPDATE SKIP LOCKED`` and applies each in its own transaction, so any number of workers
can run and each event is applied by one. An event whose content can never apply
(``BadEvent``) is marked processed with an ``error_logs`` row. Any other failure rolls back that
event alone, which stays unprocessed; this process waits a growing delay (5 s doubling to an
hour) before trying it again, so a stuck event neither blocks the others nor floods the logs.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.billing.events import BadEvent
from spikeland.billing.handlers import HANDLERS, Context
from spikeland.core.clock import utcnow
from spikeland.core.errors import ServiceUnavailable, SpikelandError
from spikeland.integrations.stripe import InvalidSignature, StripeGateway, make_gateway, verify_webhook
from spikeland.ops.models import ErrorEnvironment, ErrorLog, MerchWebhookEvent
from spikeland.settings import Settings, get_settings

_log = logging.getLogger(__name__)

PROVIDER = "STRIPE"
MAX_BODY = 64 * 1024  # reference §14: webhook bodies up to 64 KB


class InvalidWebhook(SpikelandError):
    status_code = 400
    code = "invalid_signature"


class MalformedPayload(SpikelandError):
    status_code = 400
    code = "malformed_payload"


def parse_event(body: bytes) -> dict[str, Any]:
    if b"\\u0000" in body:
        raise MalformedPayload("The body contains a NUL character, which cannot be stored.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("The body is not a Stripe event.")
    event_id, event_type, data = payload.get("id"), payload.get("type"), payload.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise MalformedPayload("The event has no id.")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 255:
        raise MalformedPayload("The event has no type.")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedPayload("The event has no data.object.")
    return payload


async def receive(session: AsyncSession, body: bytes, signature: str | None, settings: Settings) -> bool:
    """Verify and store one delivery; True when it is new, False for a redelivery."""
    if settings.stripe_webhook_secret is None:
        raise ServiceUnavailable("Stripe webhooks are not configured.", code="webhooks_unavailable")
    try:
        verify_webhook(
            body,
            signature,
            settings.stripe_webhook_secret.get_secret_value(),
            settings.stripe_webhook_tolerance_seconds,
        )
    except InvalidSignature as exc:
        raise InvalidWebhook(f"The Stripe signature is not valid: {exc}") from None
    payload = parse_event(body)
    statement = (
        insert(MerchWebhookEvent)
        .values(provider=PROVIDER, event_id=payload["id"], event_type=payload["type"], payload=payload)
        .on_conflict_do_nothing(index_elements=[MerchWebhookEvent.event_id])
        .returning(MerchWebhookEvent.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


# ----------------------------------------------------------------------------- the worker side

# Event row id -> (failures so far, monotonic time before which it is not tried again).
_failures: dict[str, tuple[int, float]] = {}
FIRST_DELAY, MAX_DELAY = 5.0, 3600.0


def _waiting() -> list[str]:
    now = time.monotonic()
    return [row_id for row_id, (_n, due) in _failures.items() if due > now]


def _failed(row_id: str) -> None:
    count = _failures.get(row_id, (0, 0.0))[0] + 1
    _failures[row_id] = (count, time.monotonic() + min(FIRST_DELAY * 2 ** (count - 1), MAX_DELAY))


async def _record_bad(session: AsyncSession, row: MerchWebhookEvent, exc: BadEvent) -> None:
    session.add(
        ErrorLog(
            message=f"Stripe event {row.event_id} ({row.event_type}) ignored: {exc}",
            environment=ErrorEnvironment.BACKEND,
            error_type="StripeWebhookEvent",
            error_code=row.event_type,
            source_file=__name__,
            metadata_={"eventId": row.event_id, "inboxId": row.id},
        )
    )


async def _process_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway | None,
    settings: Settings,
    skip: list[str],
) -> tuple[str, bool] | None:
    """Claim and apply the oldest event not in ``skip``: (row id, applied), or None when none is left."""
    claimed: tuple[str, str, str] | None = None  # row id, event id, type: readable after a rollback
    try:
        async with sessionmaker() as session, session.begin():
            statement = (
                select(MerchWebhookEvent)
                .where(
                    MerchWebhookEvent.provider == PROVIDER,
                    MerchWebhookEvent.processed.is_(False),
                    MerchWebhookEvent.id.not_in(skip),
                )
                .order_by(MerchWebhookEvent.created_at, MerchWebhookEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            row = (await session.scalars(statement)).first()
            if row is None:
                return None
            claimed = (row.id, row.event_id, row.event_type)
            handler = HANDLERS.get(row.event_type)
            payload = row.payload if isinstance(row.payload, dict) else {}
            if handler is None:
                outcome = "no handler: recorded only"
            else:
                try:
                    async with session.begin_nested():
                        outcome = await handler(session, Context(row.event_id, gateway, settings), payload)
                except BadEvent as exc:
                    outcome = f"ignored: {exc}"
                    await _record_bad(session, row, exc)
            row.processed = True
            row.processed_at = utcnow()
    except Exception:
        if claimed is None:
            raise
        _failed(claimed[0])
        _log.error(
            "stripe event %s (%s) failed; it stays in the inbox for a retry:\n%s",
            claimed[1],
            claimed[2],
            traceback.format_exc(),
        )
        return claimed[0], False
    _failures.pop(claimed[0], None)
    _log.info("stripe event %s (%s): %s", claimed[1], claimed[2], outcome)
    return claimed[0], True


async def process_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    limit: int = 100,
    *,
    gateway: StripeGateway | None = None,
    settings: Settings | None = None,
) -> int:
    """Apply up to ``limit`` unprocessed Stripe events; returns how many were marked processed."""
    settings = settings or get_settings()
    if gateway is None:
        gateway = make_gateway(settings)
    skip = _waiting()
    processed = 0
    for _ in range(limit):
        result = await _process_one(sessionmaker, gateway, settings, skip)
        if result is None:
            break
        row_id, ok = result
        processed += ok
        skip.append(row_id)  # once per run, even when it failed
    return processed
