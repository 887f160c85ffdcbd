"""Responses made of rows the app read itself: shaped by the response model, not validated by it.

A page of 20 images validated into ``ImagePage`` and serialised back cost ~230 µs (Pydantic: ~6 µs
an item to validate, ~7 µs to serialise, half of it the two timestamps); the same page rendered
straight from its rows costs ~15 µs (benchmarks/README.md, "Request path"). Validation buys
nothing there: the values come from typed columns, the route's own ``reads`` built the dicts, and
the model is still the contract — it gives the OpenAPI document, and the shape here is compiled
from it, so only its fields (by alias, nested models followed) ever reach the wire; a column the
model lacks (a storage key, an owner id) is dropped, and a field the rows lack fails loudly.

A route returns ``Rows(payload)``, its ``response_model`` says the shape, and ``core.routing.Route``
renders it (keeping the status and the headers set on the ``Response`` parameter, as for a model).
The JSON is orjson's: UTC datetimes as Pydantic writes them (``…Z``), Decimals as strings (as
Pydantic's JSON mode does), enums as their values. ``tests/core/test_wire.py`` checks it matches
Pydantic's own output for each model a route renders this way.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

_OPTIONS = orjson.OPT_UTC_Z


class Rows:
    """A route's answer as trusted data: dicts keyed by its response model's aliases (``model``:
    which of the models a route declares as a union this answer is)."""

    __slots__ = ("model", "payload")

    def __init__(self, payload: Any, model: type[BaseModel] | None = None) -> None:
        self.payload = payload
        self.model = model


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value here")


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model an annotation holds (``X``, ``X | None``, ``list[X]``), and whether in a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_in(found[0]) if len(found) == 1 else (None, False)
    if origin is list:
        model, _ = _model_in(typing.get_args(annotation)[0])
        return model, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


Shape = Callable[[Mapping[str, Any]], dict[str, Any]]


@functools.cache  # one shape per model class, built the first time it is rendered
def shape_of(model: type[BaseModel]) -> Shape:
    """A function keeping exactly ``model``'s fields of a row (by serialisation alias), applying
    the shapes of nested models; a field with a default may be missing from the row."""
    plain: list[tuple[str, Any]] = []
    nested: list[tuple[str, Shape, bool]] = []
    for name, field in model.model_fields.items():
        alias = field.serialization_alias or field.alias or name
        inner, many = _model_in(field.annotation)
        if inner is not None:
            nested.append((alias, shape_of(inner), many))
        else:
            plain.append((alias, field.default))
    required = tuple(alias for alias, default in plain if default is PydanticUndefined)
    optional = tuple((alias, default) for alias, default in plain if default is not PydanticUndefined)

    def shape(row: Mapping[str, Any]) -> dict[str, Any]:
        out = {alias: row[alias] for alias in required}
        for alias, default in optional:
            out[alias] = row.get(alias, default)
        for alias, sub, many in nested:
            value = row[alias]
            if value is None:
                out[alias] = None
            else:
                out[alias] = [sub(item) for item in value] if many else sub(value)
        return out

    return shape


def render(model: type[BaseModel], payload: Any) -> bytes:
    """``payload`` (a row, or a list of rows) as ``model`` shapes it, in JSON."""
    shape = shape_of(model)
    data = [shape(row) for row in payload] if isinstance(payload, list) else shape(payload)
    return orjson.dumps(data, default=_decimal, option=_OPTIONS)
