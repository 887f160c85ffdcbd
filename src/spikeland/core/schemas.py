"""Base class of every wire schema: camelCase JSON, snake_case Python."""

import unicodedata

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ErrorDetail(Schema):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(Schema):
    error: ErrorDetail


TEXT_WHITESPACE = frozenset({"\n", "\r", "\t"})  # control characters a free text may hold


def no_control(value: str, allowed: frozenset[str] = frozenset()) -> str:
    """``value``, refused (ValueError, so 422) when it holds a control character not ``allowed``."""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        raise ValueError("must not contain control characters")
    return value
