"""``audio.mixdown``: render one mixdown — fetch its tracks' files, mix them (``audio.mix``, in a
thread), store the WAV (and MP3), complete the job; progress recorded as it goes, so the project's
progress stream moves. A file gone since the mixdown was asked for, or one that no longer decodes,
ends the job (``PermanentFailure``); anything else is retried by the runner."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from spikeland.audio.decode import UnsupportedAudio
from spikeland.audio.mix import Rendered, Source, render
from spikeland.audio.models import AudioMixdown
from spikeland.audio.queue import MixdownQueue
from spikeland.integrations.storage import ObjectNotFound, Storage, remove_objects
from spikeland.settings import Settings
from spikeland.worker.runner import Claimed, LeaseLost, PermanentFailure

PROGRESS_SECONDS = 0.5  # how often the render's progress is written while it runs


def mixdown_key(user_id: str, project_id: str, mixdown_id: str, fmt: str) -> str:
    return f"users/{user_id}/audio-projects/{project_id}/mixdowns/{mixdown_id}.{fmt}"


class _Stopped(Exception):
    """Raised inside the render when the job stopped being this worker's."""


class _Progress:
    def __init__(self) -> None:
        self.share = 0.0
        self.stopped = False

    def __call__(self, share: float) -> None:  # called from the render's thread
        if self.stopped:
            raise _Stopped
        self.share = share


def mixdown_processor(storage: Storage) -> Any:
    async def run(queue: MixdownQueue, claimed: Claimed) -> None:
        async with queue.sessionmaker() as session:
            job = await session.get(AudioMixdown, claimed.id)
        if job is None:
            raise LeaseLost(claimed.id)  # deleted (with its project or user) meanwhile
        with tempfile.TemporaryDirectory(prefix="spikeland-mixdown-") as scratch:
            folder = Path(scratch)
            await queue.record(claimed, stage="fetching", progress=0)
            sources = [
                Source(await _fetch(storage, track, folder / f"track-{i}"), float(track["volume"]))
                for i, track in enumerate(job.tracks)
            ]
            await queue.record(claimed, stage="mixing", progress=5)
            rendered = await _render(queue, claimed, sources, folder)
            await queue.record(claimed, stage="storing", progress=95)
            keys = await _store(storage, job, rendered)
            try:
                await queue.complete(
                    claimed,
                    progress=100,
                    sampleRate=rendered.sample_rate,
                    duration=rendered.duration,
                    wavR2Key=keys[0][0],
                    wavSizeBytes=keys[0][1],
                    mp3R2Key=keys[1][0] if len(keys) > 1 else None,
                    mp3SizeBytes=keys[1][1] if len(keys) > 1 else None,
                )
            except LeaseLost:
                await remove_objects(storage, [key for key, _ in keys])  # nothing names them now
                raise

    return run


async def _fetch(storage: Storage, track: dict[str, Any], path: Path) -> Path:
    try:
        pieces = await storage.open(track["key"])
    except ObjectNotFound:
        raise PermanentFailure(f"The file of track {track['name']!r} is gone.") from None
    with path.open("wb") as handle:
        async for piece in pieces:
            await asyncio.to_thread(handle.write, piece)
    return path


async def _render(queue: MixdownQueue, claimed: Claimed, sources: list[Source], folder: Path) -> Rendered:
    progress = _Progress()
    work = asyncio.ensure_future(asyncio.to_thread(render, sources, folder, progress))
    written = 5
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=PROGRESS_SECONDS)
            percent = 5 + int(90 * progress.share)
            if percent > written and not work.done():
                await queue.record(claimed, progress=percent)
                written = percent
        return work.result()
    except UnsupportedAudio as exc:
        raise PermanentFailure(f"A track no longer decodes: {exc}") from exc
    except BaseException:
        progress.stopped = True  # the thread stops at its next block; its _Stopped is expected
        work.add_done_callback(lambda done: done.cancelled() or done.exception())
        raise


async def _store(storage: Storage, job: AudioMixdown, rendered: Rendered) -> list[tuple[str, int]]:
    files = [("wav", "audio/wav", rendered.wav)]
    if rendered.mp3 is not None:
        files.append(("mp3", "audio/mpeg", rendered.mp3))
    stored: list[tuple[str, int]] = []
    for fmt, content_type, path in files:
        key = mixdown_key(job.user_id, job.project_id, job.id, fmt)
        with path.open("rb") as handle:
            await storage.put_file(key, handle, content_type)
        stored.append((key, path.stat().st_size))
    return stored


def audio_queues(engine: Any, sessionmaker: Any, storage: Storage, settings: Settings) -> list[MixdownQueue]:
    return [
        MixdownQueue(
            engine, sessionmaker, mixdown_processor(storage), retry_base=settings.job_retry_base_seconds
        )
    ]
