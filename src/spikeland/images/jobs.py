"""Enhancement jobs: paying for and queueing them, reading, cancelling.

Creating a job spends its tier's cost and inserts it PENDING in the caller's transaction, so
there is never a paid job that does not exist or a job that was not paid for; the workers are
woken when that transaction commits. The spend is keyed by the job id — or by the client's
Idempotency-Key, in which case a repeat returns the job the first request made.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.db.cuid import cuid
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.identity.models import User
from spikeland.images import hooks, pipelines
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.images.queue import end_with_refund, notify_new_jobs
from spikeland.images.service import ImageNotFound, get_owned_image
from spikeland.tokens import service as tokens
from spikeland.tokens.costs import enhancement_cost
from spikeland.tokens.idempotency import IdempotencyKeyReused, fingerprint, idempotency_source
from spikeland.tokens.models import TokenTransactionType

ANONYMOUS_USER_ID = "anonymous-system-user"
ANONYMOUS_EMAIL = "anonymous@system.spike.land"
MAX_BATCH = 20
TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.REFUNDED, JobStatus.CANCELLED})


class JobNotFound(NotFound):
    code = "job_not_found"

    def __init__(self) -> None:
        super().__init__("No such job.")


@dataclass(frozen=True)
class Request:
    """One enhancement to make: the image, the tier, and optionally a pipeline and a blend source."""

    image_id: str
    tier: EnhancementTier
    pipeline_id: str | None = None
    source_image_id: str | None = None


@dataclass(frozen=True)
class Queued:
    job: ImageEnhancementJob
    balance: int  # the balance after paying
    created: bool  # False: an Idempotency-Key repeat, returning the first request's job


async def enhance(
    session: AsyncSession,
    user_id: str,
    request: Request,
    *,
    idempotency_key: str | None = None,
    anonymous: bool = False,
    job_id: str | None = None,
) -> Queued:
    """Pay for and queue one enhancement (402 when the balance is short, nothing written);
    ``job_id``: the new job's id when the caller decides it (an admin's rerun)."""
    image = await get_owned_image(session, user_id, request.image_id)
    if request.source_image_id is not None:
        if request.source_image_id == image.id:
            raise ValidationFailed("An image cannot be blended with itself.", code="invalid_blend_source")
        await get_owned_image(session, user_id, request.source_image_id)
    max_retries = 3
    if request.pipeline_id is not None:
        resolved = await pipelines.resolve_for_job(session, request.pipeline_id, user_id)
        max_retries = resolved.generation.retry_attempts

    job_id = job_id or cuid()
    cost = enhancement_cost(request.tier)
    movement = await tokens.spend(
        session,
        user_id,
        cost,
        TokenTransactionType.SPEND_ENHANCEMENT,
        source="image_enhancement",
        source_id=idempotency_source(idempotency_key) or job_id,
        metadata={"jobId": job_id, "imageId": image.id, "tier": request.tier.value},
        # The same key for another image, tier, pipeline or blend is another request (422).
        fingerprint=fingerprint("enhance", asdict(request)) if idempotency_key else None,
    )
    if not movement.applied:
        first = (movement.metadata or {}).get("jobId")
        job = await session.get(ImageEnhancementJob, first) if first else None
        if job is None:  # a key first used before requests were fingerprinted, for a plain spend
            raise IdempotencyKeyReused()
        return Queued(job, movement.balance_after, created=False)

    job = ImageEnhancementJob(
        id=job_id,
        image_id=image.id,
        user_id=user_id,
        tier=request.tier,
        tokens_cost=cost,
        status=JobStatus.PENDING,
        pipeline_id=request.pipeline_id,
        source_image_id=request.source_image_id,
        is_blend=request.source_image_id is not None,
        is_anonymous=anonymous,
        max_retries=max_retries,
    )
    session.add(job)
    await session.flush()
    if request.pipeline_id is not None:
        await pipelines.count_use(session, request.pipeline_id)
    if not anonymous:
        await hooks.run_enhancement_charged_hooks(session, user_id, job.id, cost)
    await notify_new_jobs(session)
    return Queued(job, movement.balance_after, created=True)


async def enhance_many(session: AsyncSession, user_id: str, requests: Sequence[Request]) -> list[Queued]:
    """Several enhancements, all or none: one short balance refuses the whole batch (402)."""
    if not 1 <= len(requests) <= MAX_BATCH:
        raise ValidationFailed(f"A batch holds 1 to {MAX_BATCH} images.", code="invalid_batch")
    if len({r.image_id for r in requests}) != len(requests):
        raise ValidationFailed("An image appears twice in the batch.", code="invalid_batch")
    return [await enhance(session, user_id, request) for request in requests]


async def get_job(session: AsyncSession, job_id: str, user_id: str | None) -> ImageEnhancementJob:
    """The job for its owner; anonymous visitors' jobs for anyone who has the id."""
    job = await session.get(ImageEnhancementJob, job_id)
    if job is None or not (job.user_id == user_id or job.is_anonymous):
        raise JobNotFound()
    return job


async def list_jobs(
    session: AsyncSession, user_id: str, image_id: str, *, limit: int = 50
) -> list[ImageEnhancementJob]:
    """The jobs of one of the user's images, newest first."""
    await get_owned_image(session, user_id, image_id)
    rows = await session.scalars(
        select(ImageEnhancementJob)
        .where(ImageEnhancementJob.image_id == image_id, ImageEnhancementJob.user_id == user_id)
        .order_by(ImageEnhancementJob.created_at.desc(), ImageEnhancementJob.id.desc())
        .limit(limit)
    )
    return list(rows)


async def cancel(session: AsyncSession, user_id: str, job_id: str) -> ImageEnhancementJob:
    """Cancel a job still waiting (PENDING) and refund it; a started or ended job → 409."""
    job = await get_job(session, job_id, user_id)
    if job.user_id != user_id:
        raise JobNotFound()
    cancelled = await end_with_refund(session, job.id, None, cancel=True)
    if cancelled is None:
        await session.refresh(job)
        raise Conflict(
            f"Only a waiting job can be cancelled; this one is {job.status.value}.",
            code="job_not_cancellable",
            details={"status": job.status.value},
        )
    return cancelled


async def anonymous_user(session: AsyncSession) -> str:
    """The system user that owns visitors' uploads and jobs (created on first use)."""
    await session.execute(
        insert(User)
        .values(id=ANONYMOUS_USER_ID, email=ANONYMOUS_EMAIL, name="Anonymous User")
        .on_conflict_do_nothing(index_elements=[User.id])
    )
    return ANONYMOUS_USER_ID


async def enhance_anonymous(session: AsyncSession, image_id: str, share_token: str) -> Queued:
    """A visitor's FREE enhancement of the image they uploaded (they hold its share token)."""
    image = await session.get(EnhancedImage, image_id)
    if (
        image is None
        or image.user_id != ANONYMOUS_USER_ID
        or image.share_token is None
        or not secrets.compare_digest(image.share_token, share_token)
    ):
        raise ImageNotFound()
    return await enhance(session, ANONYMOUS_USER_ID, Request(image.id, EnhancementTier.FREE), anonymous=True)


async def image_of(session: AsyncSession, job: ImageEnhancementJob) -> EnhancedImage:
    image = await session.get(EnhancedImage, job.image_id)
    if image is None:
        raise JobNotFound()
    return image
