"""Routes answering ``core.wire.Rows`` write exactly what their response model would: each answer
validated by the model and dumped back by Pydantic gives the same JSON, field for field, and no
field the model lacks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from spikeland.analytics.schemas import Recorded
from spikeland.core.wire import render
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.gallery.schemas import AlbumPage
from spikeland.identity.schemas import UserOut
from spikeland.images.models import ImageEnhancementJob
from spikeland.images.schemas import ImageOut, ImagePage
from spikeland.tokens.schemas import BalanceOut, TransactionPage
from tests.support import sign_in
from tests.support.albums import make_album
from tests.support.images import upload

API = "/api/v1"


def _as_pydantic_writes_it(model: type[BaseModel], answer: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(answer).model_dump(mode="json", by_alias=True)


async def _enhanced(app: FastAPI, image_id: str, user_id: str) -> None:
    async with transaction(app.state.sessionmaker) as session:
        session.add(
            ImageEnhancementJob(
                image_id=image_id,
                user_id=user_id,
                tier="TIER_2K",
                tokens_cost=5,
                status=JobStatus.COMPLETED,
                enhanced_width=2048,
                enhanced_height=1536,
                enhanced_url="http://test/enhanced.jpg",
            )
        )


async def test_every_rows_route_answers_as_its_model(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = (await sign_in(client)).id
    image_ids = [await upload(client) for _ in range(3)]
    await _enhanced(app, image_ids[0], user_id)
    assert (await client.patch(f"{API}/images/{image_ids[1]}", json={"isPublic": True})).status_code == 200
    await make_album(client, name="Trip")
    checks: list[tuple[str, type[BaseModel]]] = [
        ("/me", UserOut),
        ("/images?limit=2", ImagePage),
        (f"/images/{image_ids[0]}", ImageOut),
        (f"/images/{image_ids[1]}", ImageOut),
        ("/gallery/images", ImagePage),
        ("/albums?limit=2", AlbumPage),
        ("/tokens/transactions", TransactionPage),
        ("/tokens/balance", BalanceOut),
    ]
    for path, model in checks:
        answer = await client.get(API + path)
        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        assert body == _as_pydantic_writes_it(model, body), path
    started = await client.post(f"{API}/analytics/sessions", json={"landingPage": "/"})
    page = {"sessionId": started.json()["sessionId"], "path": "/next"}
    viewed = await client.post(f"{API}/analytics/pageviews", json=page)
    assert viewed.status_code == 201 and viewed.json() == _as_pydantic_writes_it(Recorded, viewed.json())
    assert len(viewed.json()["pageViewIds"]) == 1 and viewed.json()["eventIds"] == []
    listed = (await client.get(f"{API}/images")).json()["items"]
    assert {"userId", "originalR2Key", "job_id"}.isdisjoint(listed[0])  # columns the model lacks
    assert listed[-1]["latestEnhancement"]["tier"] == "TIER_2K"


class Price(BaseModel):
    amount: Decimal
    label: str = "GBP"


class Priced(BaseModel):
    prices: list[Price]
    best: Price | None


def test_shapes_nested_models_defaults_and_decimals() -> None:
    payload = {"prices": [{"amount": Decimal("12.50"), "extra": 1}], "best": None}
    assert orjson.loads(render(Priced, payload)) == Priced.model_validate(payload).model_dump(mode="json")


def test_a_missing_field_fails_loudly() -> None:
    with pytest.raises(KeyError):
        render(Priced, {"prices": []})
