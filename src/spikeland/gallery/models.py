"""Gallery tables of the specification: albums, album_images, featured_gallery_items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)
from spikeland.db.enums import EnhancementTier


class AlbumPrivacy(StrEnum):
    PRIVATE = "PRIVATE"  # Visible only to owner
    UNLISTED = "UNLISTED"  # Accessible via share link
    PUBLIC = "PUBLIC"  # Visible in public gallery


class GalleryCategory(StrEnum):
    PORTRAIT = "PORTRAIT"  # Portrait photography
    LANDSCAPE = "LANDSCAPE"  # Landscape photography
    PRODUCT = "PRODUCT"  # Product photography
    ARCHITECTURE = "ARCHITECTURE"  # Architecture photography


class Album(Base):
    __tablename__ = "albums"
    __table_args__ = (
        Index(None, "shareToken", unique=True),
        Index(None, "userId", "name", "privacy", unique=True),
        Index(None, "userId", "createdAt"),
        Index(None, "privacy"),
        Index(None, "shareToken"),
        Index(None, "pipelineId"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    cover_image_id: Mapped[str | None] = mapped_column("coverImageId")
    privacy: Mapped[AlbumPrivacy] = mapped_column(
        "privacy",
        pg_enum(AlbumPrivacy),
        server_default=enum_default(AlbumPrivacy.PRIVATE),
    )
    default_tier: Mapped[EnhancementTier] = mapped_column(
        "defaultTier",
        pg_enum(EnhancementTier),
        server_default=enum_default(EnhancementTier.TIER_1K),
    )
    share_token: Mapped[str | None] = mapped_column("shareToken")
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    pipeline_id: Mapped[str | None] = mapped_column(
        "pipelineId",
        fk("enhancement_pipelines.id", "SET NULL"),
    )


class AlbumImage(Base):
    __tablename__ = "album_images"
    __table_args__ = (
        Index(None, "albumId", "imageId", unique=True),
        Index(None, "albumId", "sortOrder"),
        Index(None, "imageId"),
        Index(None, "albumId", "addedAt"),
    )

    id: Mapped[str] = id_column()
    album_id: Mapped[str] = mapped_column("albumId", fk("albums.id", "CASCADE"))
    image_id: Mapped[str] = mapped_column("imageId", fk("enhanced_images.id", "CASCADE"))
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    added_at: Mapped[datetime] = now_default("addedAt")


class FeaturedGalleryItem(Base):
    __tablename__ = "featured_gallery_items"
    __table_args__ = (
        Index(None, "isActive", "sortOrder"),
        Index(None, "isActive", "category", "sortOrder"),
        Index(None, "sourceImageId"),  # FK index, migration 0002
        Index(None, "sourceJobId"),  # FK index, migration 0002
        Index(None, "createdBy"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    title: Mapped[str] = mapped_column("title")
    description: Mapped[str | None] = mapped_column("description")
    category: Mapped[GalleryCategory] = mapped_column(
        "category",
        pg_enum(GalleryCategory),
        server_default=enum_default(GalleryCategory.PORTRAIT),
    )
    original_url: Mapped[str] = mapped_column("originalUrl")
    enhanced_url: Mapped[str] = mapped_column("enhancedUrl")
    width: Mapped[int] = mapped_column("width", server_default=server_default(16))
    height: Mapped[int] = mapped_column("height", server_default=server_default(9))
    source_image_id: Mapped[str | None] = mapped_column(
        "sourceImageId",
        fk("enhanced_images.id", "SET NULL"),
    )
    source_job_id: Mapped[str | None] = mapped_column(
        "sourceJobId",
        fk("image_enhancement_jobs.id", "SET NULL"),
    )
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    created_by: Mapped[str] = mapped_column("createdBy", fk("users.id", "RESTRICT"))
