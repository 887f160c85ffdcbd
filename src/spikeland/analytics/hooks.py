"""Analytics' reactions to identity's events, registered by ``register()`` (at start, by
``spikeland.routes.register_hooks``).

On every sign-in the visitor id the browser presented links that visitor's sessions to the user
(only the signed-in user links them: nobody can claim another's visits by naming an id in a
request body). A user's first sign-in within a week of creating the account — every sign-up path
ends in one: password (after the email is verified), OAuth, magic link — records the SIGNUP
conversion, at the account's creation time, once. A signed-in user's enhancement (value: the
tokens paid, per job) and each payment (a token pack or a merch order; value: the amount in GBP, per
payment) are conversions too.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics import attribution, ingest
from spikeland.analytics.models import ConversionType
from spikeland.billing import hooks as billing_hooks
from spikeland.core.clock import utcnow
from spikeland.identity import hooks as identity_hooks
from spikeland.identity.models import User
from spikeland.images import hooks as images_hooks

SIGNUP_WINDOW = timedelta(days=7)  # older accounts (an adopted database's) are no new sign-ups


async def on_sign_in(session: AsyncSession, user_id: str, visitor_id: str | None) -> None:
    await ingest.link_visitor(session, user_id, visitor_id)
    user = await session.get(User, user_id)
    if user is not None and user.created_at >= utcnow() - SIGNUP_WINDOW:
        await session.flush()
        await attribution.attribute(session, user_id, ConversionType.SIGNUP, user_id, at=user.created_at)


async def on_enhancement_charged(session: AsyncSession, user_id: str, job_id: str, tokens: int) -> None:
    await attribution.attribute(session, user_id, ConversionType.ENHANCEMENT, job_id, value=float(tokens))


async def on_payment(session: AsyncSession, user_id: str, amount: Decimal, currency: str, key: str) -> None:
    # Revenue is counted in GBP, the platform's currency; a payment in another is attributed
    # without a value rather than with a wrong one.
    value = float(amount) if currency.upper() == "GBP" else None
    await attribution.attribute(session, user_id, ConversionType.PURCHASE, key, value=value)


def register() -> None:
    identity_hooks.on_sign_in(on_sign_in)
    images_hooks.on_enhancement_charged(on_enhancement_charged)
    billing_hooks.on_payment(on_payment)
