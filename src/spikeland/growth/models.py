"""Growth tables of the specification: vouchers, voucher_redemptions, referrals."""

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


class VoucherType(StrEnum):
    FIXED_TOKENS = "FIXED_TOKENS"  # Grant fixed number of tokens
    PERCENTAGE_BONUS = "PERCENTAGE_BONUS"  # Percentage bonus on purchase
    SUBSCRIPTION_TRIAL = "SUBSCRIPTION_TRIAL"  # Free subscription trial


class VoucherStatus(StrEnum):
    ACTIVE = "ACTIVE"  # Available for redemption
    INACTIVE = "INACTIVE"  # Disabled by admin
    EXPIRED = "EXPIRED"  # Past expiration date
    DEPLETED = "DEPLETED"  # Maximum uses reached


class ReferralStatus(StrEnum):
    PENDING = "PENDING"  # Awaiting completion
    COMPLETED = "COMPLETED"  # Referral completed
    INVALID = "INVALID"  # Fraud detected


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        Index(None, "code", unique=True),
        Index(None, "status", "expiresAt"),
    )

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column("code")
    type: Mapped[VoucherType] = mapped_column("type", pg_enum(VoucherType))
    value: Mapped[int] = mapped_column("value")
    max_uses: Mapped[int | None] = mapped_column("maxUses")
    current_uses: Mapped[int] = mapped_column("currentUses", server_default=server_default(0))
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt")
    status: Mapped[VoucherStatus] = mapped_column(
        "status",
        pg_enum(VoucherStatus),
        server_default=enum_default(VoucherStatus.ACTIVE),
    )
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class VoucherRedemption(Base):
    __tablename__ = "voucher_redemptions"
    __table_args__ = (
        Index(None, "voucherId", "userId", unique=True),
        Index(None, "userId", "redeemedAt"),
    )

    id: Mapped[str] = id_column()
    voucher_id: Mapped[str] = mapped_column("voucherId", fk("vouchers.id", "CASCADE"))
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    tokens_granted: Mapped[int] = mapped_column("tokensGranted")
    redeemed_at: Mapped[datetime] = now_default("redeemedAt")


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index(None, "referrerId", "refereeId", unique=True),
        Index(None, "referrerId", "status"),
        Index(None, "refereeId"),
        Index(None, "status", "createdAt"),
    )

    id: Mapped[str] = id_column()
    referrer_id: Mapped[str] = mapped_column("referrerId", fk("users.id", "CASCADE"))
    referee_id: Mapped[str] = mapped_column("refereeId", fk("users.id", "CASCADE"))
    status: Mapped[ReferralStatus] = mapped_column(
        "status",
        pg_enum(ReferralStatus),
        server_default=enum_default(ReferralStatus.PENDING),
    )
    tokens_granted: Mapped[int] = mapped_column("tokensGranted", server_default=server_default(0))
    ip_address: Mapped[str | None] = mapped_column("ipAddress")
    created_at: Mapped[datetime] = now_default()
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
