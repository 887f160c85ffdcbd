"""Chat with a box: the local planner turns plain commands into tasks in the box's browser, and
answers from their results."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from spikeland.boxes.chat import plan
from tests.support.boxes import API, create_box, loopback_site, tier, work
from tests.support.fixtures import UserClient


def test_the_planner_understands_its_commands() -> None:
    assert plan("open example.org then screenshot") == [
        ("navigate", {"url": "https://example.org"}),
        ("screenshot", {}),
    ]
    assert plan('Click "Sign in"; type hello into #q') == [
        ("click", {"text": "Sign in"}),
        ("type", {"selector": "#q", "text": "hello"}),
    ]
    assert plan("type cats into Search") == [
        (
            "type",
            {
                "selector": '#Search, [name="Search"], [placeholder="Search"], [aria-label="Search"]',
                "text": "cats",
            },
        )
    ]
    assert plan("What does the page say about pricing?") == [
        ("extract", {"selector": "body", "about": "pricing"})
    ]
    assert plan("click .buy") == [("click", {"selector": ".buy"})]
    assert plan("make me a sandwich") is None
    assert plan("open example.org then make me a sandwich") is None


ABOUT = "what does the page say about answer"


@pytest.mark.xdist_group("chromium")
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
async def test_a_message_becomes_tasks_and_an_answer(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    with loopback_site() as site:
        async with tier(app) as tier_id:
            box_id = (await create_box(client, tier_id))["id"]
            await work(app)
            said = await client.post(
                f"{API}/boxes/{box_id}/messages",
                json={"content": f"open {site}/ then type cats into Search then {ABOUT}"},
            )
            assert said.status_code == 201, said.text
            assert [t["type"] for t in said.json()["tasks"]] == ["navigate", "type", "extract"]
            assert said.json()["reply"] is None
            await work(app)
            shot = await client.post(f"{API}/boxes/{box_id}/messages", json={"content": "take a screenshot"})
            await work(app)
            messages = (await client.get(f"{API}/boxes/{box_id}/messages")).json()
            replies = [m["content"] for m in messages if m["role"] == "AGENT"]
            assert len(replies) == 2
            assert "Opened Loopback page" in replies[0]
            assert "Typed 'cats'" in replies[0]
            assert "About answer, the page says: The answer is 42." in replies[0]
            task_id = shot.json()["tasks"][0]["id"]
            assert task_id in replies[1]
            png = await client.get(f"{API}/boxes/{box_id}/tasks/{task_id}/screenshot")
            assert png.content.startswith(b"\x89PNG")

            # A command the page cannot do is answered too.
            await client.post(f"{API}/boxes/{box_id}/messages", json={"content": "click #no-such-thing"})
            await work(app, box_task_timeout_seconds=2)
            last = (await client.get(f"{API}/boxes/{box_id}/messages")).json()[-1]
            assert last["role"] == "AGENT" and last["content"].startswith("Could not click")
