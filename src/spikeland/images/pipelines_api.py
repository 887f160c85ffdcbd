"""Enhancement pipelines: list, create, read (also by share link), change, delete, fork.

Reading is open to anonymous callers (system, PUBLIC and LINK-with-token pipelines); everything
else needs a signed-in user. Pipelines a caller may not see are 404, never 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller, OptionalPrincipal, user_id_of
from spikeland.images import pipelines as service
from spikeland.images.pipeline_schemas import (
    PipelineCreate,
    PipelineFork,
    PipelineOut,
    PipelinePage,
    PipelineUpdate,
)

router = APIRouter(route_class=Route, prefix="/pipelines", tags=["pipelines"])

ShareToken = Annotated[str | None, Query(max_length=200, description="The share token of a LINK pipeline.")]


@router.get("", response_model=PipelinePage)
async def list_pipelines(
    principal: OptionalPrincipal,
    session: DbSession,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> PipelinePage:
    viewer = user_id_of(principal)
    page = await service.list_pipelines(session, viewer, limit=limit, cursor=cursor)
    return PipelinePage(items=[PipelineOut.of(p, viewer) for p in page.items], next_cursor=page.next_cursor)


@router.post(
    "",
    openapi_extra=errors(pipeline_limit=429),
    response_model=PipelineOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_pipeline(body: PipelineCreate, caller: CurrentCaller, session: DbSession) -> PipelineOut:
    return PipelineOut.of(await service.create_pipeline(session, caller.user_id, body), caller.user_id)


@router.get("/{pipeline_id}", openapi_extra=errors(pipeline_not_found=404), response_model=PipelineOut)
async def get_pipeline(
    pipeline_id: str, principal: OptionalPrincipal, session: DbSession, token: ShareToken = None
) -> PipelineOut:
    viewer = user_id_of(principal)
    return PipelineOut.of(await service.get_pipeline(session, pipeline_id, viewer, token), viewer)


@router.patch("/{pipeline_id}", openapi_extra=errors(pipeline_not_found=404), response_model=PipelineOut)
async def update_pipeline(
    pipeline_id: str, body: PipelineUpdate, caller: CurrentCaller, session: DbSession
) -> PipelineOut:
    return PipelineOut.of(
        await service.update_pipeline(session, pipeline_id, caller.user_id, body), caller.user_id
    )


@router.delete(
    "/{pipeline_id}",
    openapi_extra=errors(pipeline_not_found=404, pipeline_in_use=409),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_pipeline(pipeline_id: str, caller: CurrentCaller, session: DbSession) -> Response:
    await service.delete_pipeline(session, pipeline_id, caller.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{pipeline_id}/fork",
    openapi_extra=errors(pipeline_not_found=404, pipeline_limit=429),
    response_model=PipelineOut,
    status_code=status.HTTP_201_CREATED,
)
async def fork_pipeline(
    pipeline_id: str,
    caller: CurrentCaller,
    session: DbSession,
    body: PipelineFork | None = None,
    token: ShareToken = None,
) -> PipelineOut:
    """A PRIVATE copy for the caller (same access rule as reading; counts toward the 50 limit)."""
    name = body.name if body else None
    fork = await service.fork_pipeline(session, pipeline_id, caller.user_id, name=name, token=token)
    return PipelineOut.of(fork, caller.user_id)
