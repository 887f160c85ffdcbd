"""``audio_mixdowns`` as a queue of the job runner (``worker.table_queue``). A mixdown costs no
tokens: ending one without success marks it FAILED with the reason, and tells its progress stream."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.audio.models import AudioMixdown
from spikeland.core.clock import utcnow
from spikeland.db.enums import JobStatus
from spikeland.worker.table_queue import EVENTS_CHANNEL, TableQueue, TableSpec

JOBS_CHANNEL = "spikeland_audio_mixdowns"


async def notify_new_jobs(session: AsyncSession) -> None:
    """Wake the workers when the session's transaction commits (a new PENDING mixdown)."""
    await session.execute(select(func.pg_notify(JOBS_CHANNEL, "")))


class MixdownQueue(TableQueue):
    name = "audio.mixdown"
    spec = TableSpec(
        table="audio_mixdowns",
        jobs_channel=JOBS_CHANNEL,
        columns={
            "progress": "",
            "stage": "",
            "sampleRate": "",
            "duration": "",
            "wavR2Key": "",
            "wavSizeBytes": "",
            "mp3R2Key": "",
            "mp3SizeBytes": "",
            "processingCompletedAt": "",
            "errorMessage": "",
        },
        stage_column="stage",
    )

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        ended = await session.scalar(
            update(AudioMixdown)
            .where(
                AudioMixdown.id == job_id,
                AudioMixdown.status == JobStatus.PROCESSING,
                AudioMixdown.retry_count == fence,
            )
            .values(
                status=JobStatus.FAILED,
                error_message=error,
                stage=None,
                processing_completed_at=utcnow(),
                run_after=None,
                updated_at=utcnow(),
            )
            .returning(AudioMixdown.id)
        )
        if ended is None:
            return False
        await session.execute(select(func.pg_notify(EVENTS_CHANNEL, f"{ended} {JobStatus.FAILED.value} ")))
        return True
