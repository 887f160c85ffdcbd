"""Boxes in tests: a tier to buy, a web site on loopback for the boxes' browsers, and checks on the
browsers this machine runs."""

from __future__ import annotations

import http.server
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete

from spikeland.boxes.models import Box, BoxTier
from spikeland.integrations.boxes import make_box_provider
from tests.support.images import runner_for

API = "/api/v1"

PAGE = b"""<!doctype html><html><head><title>Loopback page</title></head><body>
<h1>Hello from the box test</h1><p>The answer is 42. Cats sleep a lot.</p>
<form><input id="q" name="q" placeholder="Search"></form><a href="/cookie">Show cookie</a>
</body></html>"""


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/cookie"):
            body = (
                f"<html><head><title>Cookie</title></head><body>cookie: {self.headers.get('Cookie', 'none')}"
            )
            payload, headers = (body + "</body></html>").encode(), {}
        else:
            payload, headers = PAGE, {"Set-Cookie": "box_session=kept; Max-Age=86400; Path=/"}
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def loopback_site() -> Iterator[str]:
    """A web site on 127.0.0.1 (a page that sets a lasting cookie, and /cookie that shows it)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def tier(app: FastAPI, price: int = 1, **fields: Any) -> AsyncIterator[str]:
    """A tier on offer; afterwards the boxes made meanwhile are gone (browsers, profiles, rows) and
    so is the tier (the seed tests count the tiers of the shared database)."""
    async with app.state.sessionmaker() as session, session.begin():
        row = BoxTier(
            name=fields.pop("name", f"Test {price}"),
            cpu=fields.pop("cpu", 1),
            ram=fields.pop("ram", 4096),
            storage=fields.pop("storage", 2),
            price_per_hour=price,
            price_per_month=price * 540,
            **fields,
        )
        session.add(row)
        await session.flush()
        tier_id = row.id
    try:
        yield tier_id
    finally:
        provider = make_box_provider(app.state.settings)
        async with app.state.sessionmaker() as session, session.begin():
            ids = (await session.scalars(delete(Box).where(Box.tier_id == tier_id).returning(Box.id))).all()
            await session.execute(delete(BoxTier).where(BoxTier.id == tier_id))
        for box_id in ids:
            await provider.delete(box_id)


async def work(app: FastAPI, **settings: Any) -> None:
    """Run every queued job to its end, the boxes' browsers allowed on loopback (the test's site)."""
    await runner_for(app, box_private_networks=True, **settings).run_until_idle()


def profile_of(app: FastAPI, box_id: str) -> Path:
    return Path(app.state.settings.data_dir) / "boxes" / box_id / "profile"


def browsers_of(app: FastAPI, box_id: str) -> list[int]:
    """Live processes running with the box's profile (the browser and its helpers)."""
    marker = f"--user-data-dir={profile_of(app, box_id)}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def limits_of(pid: int) -> tuple[int, int, int]:
    """A process's data-size and file-size limits (bytes) and how many CPUs it may run on."""
    limits = Path(f"/proc/{pid}/limits").read_text()
    found = {
        name: int(value)
        for name, value in re.findall(r"^(Max data size|Max file size)\s+(\d+)", limits, re.MULTILINE)
    }
    return found["Max data size"], found["Max file size"], len(os.sched_getaffinity(pid))


async def create_box(client: httpx.AsyncClient, tier_id: str, name: str = "mine") -> dict[str, Any]:
    response = await client.post(f"{API}/boxes", json={"name": name, "tierId": tier_id})
    assert response.status_code == 201, response.text
    box: dict[str, Any] = response.json()
    return box


async def box_of(client: httpx.AsyncClient, box_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/boxes/{box_id}")
    assert response.status_code == 200, response.text
    box: dict[str, Any] = response.json()
    return box


async def add_task(client: httpx.AsyncClient, box_id: str, kind: str, **payload: Any) -> str:
    response = await client.post(f"{API}/boxes/{box_id}/tasks", json={"type": kind, "payload": payload})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def task_of(client: httpx.AsyncClient, box_id: str, task_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/boxes/{box_id}/tasks/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task
