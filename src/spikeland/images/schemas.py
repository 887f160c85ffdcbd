"""Wire schemas of uploaded images, their edits and their share links."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import StringConstraints, field_validator

from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.db.enums import EnhancementTier

if TYPE_CHECKING:
    from spikeland.images.service import ImageView

MAX_NAME = 255
MAX_DESCRIPTION = 2000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION)]


class EnhancementOut(Schema):
    job_id: str
    url: str | None
    width: int | None
    height: int | None
    tier: EnhancementTier


class ImageOut(Schema):
    id: str
    name: str
    description: str | None
    original_url: str
    original_width: int
    original_height: int
    original_size_bytes: int
    original_format: str  # "jpeg" | "png" | "webp"
    is_public: bool
    view_count: int
    share_token: str | None  # shown to the owner only
    created_at: datetime
    updated_at: datetime
    latest_enhancement: EnhancementOut | None


class ImagePage(Schema):
    items: list[ImageOut]
    next_cursor: str | None


class ImageUpdate(RequestSchema):
    """Only the fields present change; ``description: null`` clears it."""

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)] | None
    ) = None
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION)] | None
    ) = None
    is_public: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name cannot be null")
        return no_control(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return no_control(value, TEXT_WHITESPACE) or None

    @field_validator("is_public")
    @classmethod
    def _is_public(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("isPublic cannot be null")
        return value


class ShareOut(Schema):
    share_token: str
    share_url: str


class SharedImageOut(Schema):
    """``GET /share/{token}`` for an image token (album tokens will add their own ``type``)."""

    type: Literal["image"] = "image"
    image: ImageOut
    original_download_url: str
    enhanced_download_url: str | None


def image_out(view: ImageView, viewer_id: str | None) -> ImageOut:
    """The image as ``viewer_id`` sees it (the share token is the owner's only); the album, share and
    gallery routes use it too, so it lives with the schema rather than in a router."""
    image, latest = view.image, view.enhancement
    return ImageOut(
        id=image.id,
        name=image.name,
        description=image.description,
        original_url=image.original_url,
        original_width=image.original_width,
        original_height=image.original_height,
        original_size_bytes=image.original_size_bytes,
        original_format=image.original_format,
        is_public=image.is_public,
        view_count=image.view_count,
        share_token=image.share_token if image.user_id == viewer_id else None,
        created_at=image.created_at,
        updated_at=image.updated_at,
        latest_enhancement=EnhancementOut(
            job_id=latest.job_id, url=latest.url, width=latest.width, height=latest.height, tier=latest.tier
        )
        if latest
        else None,
    )
