"""API keys of the current user: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import StringConstraints

from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity import api_keys
from spikeland.identity.deps import CurrentCaller

router = APIRouter(route_class=Route, prefix="/api-keys", tags=["api-keys"])

KeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=api_keys.MAX_NAME_LENGTH)
]


class ApiKeyCreate(RequestSchema):
    name: KeyName


class ApiKeyOut(Schema):
    """A key as listed: never the key itself nor its hash."""

    id: str
    name: str
    key_prefix: str
    last_used_at: datetime | None
    is_active: bool
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str  # the full key; this response is the only time it is ever shown


class ApiKeyList(Schema):
    items: list[ApiKeyOut]


@router.post(
    "",
    openapi_extra=errors(api_key_limit_reached=409),
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_api_key(
    body: ApiKeyCreate, caller: CurrentCaller, session: DbSession, response: Response
) -> ApiKeyCreated:
    created = await api_keys.create_key(session, caller.user_id, body.name)
    response.headers["Cache-Control"] = "no-store"  # the body carries a secret
    listed = ApiKeyOut.model_validate(created.api_key)
    return ApiKeyCreated(**listed.model_dump(), key=created.secret)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(caller: CurrentCaller, session: DbSession) -> ApiKeyList:
    keys = await api_keys.list_keys(session, caller.user_id)
    return ApiKeyList(items=[ApiKeyOut.model_validate(key) for key in keys])


@router.delete(
    "/{key_id}", openapi_extra=errors(api_key_not_found=404), status_code=status.HTTP_204_NO_CONTENT
)
async def revoke_api_key(key_id: str, caller: CurrentCaller, session: DbSession) -> None:
    await api_keys.revoke_key(session, caller.user_id, key_id)
