"""Identity tables of the specification: users, accounts, sessions, verification_tokens, api_keys."""

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


class UserRole(StrEnum):
    USER = "USER"  # Standard user account
    ADMIN = "ADMIN"  # Administrator with elevated privileges
    SUPER_ADMIN = "SUPER_ADMIN"  # Super administrator with full access


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(None, "email", unique=True),
        Index(None, "stripeCustomerId", unique=True),
        Index(None, "referralCode", unique=True),
        Index(None, "referredById"),  # FK index, migration 0002
        # The admin user list (newest first, by role) and its search, migration 0008.
        Index(None, "createdAt", "id"),
        Index(None, "role", "createdAt", "id"),
        Index(
            "users_email_trgm_idx", "email", postgresql_using="gin", postgresql_ops={"email": "gin_trgm_ops"}
        ),
        Index("users_name_trgm_idx", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str | None] = mapped_column("name")
    email: Mapped[str | None] = mapped_column("email")
    email_verified: Mapped[datetime | None] = mapped_column("emailVerified")
    image: Mapped[str | None] = mapped_column("image")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    stripe_customer_id: Mapped[str | None] = mapped_column("stripeCustomerId")
    role: Mapped[UserRole] = mapped_column(
        "role",
        pg_enum(UserRole),
        server_default=enum_default(UserRole.USER),
    )
    referral_code: Mapped[str | None] = mapped_column("referralCode")
    referred_by_id: Mapped[str | None] = mapped_column("referredById", fk("users.id", "SET NULL"))
    referral_count: Mapped[int] = mapped_column("referralCount", server_default=server_default(0))
    password_hash: Mapped[str | None] = mapped_column("passwordHash")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index(None, "provider", "providerAccountId", unique=True),
        Index(None, "userId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    type: Mapped[str] = mapped_column("type")
    provider: Mapped[str] = mapped_column("provider")
    provider_account_id: Mapped[str] = mapped_column("providerAccountId")
    refresh_token: Mapped[str | None] = mapped_column("refresh_token")
    access_token: Mapped[str | None] = mapped_column("access_token")
    expires_at: Mapped[int | None] = mapped_column("expires_at")
    token_type: Mapped[str | None] = mapped_column("token_type")
    scope: Mapped[str | None] = mapped_column("scope")
    id_token: Mapped[str | None] = mapped_column("id_token")
    session_state: Mapped[str | None] = mapped_column("session_state")


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index(None, "sessionToken", unique=True),
        Index(None, "userId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    session_token: Mapped[str] = mapped_column("sessionToken")
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    expires: Mapped[datetime] = mapped_column("expires")


class VerificationToken(Base):
    __tablename__ = "verification_tokens"
    __table_args__ = (
        Index(None, "token", unique=True),
        Index(None, "identifier", "token", unique=True),
    )
    # The spec gives this table no primary key; the ORM identifies rows by the unique token.
    __mapper_args__ = {"primary_key": ["token"]}

    identifier: Mapped[str] = mapped_column("identifier")
    token: Mapped[str] = mapped_column("token")
    expires: Mapped[datetime] = mapped_column("expires")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        Index(None, "keyHash", unique=True),
        Index(None, "userId", "isActive"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    key_hash: Mapped[str] = mapped_column("keyHash")
    key_prefix: Mapped[str] = mapped_column("keyPrefix")
    last_used_at: Mapped[datetime | None] = mapped_column("lastUsedAt")
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
