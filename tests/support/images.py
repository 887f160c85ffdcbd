"""Images in tests: a real picture, an upload through the API, a worker run, an app of its own."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import Image

from spikeland.app import create_app
from spikeland.db.engine import transaction
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.generation.models import McpGenerationJob, McpJobType
from spikeland.generation.tasks import output_key
from spikeland.images.models import ImageEnhancementJob
from spikeland.integrations.storage import enhanced_key
from spikeland.integrations.storage.local import LocalStorage
from spikeland.jobs import build_runner
from spikeland.settings import Settings
from spikeland.worker.runner import Runner
from tests.support.clients import http_client


@asynccontextmanager
async def app_with(
    settings: Settings, database_url: str, **changes: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own, built with changed settings, and a client on it."""
    app = create_app(settings.model_copy(update=changes), database_url=database_url)
    async with app.router.lifespan_context(app), http_client(app) as client:
        yield app, client


def picture(width: int = 320, height: int = 200, fmt: str = "JPEG", color: Any = None) -> bytes:
    """A small real image with some structure (a gradient and a square), encoded as ``fmt``."""
    image = Image.new("RGB", (width, height), color or (90, 60, 40))
    pixels = image.load()
    assert pixels is not None
    for x in range(0, width, 4):
        for y in range(0, height, 4):
            pixels[x, y] = (x * 255 // width, y * 255 // height, 128)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


async def upload(client: httpx.AsyncClient, data: bytes | None = None, name: str = "photo.jpg") -> str:
    response = await client.post(
        "/api/v1/images", files={"file": (name, data or picture(), "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def runner_for(app: FastAPI, **overrides: Any) -> Runner:
    state = app.state
    settings = state.settings.model_copy(update=overrides) if overrides else state.settings
    return build_runner(state.engine, state.sessionmaker, settings, state.storage, state.imaging)


async def work(app: FastAPI) -> Runner:
    """Run every queued job to its end (retries included, when their backoff is short)."""
    runner = runner_for(app)
    await runner.run_until_idle()
    return runner


async def finished_results(app: FastAPI, user_id: str, image_id: str) -> None:
    """A COMPLETED enhancement of the image and a COMPLETED generation, as the workers leave them:
    the rows and their stored JPEGs."""
    async with transaction(app.state.sessionmaker) as session:
        job = ImageEnhancementJob(
            image_id=image_id,
            user_id=user_id,
            tier=EnhancementTier.TIER_1K,
            tokens_cost=2,
            status=JobStatus.COMPLETED,
        )
        generated = McpGenerationJob(
            user_id=user_id,
            type=McpJobType.GENERATE,
            tier=EnhancementTier.TIER_1K,
            tokens_cost=2,
            status=JobStatus.COMPLETED,
            prompt="a lighthouse",
        )
        session.add_all([job, generated])
        await session.flush()
        job.enhanced_r2_key = enhanced_key(user_id, job.id)
        generated.output_image_r2_key = output_key(user_id, generated.id)
        keys = [job.enhanced_r2_key, generated.output_image_r2_key]
    for key in keys:
        await app.state.storage.put(key, picture(48, 32), "image/jpeg")


def stored_files(app: FastAPI, user_id: str) -> list[str]:
    """The keys stored under the user's prefix in the app's local storage, sorted."""
    storage = app.state.storage
    assert isinstance(storage, LocalStorage)
    user_root = storage.root / "users" / user_id
    return sorted(str(p.relative_to(storage.root)) for p in Path(user_root).rglob("*") if p.is_file())
