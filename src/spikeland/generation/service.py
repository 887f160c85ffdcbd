"""Generation jobs: paying for and queueing them (at most three unfinished per user), reading them.

Creating a job locks the user's row first, so concurrent requests of one user are counted one
after the other: the fourth of four simultaneous requests sees three unfinished jobs and is
refused (429) without paying. The spend (SPEND_MCP_GENERATION, keyed by the job id) and the job
commit together; the workers are woken when they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import NotFound, TooManyRequests
from spikeland.core.pagination import Page, newest_first
from spikeland.db.cuid import cuid
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.generation.models import McpGenerationJob, McpJobType
from spikeland.generation.queue import notify_new_jobs
from spikeland.identity.models import User
from spikeland.images.files import Upload
from spikeland.images.service import get_owned_image, storage_unavailable
from spikeland.integrations.storage import Storage, StorageError
from spikeland.tokens import service as tokens
from spikeland.tokens.costs import generation_cost
from spikeland.tokens.models import TokenTransactionType

MAX_UNFINISHED = 3
UNFINISHED = (JobStatus.PENDING, JobStatus.PROCESSING)


class GenerationJobNotFound(NotFound):
    code = "generation_job_not_found"

    def __init__(self) -> None:
        super().__init__("No such generation job.")


class TooManyGenerationJobs(TooManyRequests):
    code = "too_many_generation_jobs"


@dataclass(frozen=True)
class InputImage:
    """A MODIFY job's input: one of the user's images (its stored original) or an uploaded one."""

    key: str
    url: str
    upload: Upload | None = None  # to store under ``key`` (None: ``key`` is an existing object)


@dataclass(frozen=True)
class Queued:
    job: McpGenerationJob
    balance: int


def input_key(user_id: str, job_id: str, ext: str) -> str:
    return f"users/{user_id}/generation/{job_id}-input.{ext}"


async def stored_input(session: AsyncSession, user_id: str, image_id: str) -> InputImage:
    image = await get_owned_image(session, user_id, image_id)
    return InputImage(image.original_r2_key, image.original_url)


async def create_job(
    session: AsyncSession,
    storage: Storage,
    user_id: str,
    *,
    type_: McpJobType,
    prompt: str,
    tier: EnhancementTier,
    api_key_id: str | None,
    source: InputImage | None = None,
    job_id: str | None = None,
) -> Queued:
    """Pay for and queue a job (429 with three unfinished, 402 when the balance is short)."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    unfinished = await session.scalar(
        select(func.count())
        .select_from(McpGenerationJob)
        .where(McpGenerationJob.user_id == user_id, McpGenerationJob.status.in_(UNFINISHED))
    )
    if (unfinished or 0) >= MAX_UNFINISHED:
        raise TooManyGenerationJobs(
            f"At most {MAX_UNFINISHED} generation jobs may be unfinished at once; wait for one to end.",
            details={"unfinished": unfinished, "limit": MAX_UNFINISHED},
        )
    job_id = job_id or cuid()
    cost = generation_cost(tier)
    movement = await tokens.spend(
        session,
        user_id,
        cost,
        TokenTransactionType.SPEND_MCP_GENERATION,
        source="mcp_generation",
        source_id=job_id,
        metadata={"jobId": job_id, "type": type_.value, "tier": tier.value},
    )
    if source is not None and source.upload is not None:
        try:
            await storage.put(source.key, source.upload.data, source.upload.content_type)
        except StorageError as exc:
            raise storage_unavailable() from exc
    job = McpGenerationJob(
        id=job_id,
        user_id=user_id,
        api_key_id=api_key_id,
        type=type_,
        tier=tier,
        tokens_cost=cost,
        status=JobStatus.PENDING,
        prompt=prompt,
        input_image_url=source.url if source else None,
        input_image_r2_key=source.key if source else None,
    )
    session.add(job)
    await session.flush()
    await notify_new_jobs(session)
    return Queued(job, movement.balance_after)


async def get_job(session: AsyncSession, user_id: str, job_id: str) -> McpGenerationJob:
    job = await session.get(McpGenerationJob, job_id)
    if job is None or job.user_id != user_id:
        raise GenerationJobNotFound()
    return job


async def list_jobs(
    session: AsyncSession, user_id: str, *, limit: int, cursor: str | None
) -> Page[McpGenerationJob]:
    """The user's generation jobs, newest first."""
    query = select(McpGenerationJob).where(McpGenerationJob.user_id == user_id)
    return await newest_first(
        session, query, McpGenerationJob.created_at, McpGenerationJob.id, limit=limit, cursor=cursor
    )


async def user_file_keys(session: AsyncSession, user_id: str) -> list[str]:
    """The storage keys of the user's generation inputs and outputs, for the user's deletion
    (identity's ``on_user_delete``; the jobs then go by cascade), in one statement.

    The jobs are locked, as images locks its enhancement jobs: a worker completing one waits for
    the deletion and then finds it gone, rather than writing an output key after it was read. An
    input taken from one of the user's images has that image's key; it is listed once.
    """
    rows = await session.execute(
        select(McpGenerationJob.input_image_r2_key, McpGenerationJob.output_image_r2_key)
        .where(McpGenerationJob.user_id == user_id)
        .order_by(McpGenerationJob.id)
        .with_for_update()
    )
    return [key for row in rows.all() for key in row if key]
