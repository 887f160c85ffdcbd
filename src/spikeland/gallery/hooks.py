"""The gallery's reactions to identity and images events, registered by ``register()`` (called once
at start by ``spikeland.routes.register_hooks``; importing this module registers nothing)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.gallery import service
from spikeland.identity import hooks as identity_hooks
from spikeland.identity.hooks import SignupContext
from spikeland.identity.models import User
from spikeland.images import hooks as images_hooks


async def create_default_albums(session: AsyncSession, user: User, context: SignupContext) -> None:
    await service.create_default_albums(session, user.id)


def register() -> None:
    """Idempotent: each hook list ignores a second registration of the same function."""
    identity_hooks.on_signup(create_default_albums)
    # An album's default pipeline keeps the pipeline from being deleted.
    images_hooks.on_pipeline_delete(service.pipeline_in_use)
