"""The caller's tokens: balance (now or at a moment), history, and spending."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from spikeland.core.deps import IdempotencyKey
from spikeland.core.hot_route import HotRoute
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.schemas import IsoDateTime
from spikeland.db.session import DbSession, DbUnit
from spikeland.identity.deps import CurrentCaller, CurrentUser
from spikeland.tokens import service
from spikeland.tokens.idempotency import fingerprint, idempotency_source
from spikeland.tokens.models import TokenTransactionType
from spikeland.tokens.schemas import (
    BalanceAtOut,
    BalanceOut,
    MovementOut,
    SpendRequest,
    TransactionOut,
    TransactionPage,
)

# Ordinary FastAPI routes; only the spend is a HotRoute (see docs/architecture.md, "Hot paths").
router = APIRouter(prefix="/tokens", tags=["tokens"])

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


# The platform's hottest write: served by HotRoute (core.hot_route) and nothing else of this router,
# and added first so it is matched first (routes.py mounts this router first too).
# tests/core/test_hot_route_spend.py compares its answers with the same endpoint on a plain APIRoute.
router.add_api_route(
    "/spend",
    spend,
    methods=["POST"],
    response_model=MovementOut,
    status_code=status.HTTP_201_CREATED,
    route_class_override=HotRoute,
    openapi_extra=errors(insufficient_tokens=402),
)


@router.get("/balance", response_model=BalanceOut | BalanceAtOut)
async def balance(
    user: CurrentUser,
    session: DbSession,
    at: Annotated[IsoDateTime | None, Query(description="Point in time (ISO 8601 with offset).")] = None,
) -> BalanceOut | BalanceAtOut:
    if at is not None:
        return BalanceAtOut(at=at, balance=await service.balance_at(session, user.id, at))
    view = await service.get_balance(session, user.id)
    return BalanceOut(
        balance=view.balance,
        tier=view.tier,
        max_balance=view.cap,
        last_regeneration=view.last_regeneration,
        next_regeneration_at=view.next_regeneration_at,
    )


@router.get("/transactions", response_model=TransactionPage)
async def transactions(
    user: CurrentUser,
    session: DbSession,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> TransactionPage:
    page = await service.list_transactions(session, user.id, limit=limit, cursor=cursor)
    return TransactionPage(
        items=[TransactionOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )
