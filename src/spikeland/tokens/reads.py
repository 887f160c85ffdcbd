"""The balance and the ledger page as every visit reads them, on the driver (``db.query``).

Wire-ready answers (the schemas' aliases), as ``images.reads`` explains; the regeneration a read
may find due is the ledger's write, in the request's transaction (``service.regenerated_balance``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from spikeland.core.clock import utcnow
from spikeland.core.pagination import Desc
from spikeland.db.query import Connections, PagedQuery, Query
from spikeland.tokens.models import TokenTransaction, UserTokenBalance
from spikeland.tokens.service import BalanceView, balance_view, regenerated_balance, regeneration_is_due

_BALANCE = Query(
    select(UserTokenBalance.balance, UserTokenBalance.tier, UserTokenBalance.last_regeneration).where(
        UserTokenBalance.user_id == bindparam("user_id")
    )
)
_LEDGER = PagedQuery(
    select(TokenTransaction).where(TokenTransaction.user_id == bindparam("user_id")),
    (Desc(TokenTransaction.created_at), Desc(TokenTransaction.id)),
)


async def balance(db: Connections, user_id: str) -> BalanceView:
    """``service.get_balance`` on the driver: one read, and the locked write only when due."""
    row = await _BALANCE.one_or_none(await db.reader(), user_id=user_id)
    now = utcnow()
    if row is None or regeneration_is_due(row["balance"], row["tier"], row["lastRegeneration"], now):
        return await regenerated_balance(await db.driver(), user_id, now)
    return balance_view(row["balance"], row["tier"], row["lastRegeneration"])


async def transactions(db: Connections, user_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The user's ledger, newest first (a ``TransactionPage`` payload)."""
    page = await _LEDGER.page(await db.reader(), limit=limit, cursor=cursor, user_id=user_id)
    return {"items": page.items, "nextCursor": page.next_cursor}
