"""Wire schemas of the identity domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.core.security import password_fits
from spikeland.identity.models import UserRole
from spikeland.ops.models import AdminAuditEvent, AuditAction, AuditLog


def _normalise_email(value: str) -> str:
    return value.strip().lower()


def _password_fits(value: str) -> str:
    if not password_fits(value):
        raise ValueError("password must be at most 72 bytes (UTF-8)")
    return value


Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(_normalise_email)]
NewPassword = Annotated[str, Field(min_length=8, max_length=72), AfterValidator(_password_fits)]
# Sign-in accepts what sign-up could have stored, and no more (a long body costs bcrypt time).
GivenPassword = Annotated[str, Field(min_length=1, max_length=256)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SignupRequest(RequestSchema):
    email: Email
    password: NewPassword
    name: Name | None = None
    referral_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None


class LoginRequest(RequestSchema):
    email: Email
    password: GivenPassword


class UserOut(Schema):
    """A user as the user sees themselves: never the password hash, never a token."""

    id: str
    email: str | None
    name: str | None
    image: str | None
    role: UserRole
    email_verified: datetime | None
    referral_code: str | None
    referral_count: int
    created_at: datetime


class SessionOut(Schema):
    user: UserOut
    expires: datetime


class Accepted(Schema):
    """A request taken: what happens next comes by email (the same answer whoever asked)."""

    status: Literal["accepted"] = "accepted"
    message: str


class AuditEntryOut(Schema):
    id: str
    user_id: str
    action: str  # a spec AuditAction label, or an action it has none for (ops.audit)
    target_id: str | None
    metadata: Any
    ip_address: str | None
    created_at: datetime

    @classmethod
    def of(cls, entry: AuditLog | AdminAuditEvent) -> AuditEntryOut:
        # Built by hand: on the ORM class, ``metadata`` is SQLAlchemy's MetaData, not the column.
        return cls(
            id=entry.id,
            user_id=entry.user_id,
            action=entry.action.value if isinstance(entry.action, AuditAction) else entry.action,
            target_id=entry.target_id,
            metadata=entry.metadata_,
            ip_address=entry.ip_address,
            created_at=entry.created_at,
        )
