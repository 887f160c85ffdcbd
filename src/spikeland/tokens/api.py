"""The caller's tokens: balance (now or at a moment), history, and spending."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from spikeland.core.deps import IdempotencyKey
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import IsoDateTime
from spikeland.core.wire import Rows
from spikeland.db.session import DbUnit
from spikeland.identity.deps import CurrentCaller
from spikeland.tokens import reads, service
from spikeland.tokens.idempotency import fingerprint, idempotency_source
from spikeland.tokens.models import TokenTransactionType
from spikeland.tokens.schemas import (
    BalanceAtOut,
    BalanceOut,
    MovementOut,
    SpendRequest,
    TransactionPage,
)

router = APIRouter(route_class=Route, prefix="/tokens", tags=["tokens"])

_SPEND_TYPES = {
    "enhancement": TokenTransactionType.SPEND_ENHANCEMENT,
    "generation": TokenTransactionType.SPEND_MCP_GENERATION,
    "box": TokenTransactionType.SPEND_BOX_CREATION,
}


async def spend(
    body: SpendRequest, caller: CurrentCaller, db: DbUnit, key: IdempotencyKey = None
) -> MovementOut:
    """Spend tokens directly (API clients paying for work done elsewhere)."""
    # A hot path: the caller by id and the ledger's statements on the request's driver connection;
    # no ORM session is made (see db.session).
    movement = await service.spend(
        await db.driver(),
        caller.user_id,
        body.amount,
        _SPEND_TYPES[body.purpose],
        source="api",
        source_id=idempotency_source(key),
        metadata={"description": body.description} if body.description else None,
        fingerprint=fingerprint("spend", body.model_dump(mode="json")) if key else None,
    )
    return MovementOut.model_validate(movement)


# The platform's hottest write, added first so it is matched first (routes.py mounts this router
# first too). tests/core/test_routing_spend.py compares its answers with the same endpoint on a
# plain APIRoute.
router.add_api_route(
    "/spend",
    spend,
    methods=["POST"],
    response_model=MovementOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=errors(insufficient_tokens=402),
)


@router.get("/balance", response_model=BalanceOut | BalanceAtOut)
async def balance(
    caller: CurrentCaller,
    db: DbUnit,
    at: Annotated[IsoDateTime | None, Query(description="Point in time (ISO 8601 with offset).")] = None,
) -> BalanceAtOut | Rows:
    if at is not None:
        return BalanceAtOut(at=at, balance=await service.balance_at(await db.session(), caller.user_id, at))
    view = await reads.balance(db, caller.user_id)
    payload = {
        "balance": view.balance,
        "tier": view.tier,
        "maxBalance": view.cap,
        "lastRegeneration": view.last_regeneration,
        "nextRegenerationAt": view.next_regeneration_at,
    }
    return Rows(payload, BalanceOut)


@router.get("/transactions", response_model=TransactionPage)
async def transactions(
    caller: CurrentCaller,
    db: DbUnit,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Rows:
    return Rows(await reads.transactions(db, caller.user_id, limit=limit, cursor=cursor))
