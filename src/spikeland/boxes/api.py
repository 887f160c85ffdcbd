"""Boxes over HTTP (``boxes.service`` has the rules): tiers, the owner's boxes, their actions, agent
tasks and chat. Lifecycle work happens in the runner: action routes answer 202 with the action."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from spikeland.boxes import agent_tasks, messages, service
from spikeland.boxes.deps import PlannerDep
from spikeland.boxes.models import BoxActionType
from spikeland.boxes.schemas import (
    ActionIn,
    ActionOut,
    BoxCreated,
    BoxIn,
    BoxOut,
    ChatOut,
    CloneIn,
    MessageIn,
    MessageOut,
    TaskIn,
    TaskOut,
    TierOut,
)
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import ObjectNotFound

router = APIRouter(route_class=Route, prefix="/boxes", tags=["boxes"])
tiers_router = APIRouter(route_class=Route, prefix="/box-tiers", tags=["boxes"])
_BOX = errors(box_not_found=404)
_CHANGE = errors(box_not_found=404, box_transition=409, insufficient_tokens=402)
_TASK = errors(box_not_found=404, agent_task_not_found=404)


def _created(box: object, token: str) -> BoxCreated:
    return BoxCreated(**BoxOut.model_validate(box).model_dump(), box_token=token)


@tiers_router.get("", response_model=list[TierOut])
async def list_tiers(session: DbSession) -> list[TierOut]:
    """The tiers on offer (a retired tier stays with the boxes made on it, unlisted)."""
    return [TierOut.model_validate(t) for t in await service.active_tiers(session)]


@router.post(
    "",
    response_model=BoxCreated,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=errors(invalid_tier=422, insufficient_tokens=402),
)
async def create_box(body: BoxIn, caller: CurrentCaller, session: DbSession) -> BoxCreated:
    """A new box: its first hour is paid now (402 when short), then it starts (CREATING → RUNNING).
    ``boxToken`` is the box's agent credential, shown only here."""
    box, token = await service.create_box(session, caller.user_id, body.name, body.tier_id)
    return _created(box, token)


@router.get("", response_model=list[BoxOut])
async def list_boxes(caller: CurrentCaller, session: DbSession) -> list[BoxOut]:
    """The caller's boxes (not deleted), newest first."""
    return [BoxOut.model_validate(b) for b in await service.list_boxes(session, caller.user_id)]


@router.get("/{box_id}", response_model=BoxOut, openapi_extra=_BOX)
async def get_box(box_id: str, caller: CurrentCaller, session: DbSession) -> BoxOut:
    return BoxOut.model_validate(await service.get_box(session, caller.user_id, box_id))


@router.delete(
    "/{box_id}", response_model=ActionOut, status_code=status.HTTP_202_ACCEPTED, openapi_extra=_CHANGE
)
async def delete_box(box_id: str, caller: CurrentCaller, session: DbSession) -> ActionOut:
    """Deleted at once for the owner; the runner then stops the browser and removes its profile."""
    action = await service.request_action(session, caller.user_id, box_id, BoxActionType.DELETE)
    return ActionOut.model_validate(action)


@router.post(
    "/{box_id}/actions",
    response_model=ActionOut,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_CHANGE,
)
async def box_action(box_id: str, body: ActionIn, caller: CurrentCaller, session: DbSession) -> ActionOut:
    """START (pays the run's first hour), STOP or RESTART; 409 ``box_transition`` when the box's
    status does not allow it."""
    action = await service.request_action(session, caller.user_id, box_id, BoxActionType(body.action))
    return ActionOut.model_validate(action)


@router.get("/{box_id}/actions", response_model=list[ActionOut], openapi_extra=_BOX)
async def list_actions(box_id: str, caller: CurrentCaller, session: DbSession) -> list[ActionOut]:
    box = await service.get_box(session, caller.user_id, box_id)
    return [ActionOut.model_validate(a) for a in await service.actions(session, box)]


@router.post(
    "/{box_id}/clone", response_model=BoxCreated, status_code=status.HTTP_201_CREATED, openapi_extra=_CHANGE
)
async def clone_box(box_id: str, body: CloneIn, caller: CurrentCaller, session: DbSession) -> BoxCreated:
    """A new box with a copy of this one's profile (cookies, storage), started; first hour paid."""
    box, token = await service.clone_box(session, caller.user_id, box_id, body.name)
    return _created(box, token)


@router.post(
    "/{box_id}/tasks",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=errors(box_not_found=404, box_not_running=409, invalid_task=422),
)
async def add_task(box_id: str, body: TaskIn, caller: CurrentCaller, session: DbSession) -> TaskOut:
    """A task for the box's browser: navigate {url}, click {selector|text}, type {selector, text},
    extract {selector?}, screenshot."""
    box = await service.get_box(session, caller.user_id, box_id)
    payload = {k: v for k, v in body.payload.items() if k != agent_tasks.CHAT_KEY}
    return TaskOut.model_validate(await agent_tasks.add_task(session, box, body.type, payload))


@router.get("/{box_id}/tasks", response_model=list[TaskOut], openapi_extra=_BOX)
async def list_tasks(box_id: str, caller: CurrentCaller, session: DbSession) -> list[TaskOut]:
    box = await service.get_box(session, caller.user_id, box_id)
    return [TaskOut.model_validate(t) for t in await agent_tasks.list_tasks(session, box)]


@router.get("/{box_id}/tasks/{task_id}", response_model=TaskOut, openapi_extra=_TASK)
async def get_task(box_id: str, task_id: str, caller: CurrentCaller, session: DbSession) -> TaskOut:
    box = await service.get_box(session, caller.user_id, box_id)
    return TaskOut.model_validate(await agent_tasks.get_task(session, box, task_id))


@router.get(
    "/{box_id}/tasks/{task_id}/screenshot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    openapi_extra=errors(box_not_found=404, agent_task_not_found=404, storage_unavailable=503),
)
async def task_screenshot(
    box_id: str, task_id: str, caller: CurrentCaller, session: DbSession, storage: StorageDep
) -> Response:
    """A completed screenshot task's PNG."""
    box = await service.get_box(session, caller.user_id, box_id)
    task = await agent_tasks.get_task(session, box, task_id)
    if task.type != "screenshot" or not (task.result or {}).get("screenshot"):
        raise agent_tasks.TaskNotFound("This task has no screenshot (yet).")
    try:
        png = await storage.get(agent_tasks.screenshot_key(box, task.id))
    except ObjectNotFound:
        raise agent_tasks.TaskNotFound("The screenshot is gone.") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{box_id}/messages", response_model=list[MessageOut], openapi_extra=_BOX)
async def list_messages(box_id: str, caller: CurrentCaller, session: DbSession) -> list[MessageOut]:
    """The box's conversation, oldest first: yours (USER), the agent's and the lifecycle (SYSTEM)."""
    box = await service.get_box(session, caller.user_id, box_id)
    return [MessageOut.model_validate(m) for m in await messages.list_messages(session, box)]


@router.post(
    "/{box_id}/messages",
    response_model=ChatOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=errors(box_not_found=404, box_not_running=409, invalid_task=422),
)
async def post_message(
    box_id: str, body: MessageIn, caller: CurrentCaller, session: DbSession, planner: PlannerDep
) -> ChatOut:
    """A message to the box's agent (commands in ``boxes.chat``): the tasks it planned, and the reply
    when no task was needed; otherwise the AGENT reply appears once the tasks have run."""
    box = await service.get_box(session, caller.user_id, box_id)
    message, tasks, reply = await messages.post_message(session, box, body.content, planner)
    return ChatOut(
        message=MessageOut.model_validate(message),
        tasks=[TaskOut.model_validate(t) for t in tasks],
        reply=MessageOut.model_validate(reply) if reply else None,
    )
