"""Sign-up hooks: other domains (token balance, default albums, referrals) react to a new user.

Identity depends on no other domain, so they register themselves here; each hook runs in the
sign-up transaction, so a failing hook rolls the whole sign-up back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity.models import User

SignupHook = Callable[[AsyncSession, User], Awaitable[None]]
_signup_hooks: list[SignupHook] = []


def on_signup(hook: SignupHook) -> SignupHook:
    """Register ``hook`` (usable as a decorator); registering twice has no effect."""
    if hook not in _signup_hooks:
        _signup_hooks.append(hook)
    return hook


async def run_signup_hooks(session: AsyncSession, user: User) -> None:
    for hook in _signup_hooks:
        await hook(session, user)
