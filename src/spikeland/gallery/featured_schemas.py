"""Wire schemas of the featured gallery: the admin's bodies (create, update, reorder) and the views."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.gallery.models import GalleryCategory

MAX_TITLE = 200
MAX_URL = 2000
MAX_ASPECT = 100
MAX_REORDER = 500

_TAG = re.compile(r"<[^>]*>")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


def clean_title(raw: str) -> str:
    """HTML tags stripped (as the original did), then trimmed; 1 to 200 characters must remain."""
    title = _TAG.sub("", raw).strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise ValueError(f"a title is 1 to {MAX_TITLE} characters (without HTML tags)")
    return title


def check_http_url(url: str) -> str:
    """An absolute http(s) URL with a host, no whitespace or control characters."""
    if _UNSAFE.search(url):
        raise ValueError("a URL may not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("an absolute http(s) URL is required")
    return url


# The raw bound keeps an absurd body away from the tag pattern; the cleaned title is bounded again.
Title = Annotated[str, Field(min_length=1, max_length=4 * MAX_TITLE), AfterValidator(clean_title)]
Description = Annotated[str, Field(max_length=1000)]
HttpUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL), AfterValidator(check_http_url)]
Aspect = Annotated[int, Field(ge=1, le=MAX_ASPECT)]
SortOrder = Annotated[int, Field(ge=0, le=1_000_000)]
ItemId = Annotated[str, Field(min_length=1, max_length=64)]


class FeaturedItemCreate(RequestSchema):
    """From a finished enhancement job (``sourceJobId``) or from two URLs, never both.

    Width and height (an aspect ratio, not pixels) are given together or not at all; when absent
    they come from the job's output, else 16:9.
    """

    title: Title
    description: Description | None = None
    category: GalleryCategory = GalleryCategory.PORTRAIT
    source_job_id: ItemId | None = None
    original_url: HttpUrl | None = None
    enhanced_url: HttpUrl | None = None
    width: Aspect | None = None
    height: Aspect | None = None
    sort_order: SortOrder | None = None
    is_active: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> FeaturedItemCreate:
        urls = (self.original_url, self.enhanced_url)
        if self.source_job_id is not None and any(u is not None for u in urls):
            raise ValueError("give sourceJobId or originalUrl and enhancedUrl, not both")
        if self.source_job_id is None and any(u is None for u in urls):
            raise ValueError("give sourceJobId, or both originalUrl and enhancedUrl")
        if (self.width is None) != (self.height is None):
            raise ValueError("width and height are given together")
        return self


class FeaturedItemUpdate(RequestSchema):
    """Only the fields sent change; ``description`` may be null (cleared), the others may not."""

    title: Title | None = None
    description: Description | None = None
    category: GalleryCategory | None = None
    width: Aspect | None = None
    height: Aspect | None = None
    sort_order: SortOrder | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> FeaturedItemUpdate:
        nulled = [
            name for name in self.model_fields_set if name != "description" and getattr(self, name) is None
        ]
        if nulled:
            raise ValueError(f"these fields cannot be null: {', '.join(sorted(nulled))}")
        return self


class FeaturedOrder(RequestSchema):
    """The items in their new display order: they get sortOrder 0, 1, 2, … in this order."""

    item_ids: list[ItemId] = Field(min_length=1, max_length=MAX_REORDER)

    @model_validator(mode="after")
    def _distinct(self) -> FeaturedOrder:
        if len(set(self.item_ids)) != len(self.item_ids):
            raise ValueError("an item appears twice")
        return self


class FeaturedItemPublic(Schema):
    """An item as visitors see it: no creator, no source ids."""

    id: str
    title: str
    description: str | None
    category: GalleryCategory
    original_url: str
    enhanced_url: str
    width: int
    height: int
    created_at: datetime


class FeaturedItemOut(FeaturedItemPublic):
    """An item as the admin sees it: the public view, its sources, order and state."""

    source_image_id: str | None
    source_job_id: str | None
    sort_order: int
    is_active: bool
    created_by: str
    updated_at: datetime


class FeaturedAdminPage(Schema):
    items: list[FeaturedItemOut]
    next_cursor: str | None


class FeaturedItemList(Schema):
    items: list[FeaturedItemOut]


class FeaturedGallery(Schema):
    items: list[FeaturedItemPublic]
