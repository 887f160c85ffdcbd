"""Operations on the wire: reported errors and feedback (bounded as the original bounded them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.ops.models import FeedbackStatus, FeedbackType


def _line(value: str) -> str:
    return no_control(value)


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


def _metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, separators=(",", ":"))) > 4096:
        raise ValueError("must be at most 4096 characters as JSON")
    return value


Line100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_line)]
Line200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_line)]
Line500 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_line)]


class ClientError(RequestSchema):
    """One error a client saw (its own stack; the user is whoever is signed in)."""

    message: Annotated[str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_text)]
    stack: Annotated[str, StringConstraints(max_length=50_000), AfterValidator(_text)] | None = None
    source_file: Line500 | None = None
    source_line: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    source_column: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    caller_name: Line200 | None = None
    route: Line500 | None = None
    error_type: Line100 | None = None
    error_code: Line100 | None = None
    metadata: Annotated[dict[str, Any] | None, AfterValidator(_metadata)] = None


class ErrorReport(RequestSchema):
    errors: list[ClientError] = Field(min_length=1, max_length=20)


class ErrorReported(Schema):
    error_ids: list[str]


class ErrorLogOut(Schema):
    id: str
    timestamp: datetime
    message: str
    stack: str | None
    source_file: str | None
    source_line: int | None
    source_column: int | None
    caller_name: str | None
    user_id: str | None
    route: str | None
    environment: str
    error_type: str | None
    error_code: str | None
    metadata: Any = Field(validation_alias="metadata_")


class FeedbackIn(RequestSchema):
    type: FeedbackType
    message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000), AfterValidator(_text)
    ]
    page: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_048), AfterValidator(_line)
    ]
    email: EmailStr | None = Field(
        default=None, max_length=254, description="To hear back when it is resolved."
    )


class FeedbackCreated(Schema):
    id: str


class FeedbackUpdate(RequestSchema):
    status: FeedbackStatus | None = None
    admin_note: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), AfterValidator(_text)]
        | None
    ) = None


class FeedbackOut(Schema):
    id: str
    user_id: str | None
    email: str | None
    type: str
    message: str
    page: str
    user_agent: str | None
    status: str
    admin_note: str | None
    created_at: datetime
    updated_at: datetime
