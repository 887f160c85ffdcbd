"""Base classes of every wire schema: camelCase JSON, snake_case Python; requests typed strictly."""

import re
import types
import typing
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Strict
from pydantic.alias_generators import to_camel

_ISO_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    """An ISO 8601 string (or a datetime, from Python; None is left to the field's type): never a
    number, which Pydantic would read as a Unix time (``?at=0.5``, ``"at": 1700000000``)."""
    if (
        value is None
        or isinstance(value, datetime)
        or (isinstance(value, str) and _ISO_DATE_START.match(value))
    ):
        return value
    raise ValueError("must be an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS+HH:MM)")


# A date-time as the API takes it, in a body or a query parameter.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation admits: a union's members, Annotated unwrapped."""
    if typing.get_origin(annotation) is Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(m for arg in typing.get_args(annotation) for m in _members(arg))
    return (annotation,)


class RequestSchema(Schema):
    """Base of request bodies: a field typed integer, boolean or number takes only that JSON type
    ("100", true or 1.5 are no integer; a number accepts an integer), a date-time only an ISO 8601
    string. Pydantic's lax mode would convert them, and its strict mode cannot serve: FastAPI
    validates the parsed JSON in Python mode, where strict refuses strings for enums and dates.
    Added to each field when a subclass is made, so every request class has it."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = False
        for field in cls.model_fields.values():
            members = _members(field.annotation)
            if any(m in (int, bool, float) for m in members):
                field.metadata.append(Strict())
                changed = True
            if any(m in (datetime, AwareDatetime) for m in members):
                field.metadata.append(BeforeValidator(_iso_only))
                changed = True
        if changed:
            cls.model_rebuild(force=True)


class ErrorDetail(Schema):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(Schema):
    error: ErrorDetail


TEXT_WHITESPACE = frozenset({"\n", "\r", "\t"})  # control characters a free text may hold


# Unicode's control characters (category Cc) are exactly these: C0, DEL and C1. A regular
# expression finds one in a clean string without a Python step per character.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def no_control(value: str, allowed: frozenset[str] = frozenset()) -> str:
    """``value``, refused (ValueError, so 422) when it holds a control character not ``allowed``."""
    if any(found.group() not in allowed for found in _CONTROL.finditer(value)):
        raise ValueError("must not contain control characters")
    return value
