"""Apps tables of the specification: apps, requirements, monetization_models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
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


class AppStatus(StrEnum):
    DRAFT = "DRAFT"  # App under development
    ACTIVE = "ACTIVE"  # Published and accessible
    ARCHIVED = "ARCHIVED"  # No longer active but preserved
    DELETED = "DELETED"  # Soft deleted


class RequirementPriority(StrEnum):
    LOW = "LOW"  # Nice to have
    MEDIUM = "MEDIUM"  # Should have
    HIGH = "HIGH"  # Must have
    CRITICAL = "CRITICAL"  # Blocking issue


class RequirementStatus(StrEnum):
    PENDING = "PENDING"  # Not started
    IN_PROGRESS = "IN_PROGRESS"  # Currently being worked on
    COMPLETED = "COMPLETED"  # Finished and deployed
    REJECTED = "REJECTED"  # Will not implement


class MonetizationType(StrEnum):
    FREE = "FREE"  # No cost
    ONE_TIME = "ONE_TIME"  # Single payment
    SUBSCRIPTION = "SUBSCRIPTION"  # Recurring payment
    FREEMIUM = "FREEMIUM"  # Free with paid upgrades
    USAGE_BASED = "USAGE_BASED"  # Pay per use


class SubscriptionInterval(StrEnum):
    MONTHLY = "MONTHLY"  # Billed monthly
    QUARTERLY = "QUARTERLY"  # Billed every 3 months
    YEARLY = "YEARLY"  # Billed annually


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (
        Index(None, "domain", unique=True),
        Index(None, "userId"),
        Index(None, "forkedFrom"),
        Index(None, "status"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    forked_from: Mapped[str | None] = mapped_column("forkedFrom", fk("apps.id", "SET NULL"))
    status: Mapped[AppStatus] = mapped_column(
        "status",
        pg_enum(AppStatus),
        server_default=enum_default(AppStatus.DRAFT),
    )
    domain: Mapped[str | None] = mapped_column("domain")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class Requirement(Base):
    __tablename__ = "requirements"
    __table_args__ = (
        Index(None, "appId"),
        Index(None, "status"),
        Index(None, "priority"),
    )

    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column("appId", fk("apps.id", "CASCADE"))
    description: Mapped[str] = mapped_column("description")
    priority: Mapped[RequirementPriority] = mapped_column(
        "priority",
        pg_enum(RequirementPriority),
        server_default=enum_default(RequirementPriority.MEDIUM),
    )
    status: Mapped[RequirementStatus] = mapped_column(
        "status",
        pg_enum(RequirementStatus),
        server_default=enum_default(RequirementStatus.PENDING),
    )
    version: Mapped[int] = mapped_column("version", server_default=server_default(1))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MonetizationModel(Base):
    __tablename__ = "monetization_models"
    __table_args__ = (
        Index(None, "appId"),
        Index(None, "type"),
    )

    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column("appId", fk("apps.id", "CASCADE"))
    type: Mapped[MonetizationType] = mapped_column(
        "type",
        pg_enum(MonetizationType),
        server_default=enum_default(MonetizationType.FREE),
    )
    price: Mapped[Decimal | None] = mapped_column("price")
    subscription_interval: Mapped[SubscriptionInterval | None] = mapped_column(
        "subscriptionInterval",
        pg_enum(SubscriptionInterval),
    )
    features: Mapped[list[str]] = mapped_column("features")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
