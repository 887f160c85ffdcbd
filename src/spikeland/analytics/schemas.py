"""Analytics ingest on the wire: bounded fields (lengths as the original platform bounded them)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from spikeland.core.schemas import RequestSchema, Schema, no_control


def _line(value: str) -> str:
    return no_control(value)


def _metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, separators=(",", ":"))) > 4096:
        raise ValueError("must be at most 4096 characters as JSON")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


VisitorId = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Page = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048), AfterValidator(_line)
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Campaign = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(_line)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=512), AfterValidator(_line)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_line)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), AfterValidator(_line)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Scroll = Annotated[int, Field(ge=0, le=100)]


class SessionStart(RequestSchema):
    """A page load of a visitor: their session continues (activity within 30 minutes) or starts."""

    visitor_id: VisitorId | None = Field(default=None, description="The id this visitor was given.")
    consent: bool = Field(
        default=False,
        description="The visitor agreed to analytics cookies; without it (or with DNT: 1) nothing "
        "identifies them beyond this session.",
    )
    landing_page: Page
    title: Title | None = None
    referrer: Url | None = None
    utm_source: Campaign | None = None
    utm_medium: Campaign | None = None
    utm_campaign: Campaign | None = None
    utm_term: Campaign | None = None
    utm_content: Campaign | None = None
    gclid: Campaign | None = None
    fbclid: Campaign | None = None
    utm_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] | None = Field(
        default=None, description="The ad platform's campaign id (utm_id): keeps campaign links up to date."
    )


class SessionOut(Schema):
    session_id: str
    visitor_id: str | None  # None without consent: the client keeps nothing
    continued: bool
    page_view_id: str


class PageViewIn(RequestSchema):
    path: Page
    title: Title | None = None
    scroll_depth: Scroll | None = None


class PageViewRequest(PageViewIn):
    session_id: Id


class ScrollUpdate(RequestSchema):
    scroll_depth: Scroll


class EventIn(RequestSchema):
    name: EventName
    category: Category | None = None
    value: float | None = None
    metadata: Annotated[dict[str, Any] | None, AfterValidator(_metadata)] = None

    @field_validator("value")
    @classmethod
    def _finite_value(cls, value: float | None) -> float | None:
        return _finite(value)


class EventRequest(EventIn):
    session_id: Id


class Batch(RequestSchema):
    session_id: Id
    page_views: list[PageViewIn] = Field(default_factory=list, max_length=25)
    events: list[EventIn] = Field(default_factory=list, max_length=50)


class Recorded(Schema):
    page_view_ids: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
