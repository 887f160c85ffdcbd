"""Growth's reactions to identity and billing events, registered by ``register()`` (called once at start by
``spikeland.routes.register_hooks``; importing this module registers nothing).

Identity's hooks carry no settings, so the referral rules read the process settings
(``get_settings()``), as the rest of a deployment does.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import hooks as billing_hooks
from spikeland.growth import referrals, service
from spikeland.identity import hooks as identity_hooks
from spikeland.identity.hooks import SignupContext
from spikeland.identity.models import User
from spikeland.settings import get_settings


async def record_referral(session: AsyncSession, user: User, context: SignupContext) -> None:
    await referrals.record_signup(session, user, context.ip)


async def complete_referral(session: AsyncSession, user: User) -> None:
    await referrals.complete(session, user, get_settings())


def register() -> None:
    """Idempotent: each hook list ignores a second registration of the same function."""
    identity_hooks.on_signup(record_referral)
    identity_hooks.on_email_verified(complete_referral)
    billing_hooks.on_tokens_purchased(service.apply_purchase_bonus)
