"""Vouchers: the code format, the rules of a voucher's value and status, and the admin's CRUD.

Status rules: INACTIVE is the admin's word; EXPIRED and DEPLETED follow from the facts
(``expiresAt`` passed, ``currentUses`` reached ``maxUses``) and are written when they are
discovered — on a redemption or a check, by the admin's update, and by the periodic job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import ValidationFailed
from spikeland.core.pagination import Page, newest_first
from spikeland.db.enums import SubscriptionTier
from spikeland.db.integrity import violated_constraint
from spikeland.growth.errors import VoucherCodeTaken, VoucherNotFound, VoucherUnavailable
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.growth.schemas import VoucherCreate, VoucherUpdate, normalise_code
from spikeland.identity.models import User
from spikeland.ops import audit
from spikeland.ops.models import AuditAction

MAX_FIXED_TOKENS = 1_000_000
MAX_TRIAL_DAYS = 365
TRIAL_TIERS = (SubscriptionTier.BASIC, SubscriptionTier.STANDARD, SubscriptionTier.PREMIUM)
MAX_METADATA_CHARS = 4096


def _checked_value(type_: VoucherType, value: int, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse a value the type cannot mean; a trial's metadata gets its tier (default BASIC)."""
    limits = {
        VoucherType.FIXED_TOKENS: (MAX_FIXED_TOKENS, "tokens"),
        VoucherType.PERCENTAGE_BONUS: (100, "percent"),
        VoucherType.SUBSCRIPTION_TRIAL: (MAX_TRIAL_DAYS, "days"),
    }
    highest, unit = limits[type_]
    if not 1 <= value <= highest:
        raise ValidationFailed(
            f"A {type_.value} voucher's value is 1 to {highest} {unit}.", code="invalid_voucher_value"
        )
    if metadata is not None and len(json.dumps(metadata, default=str)) > MAX_METADATA_CHARS:
        raise ValidationFailed("The metadata is too large (4 KB at most).", code="metadata_too_large")
    if type_ != VoucherType.SUBSCRIPTION_TRIAL:
        return metadata
    tier = str((metadata or {}).get("tier", SubscriptionTier.BASIC.value)).upper()
    if tier not in {t.value for t in TRIAL_TIERS}:
        raise ValidationFailed("A trial's tier is BASIC, STANDARD or PREMIUM.", code="invalid_trial_tier")
    return {**(metadata or {}), "tier": tier}


def valid_code(raw: str) -> str:
    """``normalise_code`` for service callers: a malformed code is a 422, like on the wire."""
    try:
        return normalise_code(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="invalid_voucher_code") from None


def trial_tier(voucher: Voucher) -> SubscriptionTier:
    return SubscriptionTier(str((voucher.metadata_ or {}).get("tier", SubscriptionTier.BASIC.value)))


def is_expired(voucher: Voucher, now: datetime) -> bool:
    return voucher.expires_at is not None and voucher.expires_at <= now


def is_used_up(voucher: Voucher) -> bool:
    return voucher.max_uses is not None and voucher.current_uses >= voucher.max_uses


def derived_status(base: VoucherStatus, voucher: Voucher, now: datetime) -> VoucherStatus:
    """What an ACTIVE voucher really is given its facts; any other status stands as it is."""
    if base != VoucherStatus.ACTIVE:
        return base
    if is_expired(voucher, now):
        return VoucherStatus.EXPIRED
    if is_used_up(voucher):
        return VoucherStatus.DEPLETED
    return VoucherStatus.ACTIVE


def ensure_redeemable(voucher: Voucher, now: datetime) -> None:
    """The fixed order after "not found": inactive, expired, depleted (stored status or facts)."""
    if voucher.status == VoucherStatus.INACTIVE:
        raise VoucherUnavailable(
            "This voucher is no longer active.", code="voucher_inactive", voucher_id=voucher.id
        )
    stale = voucher.status == VoucherStatus.ACTIVE
    if voucher.status == VoucherStatus.EXPIRED or is_expired(voucher, now):
        raise VoucherUnavailable(
            "This voucher has expired.", code="voucher_expired", voucher_id=voucher.id, stale=stale
        )
    if voucher.status == VoucherStatus.DEPLETED or is_used_up(voucher):
        raise VoucherUnavailable(
            "This voucher has reached its usage limit.",
            code="voucher_depleted",
            voucher_id=voucher.id,
            stale=stale,
        )


async def find_by_code(session: AsyncSession, code: str) -> Voucher:
    """The voucher, read afresh (not from the session's identity map)."""
    statement = (
        select(Voucher).where(Voucher.code == valid_code(code)).execution_options(populate_existing=True)
    )
    voucher = (await session.scalars(statement)).one_or_none()
    if voucher is None:
        raise VoucherNotFound("Voucher code not found.")
    return voucher


def _settled_by_facts(now: datetime) -> list[tuple[VoucherStatus, ColumnElement[bool]]]:
    return [
        (VoucherStatus.EXPIRED, and_(Voucher.expires_at.is_not(None), Voucher.expires_at <= now)),
        (
            VoucherStatus.DEPLETED,
            and_(Voucher.max_uses.is_not(None), Voucher.current_uses >= Voucher.max_uses),
        ),
    ]


async def _settle(
    session: AsyncSession, now: datetime, *where: ColumnElement[bool]
) -> dict[VoucherStatus, int]:
    counts: dict[VoucherStatus, int] = {}
    for status, condition in _settled_by_facts(now):
        statement = (
            update(Voucher)
            .where(Voucher.status == VoucherStatus.ACTIVE, condition, *where)
            .values(status=status, updated_at=now)
            .returning(Voucher.id)
            .execution_options(synchronize_session=False)
        )
        counts[status] = len((await session.execute(statement)).all())
    return counts


async def settle_status(session: AsyncSession, voucher_id: str) -> VoucherStatus | None:
    """Write EXPIRED or DEPLETED on an ACTIVE voucher whose facts say so (a conditional update,
    safe to race with redemptions and with the periodic job)."""
    counts = await _settle(session, utcnow(), Voucher.id == voucher_id)
    return next((status for status, count in counts.items() if count), None)


async def settle_all(session: AsyncSession) -> dict[str, int]:
    """Every ACTIVE voucher past its expiry → EXPIRED; at its use limit → DEPLETED (the periodic job)."""
    counts = await _settle(session, utcnow())
    return {"expired": counts[VoucherStatus.EXPIRED], "depleted": counts[VoucherStatus.DEPLETED]}


# ----------------------------------------------------------------------------- admin


@dataclass(frozen=True)
class VoucherView:
    voucher: Voucher
    redemption_count: int


async def _redemption_counts(session: AsyncSession, voucher_ids: list[str]) -> dict[str, int]:
    if not voucher_ids:
        return {}
    statement = (
        select(VoucherRedemption.voucher_id, func.count())
        .where(VoucherRedemption.voucher_id.in_(voucher_ids))
        .group_by(VoucherRedemption.voucher_id)
    )
    return {voucher_id: count for voucher_id, count in (await session.execute(statement)).all()}


async def list_vouchers(
    session: AsyncSession,
    *,
    status: VoucherStatus | None = None,
    kind: VoucherType | None = None,
    code_prefix: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[VoucherView]:
    """Newest first, by status, type and the start of the code (codes are stored upper-cased)."""
    statement = select(Voucher)
    if status is not None:
        statement = statement.where(Voucher.status == status)
    if kind is not None:
        statement = statement.where(Voucher.type == kind)
    if code_prefix:
        statement = statement.where(Voucher.code.startswith(code_prefix.strip().upper(), autoescape=True))
    page = await newest_first(session, statement, Voucher.created_at, Voucher.id, limit=limit, cursor=cursor)
    counts = await _redemption_counts(session, [v.id for v in page.items])
    return Page([VoucherView(v, counts.get(v.id, 0)) for v in page.items], page.next_cursor)


async def _get(session: AsyncSession, voucher_id: str, *, lock: bool = False) -> Voucher:
    statement = select(Voucher).where(Voucher.id == voucher_id).execution_options(populate_existing=True)
    if lock:
        statement = statement.with_for_update()
    voucher = (await session.scalars(statement)).one_or_none()
    if voucher is None:
        raise VoucherNotFound("No such voucher.")
    return voucher


async def get_voucher(session: AsyncSession, voucher_id: str) -> VoucherView:
    voucher = await _get(session, voucher_id)
    return VoucherView(voucher, (await _redemption_counts(session, [voucher.id])).get(voucher.id, 0))


def _described(voucher: Voucher) -> dict[str, Any]:
    return {
        "code": voucher.code,
        "type": voucher.type.value,
        "value": voucher.value,
        "maxUses": voucher.max_uses,
        "expiresAt": voucher.expires_at.isoformat() if voucher.expires_at else None,
        "status": voucher.status.value,
        "metadata": voucher.metadata_,
    }


async def create_voucher(
    session: AsyncSession, actor: User, data: VoucherCreate, ip: str | None
) -> VoucherView:
    metadata = _checked_value(data.type, data.value, data.metadata)
    voucher = Voucher(
        code=valid_code(data.code),
        type=data.type,
        value=data.value,
        max_uses=data.max_uses,
        current_uses=0,
        expires_at=data.expires_at,
        metadata_=metadata,
    )
    voucher.status = derived_status(VoucherStatus.ACTIVE, voucher, utcnow())
    try:
        async with session.begin_nested():
            session.add(voucher)
            await session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint == "vouchers_code_key":
            raise VoucherCodeTaken("Voucher code already exists.") from None
        raise
    await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.VOUCHER_CREATE,
        target_id=voucher.id,
        metadata=_described(voucher),
        ip=ip,
    )
    return VoucherView(voucher, 0)


async def update_voucher(
    session: AsyncSession, actor: User, voucher_id: str, data: VoucherUpdate, ip: str | None
) -> VoucherView:
    """Change status (ACTIVE/INACTIVE), maxUses or expiresAt; EXPIRED/DEPLETED are then re-derived,
    so a new expiry or a higher limit brings a voucher back to ACTIVE (INACTIVE stays INACTIVE)."""
    voucher = await _get(session, voucher_id, lock=True)  # locked: current uses cannot move meanwhile
    before = _described(voucher)
    given = data.model_fields_set
    if "max_uses" in given:
        voucher.max_uses = data.max_uses
    if "expires_at" in given:
        voucher.expires_at = data.expires_at
    if "status" in given and data.status is not None:
        base = data.status
    else:
        base = VoucherStatus.INACTIVE if voucher.status == VoucherStatus.INACTIVE else VoucherStatus.ACTIVE
    voucher.status = derived_status(base, voucher, utcnow())
    await session.flush()
    after = _described(voucher)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.VOUCHER_UPDATE,
        target_id=voucher.id,
        metadata={"code": voucher.code, "changes": changes},
        ip=ip,
    )
    return VoucherView(voucher, (await _redemption_counts(session, [voucher.id])).get(voucher.id, 0))


async def delete_voucher(session: AsyncSession, actor: User, voucher_id: str, ip: str | None) -> None:
    """Remove the voucher and (cascade) its redemptions; the ledger rows they caused stay."""
    voucher = await _get(session, voucher_id, lock=True)
    metadata = {**_described(voucher), "currentUses": voucher.current_uses}
    await session.delete(voucher)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.VOUCHER_DELETE,
        target_id=voucher_id,
        metadata=metadata,
        ip=ip,
    )


def remaining_uses(voucher: Voucher) -> int | None:
    return None if voucher.max_uses is None else max(0, voucher.max_uses - voucher.current_uses)
