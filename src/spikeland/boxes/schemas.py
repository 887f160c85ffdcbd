"""Boxes on the wire: tiers, boxes, their actions, agent tasks and chat messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from spikeland.boxes.models import BoxActionType, BoxMessageRole, BoxStatus
from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.db.enums import JobStatus


def _line(value: str) -> str:
    return no_control(value)


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_line)
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Message = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(_text)
]


class TierOut(Schema):
    id: str
    name: str
    description: str | None
    cpu: int
    ram: int  # MB
    storage: int  # GB
    price_per_hour: int
    price_per_month: int


class BoxIn(RequestSchema):
    name: Name
    tier_id: Id


class CloneIn(RequestSchema):
    name: Name | None = None  # default "Clone of <name>"


class BoxOut(Schema):
    id: str
    name: str
    description: str | None
    tier_id: str | None
    status: BoxStatus
    connection_url: str | None
    run_started_at: datetime | None
    hours_charged: int
    created_at: datetime
    updated_at: datetime


class BoxCreated(BoxOut):
    box_token: str = Field(description="The agent's credential for this box: shown once, only now.")


class ActionIn(RequestSchema):
    action: Literal[BoxActionType.START, BoxActionType.STOP, BoxActionType.RESTART]


class ActionOut(Schema):
    id: str
    box_id: str
    action: BoxActionType
    status: JobStatus
    error: str | None
    metadata: Any = Field(validation_alias="metadata_")
    created_at: datetime
    updated_at: datetime


class TaskIn(RequestSchema):
    type: Literal["navigate", "click", "type", "extract", "screenshot"]
    payload: dict[str, Any] = Field(default_factory=dict)


class TaskOut(Schema):
    id: str
    box_id: str
    type: str
    payload: Any
    status: JobStatus
    result: Any
    error: str | None
    created_at: datetime
    updated_at: datetime


class MessageIn(RequestSchema):
    content: Message


class MessageOut(Schema):
    id: str
    box_id: str
    role: BoxMessageRole
    content: str
    created_at: datetime


class ChatOut(Schema):
    message: MessageOut
    tasks: list[TaskOut]  # what the planner asked the box to do; the AGENT reply follows them
    reply: MessageOut | None  # at once when no task was needed


class HeartbeatOut(Schema):
    box_id: str
    status: BoxStatus
    connection_url: str | None
    pending_tasks: int


class TaskResultIn(RequestSchema):
    status: Literal[JobStatus.COMPLETED, JobStatus.FAILED]
    result: dict[str, Any] | None = None
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None
