"""Wire schemas of the growth domain: vouchers, redemptions, referrals."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.enums import SubscriptionTier
from spikeland.growth.models import ReferralStatus, Voucher, VoucherStatus, VoucherType

_CODE = re.compile(r"[A-Za-z0-9]{1,50}")


def normalise_code(raw: str) -> str:
    """Trimmed and upper-cased; ASCII letters and digits only, 1 to 50 of them (else ValueError).

    The pattern is checked before upper-casing, so no Unicode case mapping can turn a foreign
    letter into an ASCII one (the Turkish dotless i upper-cases to "I").
    """
    code = raw.strip()
    if not _CODE.fullmatch(code):
        raise ValueError("a voucher code is 1 to 50 letters A-Z and digits 0-9")
    return code.upper()


# The length bound before trimming keeps an absurd body from reaching the pattern.
VoucherCode = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(normalise_code)]
MaxUses = Annotated[int, Field(ge=1, le=1_000_000_000)]


class VoucherCodeIn(RequestSchema):
    code: VoucherCode


class VoucherCreate(RequestSchema):
    code: VoucherCode
    type: VoucherType
    value: Annotated[int, Field(gt=0, le=2_000_000_000)]
    max_uses: MaxUses | None = None
    expires_at: AwareDatetime | None = None
    metadata: dict[str, Any] | None = None


class VoucherUpdate(RequestSchema):
    """Only the fields sent change; ``maxUses``/``expiresAt`` sent as null mean unlimited / never."""

    status: Literal[VoucherStatus.ACTIVE, VoucherStatus.INACTIVE] | None = None
    max_uses: MaxUses | None = None
    expires_at: AwareDatetime | None = None


class VoucherOut(Schema):
    id: str
    code: str
    type: VoucherType
    value: int
    max_uses: int | None
    current_uses: int
    expires_at: datetime | None
    status: VoucherStatus
    metadata: Any
    redemption_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, voucher: Voucher, redemption_count: int) -> VoucherOut:
        # By hand: on the ORM class ``metadata`` is SQLAlchemy's MetaData, not the column.
        return cls(
            id=voucher.id,
            code=voucher.code,
            type=voucher.type,
            value=voucher.value,
            max_uses=voucher.max_uses,
            current_uses=voucher.current_uses,
            expires_at=voucher.expires_at,
            status=voucher.status,
            metadata=voucher.metadata_,
            redemption_count=redemption_count,
            created_at=voucher.created_at,
            updated_at=voucher.updated_at,
        )


class VoucherPage(Schema):
    items: list[VoucherOut]
    next_cursor: str | None


class VoucherSummary(Schema):
    code: str
    type: VoucherType
    value: int
    remaining_uses: int | None
    expires_at: datetime | None


class VoucherCheckOut(Schema):
    valid: bool
    voucher: VoucherSummary


class TrialOut(Schema):
    tier: SubscriptionTier
    ends_at: datetime


class RedemptionOut(Schema):
    """What a redemption did. ``tokensGranted``: tokens credited now (a percentage bonus comes later,
    on the next pack purchase: ``bonusPercent``); ``balance``: the balance right after the credit."""

    redemption_id: str
    voucher_id: str
    code: str
    type: VoucherType
    tokens_granted: int
    balance: int | None
    bonus_percent: int | None
    trial: TrialOut | None
    redeemed_at: datetime


class ReferralLinkOut(Schema):
    code: str
    url: str


class ReferredUserOut(Schema):
    referral_id: str
    email: str | None  # masked: f***@domain
    status: ReferralStatus
    tokens_earned: int
    created_at: datetime
    completed_at: datetime | None


class ReferralStatsOut(Schema):
    total_referrals: int
    completed_referrals: int
    pending_referrals: int
    invalid_referrals: int
    tokens_earned: int
    referred_users: list[ReferredUserOut]
    next_cursor: str | None
