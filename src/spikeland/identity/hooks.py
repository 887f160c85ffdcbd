"""Hooks other domains hang on identity events, since identity depends on no other domain.

- sign-up: the token balance, default albums and referrals react to a new user;
- email verified: a referral completes when the referee proves their address;
- sign-in: every session made for a user (password, OAuth, magic link), with the anonymous visitor
  id the browser presented (analytics links that visitor's sessions to the user);
- user deletion: each domain that stores files for the user (images' originals and enhancement
  results, generation's inputs and outputs) returns their storage keys, read before the rows
  cascade away; the caller removes the files once the deletion has committed.

Each hook runs in the transaction of the event, so a failing hook rolls the event back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity.models import User


@dataclass(frozen=True)
class SignupContext:
    """What is known about the sign-up beyond the user row: the client address, when there is one."""

    ip: str | None = None


SignupHook = Callable[[AsyncSession, User, SignupContext], Awaitable[None]]
EmailVerifiedHook = Callable[[AsyncSession, User], Awaitable[None]]
# (session, user id) -> the storage keys of the user's files; called with the user row locked.
UserDeleteHook = Callable[[AsyncSession, str], Awaitable[Sequence[str]]]
# (session, user id, the visitor id the browser presented or None)
SignInHook = Callable[[AsyncSession, str, str | None], Awaitable[None]]
_signup_hooks: list[SignupHook] = []
_email_verified_hooks: list[EmailVerifiedHook] = []
_user_delete_hooks: list[UserDeleteHook] = []
_sign_in_hooks: list[SignInHook] = []


def on_sign_in(hook: SignInHook) -> SignInHook:
    if hook not in _sign_in_hooks:
        _sign_in_hooks.append(hook)
    return hook


async def run_sign_in_hooks(session: AsyncSession, user_id: str, visitor_id: str | None) -> None:
    for hook in _sign_in_hooks:
        await hook(session, user_id, visitor_id)


def on_signup(hook: SignupHook) -> SignupHook:
    """Register ``hook`` (usable as a decorator); registering twice has no effect."""
    if hook not in _signup_hooks:
        _signup_hooks.append(hook)
    return hook


def on_email_verified(hook: EmailVerifiedHook) -> EmailVerifiedHook:
    if hook not in _email_verified_hooks:
        _email_verified_hooks.append(hook)
    return hook


async def run_signup_hooks(session: AsyncSession, user: User, context: SignupContext) -> None:
    for hook in _signup_hooks:
        await hook(session, user, context)


async def run_email_verified_hooks(session: AsyncSession, user: User) -> None:
    for hook in _email_verified_hooks:
        await hook(session, user)


def on_user_delete(hook: UserDeleteHook) -> UserDeleteHook:
    if hook not in _user_delete_hooks:
        _user_delete_hooks.append(hook)
    return hook


async def run_user_delete_hooks(session: AsyncSession, user_id: str) -> list[str]:
    """The storage keys of every file the domains keep for ``user_id``, each once: to remove after
    the user's deletion commits (never before, so a deletion that fails keeps every file)."""
    keys: dict[str, None] = {}
    for hook in _user_delete_hooks:
        keys.update(dict.fromkeys(await hook(session, user_id)))
    return list(keys)
