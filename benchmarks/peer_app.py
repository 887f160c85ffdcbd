"""The hand-written peer of reads.py: what a person would write for the same reads without an ORM.

FastAPI, an asyncpg pool (10 connections, as the app's pool), Pydantic response models with the app's
field names, one SQL statement per request (the API key's owner looked up in the same statement),
served by uvicorn (uvloop, httptools, no access log) as its own process on the app's database.

    .venv/bin/python benchmarks/peer_app.py DATABASE_URL PORT
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Enhancement(Out):
    job_id: str
    url: str | None
    width: int | None
    height: int | None
    tier: str


class Image(Out):
    id: str
    name: str
    description: str | None
    original_url: str
    original_width: int
    original_height: int
    original_size_bytes: int
    original_format: str
    is_public: bool
    view_count: int
    share_token: str | None
    created_at: datetime
    updated_at: datetime
    latest_enhancement: Enhancement | None


class ImagePage(Out):
    items: list[Image]
    next_cursor: str | None


class Balance(Out):
    balance: int
    tier: str
    last_regeneration: datetime


IMAGES = """
SELECT i.id, i.name, i.description, i."originalUrl", i."originalWidth", i."originalHeight",
       i."originalSizeBytes", i."originalFormat", i."isPublic", i."viewCount", i."shareToken",
       i."createdAt", i."updatedAt", j.id AS job_id, j."enhancedUrl", j."enhancedWidth",
       j."enhancedHeight", j.tier::text AS tier
FROM enhanced_images i
LEFT JOIN LATERAL (
    SELECT id, "enhancedUrl", "enhancedWidth", "enhancedHeight", tier FROM image_enhancement_jobs
    WHERE "imageId" = i.id AND status = 'COMPLETED' ORDER BY "createdAt" DESC, id DESC LIMIT 1
) j ON true
"""
OWNER = '(SELECT "userId" FROM api_keys WHERE "keyHash" = $1 AND "isActive")'
MINE = IMAGES + f'WHERE i."userId" = {OWNER} ORDER BY i."createdAt" DESC, i.id DESC LIMIT $2'
PUBLIC = IMAGES + 'WHERE i."isPublic" ORDER BY i."createdAt" DESC, i.id DESC LIMIT $1'
ONE = IMAGES + f'WHERE i.id = $2 AND (i."isPublic" OR i."userId" = {OWNER})'
BALANCE = f'SELECT balance, tier::text, "lastRegeneration" FROM user_token_balances WHERE "userId" = {OWNER}'


# At module level: FastAPI resolves these (string) annotations in the module's namespace.
Auth = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=100)]


def _image(row: asyncpg.Record, owner: bool) -> Image:
    latest = None
    if row["job_id"] is not None:
        latest = Enhancement(
            job_id=row["job_id"],
            url=row["enhancedUrl"],
            width=row["enhancedWidth"],
            height=row["enhancedHeight"],
            tier=row["tier"],
        )
    return Image(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        original_url=row["originalUrl"],
        original_width=row["originalWidth"],
        original_height=row["originalHeight"],
        original_size_bytes=row["originalSizeBytes"],
        original_format=row["originalFormat"],
        is_public=row["isPublic"],
        view_count=row["viewCount"],
        share_token=row["shareToken"] if owner else None,
        created_at=row["createdAt"],
        updated_at=row["updatedAt"],
        latest_enhancement=latest,
    )


def _key(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401)
    return hashlib.sha256(authorization[7:].encode()).hexdigest()


def build(database_url: str) -> FastAPI:
    pool: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
        yield
        await pool["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/floor")
    async def floor() -> dict[str, str]:
        return {"name": "peer"}

    @app.get("/images", response_model=ImagePage, response_model_by_alias=True)
    async def mine(authorization: Auth = None, limit: Limit = 20) -> ImagePage:
        rows = await pool["db"].fetch(MINE, _key(authorization), limit)
        return ImagePage(items=[_image(r, True) for r in rows], next_cursor=None)

    @app.get("/gallery/images", response_model=ImagePage, response_model_by_alias=True)
    async def public(limit: Limit = 20) -> ImagePage:
        rows = await pool["db"].fetch(PUBLIC, limit)
        return ImagePage(items=[_image(r, False) for r in rows], next_cursor=None)

    @app.get("/images/{image_id}", response_model=Image, response_model_by_alias=True)
    async def one(image_id: str, authorization: Auth = None) -> Image:
        row = await pool["db"].fetchrow(ONE, _key(authorization), image_id)
        if row is None:
            raise HTTPException(404)
        return _image(row, True)

    @app.get("/tokens/balance", response_model=Balance, response_model_by_alias=True)
    async def balance(authorization: Auth = None) -> Balance:
        row = await pool["db"].fetchrow(BALANCE, _key(authorization))
        if row is None:
            raise HTTPException(401)
        return Balance(balance=row[0], tier=row[1], last_regeneration=row[2])

    return app


if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    config = dict(loop="uvloop", http="httptools", log_level="warning", access_log=False)
    uvicorn.run(build(url), host="127.0.0.1", port=port, **config)  # type: ignore[arg-type]
