"""With a Gemini key the chat is planned by the model (a loopback peer speaking Gemini's API), from
the conversation; a model that fails or answers nonsense leaves the local planner to answer."""

from __future__ import annotations

import json

from pydantic import SecretStr
from sqlalchemy import update

from spikeland.boxes.models import Box, BoxStatus
from spikeland.settings import Settings
from tests.integrations.gemini_peer import error_answer, gemini_peer, text_answer
from tests.support import sign_in
from tests.support.boxes import API, create_box, tier
from tests.support.images import app_with


async def test_the_model_plans_from_the_conversation(settings: Settings, database_url: str) -> None:
    with gemini_peer() as peer:
        changes = {"gemini_api_key": SecretStr("test-key"), "gemini_api_base": peer.url}
        async with app_with(settings, database_url, **changes) as (app, client):
            await sign_in(client)
            async with tier(app) as tier_id:
                box_id = (await create_box(client, tier_id))["id"]
                async with app.state.sessionmaker() as session, session.begin():
                    await session.execute(
                        update(Box).where(Box.id == box_id).values(status=BoxStatus.RUNNING)
                    )
                plan = {
                    "tasks": [
                        {"type": "navigate", "payload": {"url": "https://example.org/"}},
                        {"type": "extract", "payload": {"selector": "body", "about": "prices"}},
                    ],
                    "reply": "On it.",
                }
                peer.answers = [
                    text_answer(json.dumps(plan)),
                    text_answer(
                        json.dumps({"tasks": [{"type": "navigate", "payload": {"url": "file:///"}}]})
                    ),
                    error_answer(503, "overloaded", "UNAVAILABLE"),
                ]
                said = await client.post(
                    f"{API}/boxes/{box_id}/messages", json={"content": "How much does example.org charge?"}
                )
                assert said.status_code == 201, said.text
                body = said.json()
                assert [(t["type"], t["payload"]["url"]) for t in body["tasks"][:1]] == [
                    ("navigate", "https://example.org/")
                ]
                assert body["tasks"][1]["payload"]["about"] == "prices"
                assert body["reply"]["role"] == "AGENT" and body["reply"]["content"] == "On it."
                asked = peer.received[0]
                assert asked.model == "gemini-2.5-flash" and asked.headers["x-goog-api-key"] == "test-key"
                history = json.dumps(asked.body["contents"])
                assert "Box created" in history and "How much does example.org charge?" in history

                # An unusable plan, then a failing model: the local planner answers instead.
                for _ in range(2):
                    fallback = await client.post(
                        f"{API}/boxes/{box_id}/messages", json={"content": "screenshot"}
                    )
                    assert fallback.status_code == 201, fallback.text
                    assert [t["type"] for t in fallback.json()["tasks"]] == ["screenshot"]
                assert len(peer.received) == 3
