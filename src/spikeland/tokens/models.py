"""Tokens tables of the specification: user_token_balances, token_transactions, tokens_packages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
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
from spikeland.db.enums import SubscriptionTier


class TokenTransactionType(StrEnum):
    EARN_REGENERATION = "EARN_REGENERATION"  # Monthly token regeneration
    EARN_PURCHASE = "EARN_PURCHASE"  # Token package purchase
    EARN_BONUS = "EARN_BONUS"  # Referral or promotional bonus
    EARN_ADMIN_ADJUSTMENT = "EARN_ADMIN_ADJUSTMENT"  # Manual admin adjustment
    SPEND_ENHANCEMENT = "SPEND_ENHANCEMENT"  # Image enhancement cost
    SPEND_MCP_GENERATION = "SPEND_MCP_GENERATION"  # MCP API generation cost
    SPEND_BOX_CREATION = "SPEND_BOX_CREATION"  # Browser box creation cost
    REFUND = "REFUND"  # Token refund


class UserTokenBalance(Base):
    __tablename__ = "user_token_balances"
    __table_args__ = (
        Index(None, "userId", unique=True),
        Index(None, "tier"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    balance: Mapped[int] = mapped_column("balance", server_default=server_default(0))
    last_regeneration: Mapped[datetime] = now_default("lastRegeneration")
    tier: Mapped[SubscriptionTier] = mapped_column(
        "tier",
        pg_enum(SubscriptionTier),
        server_default=enum_default(SubscriptionTier.FREE),
    )
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class TokenTransaction(Base):
    __tablename__ = "token_transactions"
    __table_args__ = (
        Index(None, "userId", "createdAt"),
        Index(None, "sourceId"),
        Index(None, "userId", "createdAt", "id"),  # keyset order, migration 0007
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    amount: Mapped[int] = mapped_column("amount")
    type: Mapped[TokenTransactionType] = mapped_column("type", pg_enum(TokenTransactionType))
    source: Mapped[str | None] = mapped_column("source")
    source_id: Mapped[str | None] = mapped_column("sourceId")
    balance_after: Mapped[int] = mapped_column("balanceAfter")
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()


class TokensPackage(Base):
    __tablename__ = "tokens_packages"
    __table_args__ = (
        Index(None, "stripePriceId", unique=True),
        Index(None, "active", "sortOrder"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    tokens: Mapped[int] = mapped_column("tokens")
    price_usd: Mapped[Decimal] = mapped_column("priceUSD")
    stripe_price_id: Mapped[str] = mapped_column("stripePriceId")
    active: Mapped[bool] = mapped_column("active", server_default=server_default(True))
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
