"""The decode budget: decoded pixels held at once by one process stay within it (large decodes
wait their turn), a decode larger than the whole budget still runs (alone), and a JPEG kept as it
is decodes at 1/8 scale. Measured by the budget's own counters."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import httpx
import pytest
from PIL import Image

from spikeland.images.files import inspect_upload
from spikeland.integrations.imaging.budget import MB, DecodeBudget, decode_budget
from tests.support import sign_in

MAX_PIXELS = 64_000_000


def png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (10, 200, 90)).save(out, "PNG")
    return out.getvalue()


async def inspect(data: bytes, budget: DecodeBudget) -> tuple[int, int]:
    upload = await inspect_upload(data, "x.png", max_bytes=20 * MB, max_pixels=MAX_PIXELS, budget=budget)
    return upload.width, upload.height


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (they are waiting on threads)."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_concurrent_decodes_never_hold_more_than_the_budget() -> None:
    data = png(1000)  # 4 MB decoded (RGB is 4 bytes a pixel)
    budget = DecodeBudget(6 * MB)  # room for one at a time
    async with budget.hold(budget.limit):  # every decode below queues behind this one
        tasks = [asyncio.create_task(inspect(data, budget)) for _ in range(6)]
        await until(lambda: budget.waited == 6)
    assert await asyncio.gather(*tasks) == [(1000, 1000)] * 6
    assert budget.peak == budget.limit  # the initial hold; each decode alone after it
    assert budget.in_use == 0

    budget = DecodeBudget(9 * MB)  # room for two
    results = await asyncio.gather(*(inspect(data, budget) for _ in range(6)))
    assert results == [(1000, 1000)] * 6
    assert 4 * MB <= budget.peak <= 9 * MB and budget.in_use == 0


async def test_a_decode_larger_than_the_budget_runs_alone() -> None:
    budget = DecodeBudget(1 * MB)
    assert await inspect(png(2000), budget) == (2000, 2000)  # 16 MB decoded
    assert budget.peak == budget.limit and budget.in_use == 0


async def test_a_jpeg_kept_as_it_is_decodes_at_one_eighth_scale() -> None:
    out = io.BytesIO()
    Image.new("RGB", (1600, 800), (200, 30, 30)).save(out, "JPEG")
    budget = DecodeBudget(256 * MB)
    upload = await inspect_upload(
        out.getvalue(), "x.jpg", max_bytes=20 * MB, max_pixels=MAX_PIXELS, budget=budget
    )
    assert (upload.width, upload.height, upload.data) == (1600, 800, out.getvalue())
    assert budget.peak == 1600 * 800 * 4 // 64
    # Truncated, it is still refused: every byte is decoded at any scale.
    with pytest.raises(Exception, match="damaged"):
        await inspect_upload(
            out.getvalue()[:-200], "x.jpg", max_bytes=20 * MB, max_pixels=MAX_PIXELS, budget=budget
        )


async def test_a_cancelled_wait_gives_nothing_away() -> None:
    budget = DecodeBudget(10)
    async with budget.hold(10):
        waiting = asyncio.create_task(budget.hold(5).__aenter__())
        await until(lambda: budget.waited == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert budget.in_use == 0
    async with budget.hold(10):
        assert budget.in_use == 10


async def test_a_large_upload_over_http_holds_the_process_budget(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    budget = decode_budget()
    data = png(4000)  # 64 MB decoded, from a small file
    response = await client.post("/api/v1/images", files={"file": ("big.png", data, "image/png")})
    assert response.status_code == 201, response.text
    assert (response.json()["originalWidth"], response.json()["originalHeight"]) == (4000, 4000)
    assert budget.peak >= 4000 * 4000 * 4 and budget.in_use == 0
