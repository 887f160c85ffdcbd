"""Wire schemas of the token ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens.costs import ADJUST_MAX, ADJUST_MIN
from spikeland.tokens.models import TokenTransactionType


class BalanceOut(Schema):
    balance: int
    tier: SubscriptionTier
    max_balance: int  # the tier's cap: regeneration stops here; purchases may exceed it
    last_regeneration: datetime
    next_regeneration_at: datetime | None


class BalanceAtOut(Schema):
    at: datetime
    balance: int


class TransactionOut(Schema):
    id: str
    type: TokenTransactionType
    amount: int
    balance_after: int
    source: str | None
    source_id: str | None
    metadata: dict[str, Any] | None = Field(default=None, validation_alias="metadata_")
    created_at: datetime


class TransactionPage(Schema):
    items: list[TransactionOut]
    next_cursor: str | None


class MovementOut(Schema):
    transaction_id: str
    type: TokenTransactionType
    amount: int
    balance_after: int
    created_at: datetime
    applied: bool  # false: this request repeated an earlier one, whose result this is


# Free text stored in the ledger's metadata: a NUL would reach PostgreSQL (which refuses it) and
# other control characters mean nothing in a note.
_Note = AfterValidator(lambda value: no_control(value, TEXT_WHITESPACE))


class SpendRequest(RequestSchema):
    amount: int = Field(ge=1, le=10_000)
    purpose: Literal["enhancement", "generation", "box"]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _Note] | None = None


class AdjustRequest(RequestSchema):
    amount: int = Field(ge=ADJUST_MIN, le=ADJUST_MAX)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _Note]
