"""The gallery's reaction to identity events; importing this module registers it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.gallery import service
from spikeland.identity.hooks import SignupContext, on_signup
from spikeland.identity.models import User


@on_signup
async def create_default_albums(session: AsyncSession, user: User, context: SignupContext) -> None:
    await service.create_default_albums(session, user.id)
