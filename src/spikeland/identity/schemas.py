"""Wire schemas of the identity domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.core.security import password_fits
from spikeland.identity.models import UserRole


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
