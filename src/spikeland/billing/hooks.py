"""Hooks other domains hang on billing events, since billing depends on none of the domains above it.

- tokens purchased: a pack payment credited tokens (once per payment intent); growth adds the
  bonus of a voucher redeemed for the next purchase.

Each hook runs in the transaction of the webhook event, so a failing hook rolls the credit back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

# (session, user id, tokens credited, Stripe payment intent id)
TokensPurchasedHook = Callable[[AsyncSession, str, int, str], Awaitable[object]]
_tokens_purchased_hooks: list[TokensPurchasedHook] = []


def on_tokens_purchased(hook: TokensPurchasedHook) -> TokensPurchasedHook:
    """Register ``hook`` (usable as a decorator); registering twice has no effect."""
    if hook not in _tokens_purchased_hooks:
        _tokens_purchased_hooks.append(hook)
    return hook


async def run_tokens_purchased_hooks(session: AsyncSession, user_id: str, tokens: int, intent: str) -> None:
    for hook in _tokens_purchased_hooks:
        await hook(session, user_id, tokens, intent)
