"""Reading a form the way the admin API reads its body: the API's request schema checks the fields
(one rule for both doors), and its refusal is shown like a service's; ``datetime-local`` fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from spikeland.core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def schema_of(kind: type[M], **fields: Any) -> M:
    """``kind`` built from a form's fields, or a 422 naming the first field that is wrong."""
    try:
        return kind(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "form"
        raise ValidationFailed(
            f"Check the form — {field}: {problem['msg']}", code="validation_error"
        ) from None


def utc_moment(value: str | None) -> datetime | None:
    """A ``datetime-local`` field's value read as UTC (the page says so); empty is None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(f"Not a date and time: {value[:40]}", code="validation_error") from None
