"""Hooks other domains hang on images events, since images depends on none of the domains above it.

- pipeline deletion: a domain that points rows at a pipeline (the gallery's album default) says
  whether the pipeline is still in use, and the deletion is refused while one says yes;
- enhancement charged: a signed-in user paid tokens for a new enhancement job (analytics counts
  the conversion).

Each runs in the transaction of its event (a deletion's after its row lock on the pipeline).

And images' own reactions to identity's events, registered by ``register()`` (called once at
start by ``spikeland.routes.register_hooks``; importing this module registers nothing): a user's
deletion collects the keys of their originals and enhancement results, removed after it commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity import hooks as identity_hooks
from spikeland.images import service

PipelineInUseCheck = Callable[[AsyncSession, str], Awaitable[bool]]
_pipeline_in_use_checks: list[PipelineInUseCheck] = []


def on_pipeline_delete(check: PipelineInUseCheck) -> PipelineInUseCheck:
    """Register ``check`` (usable as a decorator); registering twice has no effect."""
    if check not in _pipeline_in_use_checks:
        _pipeline_in_use_checks.append(check)
    return check


async def pipeline_in_use(session: AsyncSession, pipeline_id: str) -> bool:
    for check in _pipeline_in_use_checks:
        if await check(session, pipeline_id):
            return True
    return False


# (session, user id, job id, tokens paid)
EnhancementChargedHook = Callable[[AsyncSession, str, str, int], Awaitable[None]]
_enhancement_charged_hooks: list[EnhancementChargedHook] = []


def on_enhancement_charged(hook: EnhancementChargedHook) -> EnhancementChargedHook:
    if hook not in _enhancement_charged_hooks:
        _enhancement_charged_hooks.append(hook)
    return hook


async def run_enhancement_charged_hooks(
    session: AsyncSession, user_id: str, job_id: str, tokens: int
) -> None:
    for hook in _enhancement_charged_hooks:
        await hook(session, user_id, job_id, tokens)


def register() -> None:
    """Idempotent: the hook list ignores a second registration of the same function."""
    identity_hooks.on_user_delete(service.user_file_keys)
