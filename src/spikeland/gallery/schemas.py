"""Wire schemas of albums, their images, album uploads and batch enhancement, and the public gallery."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.db.enums import EnhancementTier
from spikeland.gallery.models import AlbumPrivacy
from spikeland.images.job_schemas import Job
from spikeland.images.schemas import ImageOut
from spikeland.images.service import share_url

if TYPE_CHECKING:
    from spikeland.gallery.service import AlbumItem, AlbumView

NAME_MAX = 100
DESCRIPTION_MAX = 1000
MAX_ADD = 100  # image ids per add request
MAX_ALBUM_IMAGES = 500  # an album's images fit in one page and one reorder request

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AlbumCreate(RequestSchema):
    name: Name
    description: Description | None = None
    privacy: AlbumPrivacy = AlbumPrivacy.PRIVATE
    default_tier: EnhancementTier = EnhancementTier.TIER_1K
    pipeline_id: Id | None = None
    sort_order: int | None = Field(default=None, ge=0, le=1_000_000, description="Default: after the last.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return no_control(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return None if value is None else (no_control(value, TEXT_WHITESPACE) or None)


class AlbumUpdate(RequestSchema):
    """Only the fields present change; ``null`` clears description, pipelineId and coverImageId."""

    name: Name | None = None
    description: Description | None = None
    privacy: AlbumPrivacy | None = None
    default_tier: EnhancementTier | None = None
    pipeline_id: Id | None = None
    cover_image_id: Id | None = Field(default=None, description="One of the album's images.")
    sort_order: int | None = Field(default=None, ge=0, le=1_000_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name cannot be null")
        return no_control(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return None if value is None else (no_control(value, TEXT_WHITESPACE) or None)

    @field_validator("privacy", "default_tier", "sort_order")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("this field cannot be null")
        return value


class AlbumOut(Schema):
    id: str
    name: str
    description: str | None
    privacy: AlbumPrivacy
    default_tier: EnhancementTier
    pipeline_id: str | None
    cover_image_id: str | None  # null when the cover image has left the album
    sort_order: int
    image_count: int
    share_token: str | None  # the owner's only
    share_url: str | None  # the owner's only
    created_at: datetime
    updated_at: datetime


class AlbumPage(Schema):
    items: list[AlbumOut]
    next_cursor: str | None


class AlbumImageOut(Schema):
    image: ImageOut
    sort_order: int
    added_at: datetime
    original_download_url: str
    enhanced_download_url: str | None  # when the image has a finished enhancement


class AlbumImages(Schema):
    """All of an album's images (at most 500), in the album's order."""

    items: list[AlbumImageOut]


class ImageIds(RequestSchema):
    image_ids: list[Id] = Field(min_length=1, max_length=MAX_ADD)


class ImageOrder(RequestSchema):
    image_ids: list[Id] = Field(
        max_length=MAX_ALBUM_IMAGES, description="Every image of the album, in order."
    )


class AlbumUpload(Schema):
    image: ImageOut
    job: Job
    balance: int


class AlbumEnhanceRequest(RequestSchema):
    tier: EnhancementTier | None = Field(default=None, description="Default: the album's defaultTier.")


class AlbumEnhancement(Schema):
    jobs: list[Job]
    total_cost: int
    balance: int


class SharedAlbumOut(Schema):
    """``GET /share/{token}`` for an album token."""

    type: Literal["album"] = "album"
    album: AlbumOut
    images: list[AlbumImageOut]


def album_out(view: AlbumView, viewer_id: str | None, public_url: str) -> AlbumOut:
    """The album as ``viewer_id`` sees it: the share link is the owner's only."""
    album = view.album
    token = album.share_token if album.user_id == viewer_id else None
    return AlbumOut(
        id=album.id,
        name=album.name,
        description=album.description,
        privacy=album.privacy,
        default_tier=album.default_tier,
        pipeline_id=album.pipeline_id,
        cover_image_id=view.cover_image_id,
        sort_order=album.sort_order,
        image_count=view.image_count,
        share_token=token,
        share_url=share_url(public_url, token) if token else None,
        created_at=album.created_at,
        updated_at=album.updated_at,
    )


def album_image_out(item: AlbumItem, image: ImageOut, file_url: str) -> AlbumImageOut:
    """``file_url``: where this viewer downloads the image's files (album or share-link route)."""
    return AlbumImageOut(
        image=image,
        sort_order=item.sort_order,
        added_at=item.added_at,
        original_download_url=file_url,
        enhanced_download_url=f"{file_url}?variant=enhanced" if item.view.enhancement else None,
    )
