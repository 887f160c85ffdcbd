"""A box is a real Chromium: created, driven by tasks, stopped, started with its profile, cloned and
deleted, over HTTP with the runner doing the work (Debian's chromium at /usr/bin/chromium)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from PIL import Image

from spikeland.boxes.agent_tasks import screenshot_key
from spikeland.boxes.models import Box, BoxStatus
from spikeland.boxes.tasks import reap_orphans
from spikeland.identity.models import UserRole
from tests.support.boxes import (
    API,
    add_task,
    box_of,
    browsers_of,
    create_box,
    limits_of,
    loopback_site,
    profile_of,
    task_of,
    tier,
    work,
)
from tests.support.fixtures import UserClient
from tests.support.images import runner_for

pytestmark = [
    pytest.mark.xdist_group("chromium"),
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"),
]


async def test_a_box_browses_stops_starts_clones_and_is_deleted(
    app: FastAPI, user_client: UserClient
) -> None:
    client, _ = await user_client()
    with loopback_site() as site:
        async with tier(app, price=1) as tier_id:
            created = await create_box(client, tier_id)
            box_id = created["id"]
            assert created["status"] == "CREATING" and created["boxToken"]
            await work(app)
            box = await box_of(client, box_id)
            assert box["status"] == "RUNNING"
            assert box["connectionUrl"].startswith("http://127.0.0.1:")
            # The tier's limits (cpu 1, ram 4096 MB, storage 2 GB) hold for every process of it.
            for pid in browsers_of(app, box_id):
                assert limits_of(pid) == (4096 * 1024 * 1024, 2 * 1024**3, 1)

            # Real work in the box's browser: the page's text and a real PNG of it.
            navigate = await add_task(client, box_id, "navigate", url=f"{site}/")
            extract = await add_task(client, box_id, "extract", selector="body")
            shot = await add_task(client, box_id, "screenshot")
            await work(app)
            assert (await task_of(client, box_id, navigate))["result"]["title"] == "Loopback page"
            text = (await task_of(client, box_id, extract))["result"]["text"]
            assert "The answer is 42." in text
            assert (await task_of(client, box_id, shot))["result"]["screenshot"]["contentType"] == "image/png"
            png = await client.get(f"{API}/boxes/{box_id}/tasks/{shot}/screenshot")
            assert png.status_code == 200 and png.headers["content-type"] == "image/png"
            assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
            assert Image.open(io.BytesIO(png.content)).size[0] > 100

            # Not while it runs; stopping leaves no browser behind.
            refused = await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "START"})
            assert refused.status_code == 409 and refused.json()["error"]["code"] == "box_transition"
            stop = await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "STOP"})
            assert stop.status_code == 202 and (await box_of(client, box_id))["status"] == "STOPPING"
            await work(app)
            stopped = await box_of(client, box_id)
            assert (stopped["status"], stopped["connectionUrl"]) == ("STOPPED", None)
            assert browsers_of(app, box_id) == []
            no_task = await client.post(f"{API}/boxes/{box_id}/tasks", json={"type": "screenshot"})
            assert no_task.status_code == 409 and no_task.json()["error"]["code"] == "box_not_running"

            # Started again, the profile kept the cookie the page set before the stop.
            start = await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "START"})
            assert start.status_code == 202
            await work(app)
            assert (await box_of(client, box_id))["status"] == "RUNNING"
            await add_task(client, box_id, "navigate", url=f"{site}/cookie")
            seen = await add_task(client, box_id, "extract")
            await work(app)
            assert "box_session=kept" in (await task_of(client, box_id, seen))["result"]["text"]

            # A clone has the cookie too.
            clone = await client.post(f"{API}/boxes/{box_id}/clone", json={})
            assert clone.status_code == 201, clone.text
            clone_id = clone.json()["id"]
            assert clone.json()["name"] == "Clone of mine"
            await work(app)
            assert (await box_of(client, clone_id))["status"] == "RUNNING"
            await add_task(client, clone_id, "navigate", url=f"{site}/cookie")
            cloned = await add_task(client, clone_id, "extract")
            await work(app)
            assert "box_session=kept" in (await task_of(client, clone_id, cloned))["result"]["text"]

            # Deleted: gone for the owner at once; the runner removes the browser and the profile.
            for gone in (box_id, clone_id):
                deleted = await client.delete(f"{API}/boxes/{gone}")
                assert deleted.status_code == 202, deleted.text
                assert (await client.get(f"{API}/boxes/{gone}")).status_code == 404
            await work(app)
            for gone in (box_id, clone_id):
                assert browsers_of(app, gone) == []
                assert not profile_of(app, gone).exists()
            async with app.state.sessionmaker() as session:
                row = await session.get(Box, box_id)
                assert row is not None
            assert not await app.state.storage.exists(screenshot_key(row, shot))  # its screenshots too
            assert (await client.get(f"{API}/boxes")).json() == []


async def test_lifecycle_events_are_system_messages(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=1) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app)
        await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "RESTART"})
        await work(app)
        assert (await box_of(client, box_id))["status"] == "RUNNING"
        actions = (await client.get(f"{API}/boxes/{box_id}/actions")).json()
        assert [(a["action"], a["status"]) for a in actions] == [
            ("CREATE", "COMPLETED"),
            ("RESTART", "COMPLETED"),
        ]
        messages = (await client.get(f"{API}/boxes/{box_id}/messages")).json()
        assert {m["role"] for m in messages} == {"SYSTEM"}
        assert [m["content"] for m in messages][-2:] == ["Restart requested.", "Box restarted."]


async def test_a_box_deleted_before_it_ran_ends_terminated(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=1) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        assert (await client.delete(f"{API}/boxes/{box_id}")).status_code == 202
        again = await client.delete(f"{API}/boxes/{box_id}")
        assert again.status_code == 404  # deleted for its owner at once
        await work(app)  # CREATE, then DELETE, in that order
        async with app.state.sessionmaker() as session:
            box = await session.get(Box, box_id)
            assert box is not None and box.deleted_at is not None
            assert (box.status, box.connection_url, box.run_started_at) == (BoxStatus.TERMINATED, None, None)
        assert browsers_of(app, box_id) == []
        assert not profile_of(app, box_id).exists()


async def test_a_deleted_users_boxes_are_reaped(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    admin, _ = await user_client(role=UserRole.ADMIN)
    async with tier(app, price=1) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app)
        shot = await add_task(client, box_id, "screenshot")
        await work(app)
        async with app.state.sessionmaker() as session:
            row = await session.get(Box, box_id)
            assert row is not None
        key = screenshot_key(row, shot)
        assert await app.state.storage.exists(key)

        deleted = await admin.delete(f"{API}/admin/users/{user_id}")
        assert deleted.status_code in (200, 204), deleted.text
        assert not await app.state.storage.exists(key)  # the user's files went with them
        assert browsers_of(app, box_id)  # the rows went by cascade; the browser is the reaper's
        assert await reap_orphans(app.state.sessionmaker, app.state.settings) == {"reaped": 1}
        assert browsers_of(app, box_id) == []
        assert not profile_of(app, box_id).exists()
        assert await reap_orphans(app.state.sessionmaker, app.state.settings) == {"reaped": 0}


async def test_a_box_deleted_while_stopping_ends_terminated(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=1) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app)
        assert (
            await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "STOP"})
        ).status_code == 202
        assert (await client.delete(f"{API}/boxes/{box_id}")).status_code == 202
        await work(app)  # STOP, then DELETE
        async with app.state.sessionmaker() as session:
            box = await session.get(Box, box_id)
            assert box is not None and box.status is BoxStatus.TERMINATED
        assert browsers_of(app, box_id) == [] and not profile_of(app, box_id).exists()


async def test_a_box_may_not_open_the_servers_own_network(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    with loopback_site() as site:
        async with tier(app, price=1) as tier_id:
            box_id = (await create_box(client, tier_id))["id"]
            await work(app)
            # The page itself (its host is 127.0.0.1), and another box's DevTools endpoint.
            connection = (await box_of(client, box_id))["connectionUrl"]
            direct = await add_task(client, box_id, "navigate", url=f"{site}/")
            devtools = await add_task(client, box_id, "navigate", url=f"{connection}/json/list")
            await runner_for(app).run_until_idle()  # the default: private networks refused
            for task_id in (direct, devtools):
                task = await task_of(client, box_id, task_id)
                assert task["status"] == "FAILED" and "private network" in task["error"]
            # A name resolving to loopback is refused as well.
            named = await add_task(client, box_id, "navigate", url=site.replace("127.0.0.1", "localhost"))
            await runner_for(app).run_until_idle()
            assert (await task_of(client, box_id, named))["status"] == "FAILED"
            # A page's own requests are guarded while a task runs: opened where allowed, its link to
            # loopback is blocked once the guard is on.
            await add_task(client, box_id, "navigate", url=f"{site}/")
            await work(app)
            clicked = await add_task(client, box_id, "click", text="Show cookie")
            read = await add_task(client, box_id, "extract")
            await runner_for(app).run_until_idle()
            assert (await task_of(client, box_id, clicked))["status"] == "COMPLETED"
            text = (await task_of(client, box_id, read))["result"]["text"]
            assert "ERR_BLOCKED_BY_CLIENT" in text and "cookie:" not in text
