"""Ops tables of the specification: audit_logs, error_logs, feedback, email_logs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    Json,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)


class AuditAction(StrEnum):
    ROLE_CHANGE = "ROLE_CHANGE"  # User role modified
    TOKEN_ADJUSTMENT = "TOKEN_ADJUSTMENT"  # Manual token adjustment
    VOUCHER_CREATE = "VOUCHER_CREATE"  # Voucher created
    VOUCHER_UPDATE = "VOUCHER_UPDATE"  # Voucher updated
    VOUCHER_DELETE = "VOUCHER_DELETE"  # Voucher deleted
    USER_DELETE = "USER_DELETE"  # User deleted
    ADMIN_LOGIN = "ADMIN_LOGIN"  # Admin logged in


class FeedbackType(StrEnum):
    BUG = "BUG"  # Bug report
    IDEA = "IDEA"  # Feature idea
    OTHER = "OTHER"  # Other feedback


class FeedbackStatus(StrEnum):
    NEW = "NEW"  # Not yet reviewed
    REVIEWED = "REVIEWED"  # Reviewed by admin
    RESOLVED = "RESOLVED"  # Issue resolved
    DISMISSED = "DISMISSED"  # Dismissed


class ErrorEnvironment(StrEnum):
    FRONTEND = "FRONTEND"  # Browser/client-side error
    BACKEND = "BACKEND"  # Server-side error


class EmailStatus(StrEnum):
    PENDING = "PENDING"  # Email queued
    SENT = "SENT"  # Email sent
    DELIVERED = "DELIVERED"  # Email delivered
    OPENED = "OPENED"  # Email opened
    CLICKED = "CLICKED"  # Link clicked
    BOUNCED = "BOUNCED"  # Email bounced
    FAILED = "FAILED"  # Delivery failed


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        Index(None, "userId"),
        Index(None, "action"),
        Index(None, "targetId"),
        Index(None, "createdAt"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    action: Mapped[AuditAction] = mapped_column("action", pg_enum(AuditAction))
    target_id: Mapped[str | None] = mapped_column("targetId")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    ip_address: Mapped[str | None] = mapped_column("ipAddress")
    created_at: Mapped[datetime] = now_default()


class AdminAuditEvent(Base):
    """An admin action the spec's AuditAction has no label for (migration 0011 says why)."""

    __tablename__ = "admin_audit_events"
    __table_args__ = (
        Index(None, "userId"),
        Index(None, "action"),
        Index(None, "targetId"),
        Index(None, "createdAt"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    action: Mapped[str] = mapped_column("action")
    target_id: Mapped[str | None] = mapped_column("targetId")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    ip_address: Mapped[str | None] = mapped_column("ipAddress")
    created_at: Mapped[datetime] = now_default()


class ErrorLog(Base):
    __tablename__ = "error_logs"
    __table_args__ = (
        Index(None, "timestamp"),
        Index(None, "sourceFile"),
        Index(None, "errorType"),
        Index(None, "environment"),
    )

    id: Mapped[str] = id_column()
    timestamp: Mapped[datetime] = now_default("timestamp")
    message: Mapped[str] = mapped_column("message")
    stack: Mapped[str | None] = mapped_column("stack")
    source_file: Mapped[str | None] = mapped_column("sourceFile")
    source_line: Mapped[int | None] = mapped_column("sourceLine")
    source_column: Mapped[int | None] = mapped_column("sourceColumn")
    caller_name: Mapped[str | None] = mapped_column("callerName")
    user_id: Mapped[str | None] = mapped_column("userId")
    route: Mapped[str | None] = mapped_column("route")
    environment: Mapped[ErrorEnvironment] = mapped_column("environment", pg_enum(ErrorEnvironment))
    error_type: Mapped[str | None] = mapped_column("errorType")
    error_code: Mapped[str | None] = mapped_column("errorCode")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        Index(None, "userId"),
        Index(None, "status"),
        Index(None, "type"),
        Index(None, "createdAt"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str | None] = mapped_column("userId", fk("users.id", "SET NULL"))
    email: Mapped[str | None] = mapped_column("email")
    type: Mapped[FeedbackType] = mapped_column("type", pg_enum(FeedbackType))
    message: Mapped[str] = mapped_column("message")
    page: Mapped[str] = mapped_column("page")
    user_agent: Mapped[str | None] = mapped_column("userAgent")
    status: Mapped[FeedbackStatus] = mapped_column(
        "status",
        pg_enum(FeedbackStatus),
        server_default=enum_default(FeedbackStatus.NEW),
    )
    admin_note: Mapped[str | None] = mapped_column("adminNote")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class EmailLog(Base):
    __tablename__ = "email_logs"
    __table_args__ = (
        Index(None, "resendId", unique=True),
        Index(None, "userId"),
        Index(None, "status"),
        Index(None, "sentAt"),
        Index(None, "template"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    to: Mapped[str] = mapped_column("to")
    subject: Mapped[str] = mapped_column("subject")
    template: Mapped[str] = mapped_column("template")
    status: Mapped[EmailStatus] = mapped_column(
        "status",
        pg_enum(EmailStatus),
        server_default=enum_default(EmailStatus.SENT),
    )
    resend_id: Mapped[str | None] = mapped_column("resendId")
    sent_at: Mapped[datetime] = now_default("sentAt")
    opened_at: Mapped[datetime | None] = mapped_column("openedAt")
    clicked_at: Mapped[datetime | None] = mapped_column("clickedAt")
    bounced_at: Mapped[datetime | None] = mapped_column("bouncedAt")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)


# The inbox every provider's webhooks land in before a worker applies them: Stripe's (billing)
# today, the print-on-demand providers' (merch) later. The original named it after merch; it lives
# here, below both, so neither domain imports the other for it.
class MerchWebhookEvent(Base):
    __tablename__ = "merch_webhook_events"
    __table_args__ = (
        Index(None, "eventId", unique=True),
        Index(None, "provider", "eventType"),
        Index(None, "processed", "createdAt"),
    )

    id: Mapped[str] = id_column()
    provider: Mapped[str] = mapped_column("provider")
    event_id: Mapped[str] = mapped_column("eventId")
    event_type: Mapped[str] = mapped_column("eventType")
    processed: Mapped[bool] = mapped_column("processed", server_default=server_default(False))
    payload: Mapped[Any] = mapped_column("payload", Json, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column("processedAt")
    created_at: Mapped[datetime] = now_default()
