"""Boxes' reactions to identity events, registered by ``register()`` (called once at start by
``spikeland.routes.register_hooks``; importing this module registers nothing)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes.agent_tasks import screenshot_keys
from spikeland.boxes.models import Box
from spikeland.identity import hooks as identity_hooks


async def user_file_keys(session: AsyncSession, user_id: str) -> list[str]:
    """The screenshots of the user's boxes, removed once the user's deletion has committed (the
    rows go by cascade; their browsers and profiles go with ``tasks.reap_orphans``)."""
    boxes = await session.scalars(select(Box).where(Box.user_id == user_id).order_by(Box.id))
    return [key for box in boxes for key in await screenshot_keys(session, box)]


def register() -> None:
    """Idempotent: the hook list ignores a second registration of the same function."""
    identity_hooks.on_user_delete(user_file_keys)
