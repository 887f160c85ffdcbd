"""``spikeland tokens verify``: the ledger explains every balance.

For every user: the balance equals the sum of their transactions, and each ``balanceAfter``
is the previous one plus the row's amount, in (createdAt, id) order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_CHAIN = text(
    """
    SELECT "userId", id, amount, "balanceAfter", previous FROM (
        SELECT "userId", id, amount, "balanceAfter",
               lag("balanceAfter") OVER (PARTITION BY "userId" ORDER BY "createdAt", id) AS previous
        FROM token_transactions
    ) chained
    WHERE coalesce(previous, 0) + amount <> "balanceAfter"
    ORDER BY "userId", id
    """
)

_TOTALS = text(
    """
    SELECT coalesce(b."userId", t."userId") AS "userId", b.balance, coalesce(t.total, 0) AS total
    FROM user_token_balances b
    FULL JOIN (SELECT "userId", sum(amount) AS total FROM token_transactions GROUP BY "userId") t
        ON t."userId" = b."userId"
    WHERE b.balance IS DISTINCT FROM coalesce(t.total, 0)
    ORDER BY 1
    """
)


@dataclass(frozen=True)
class Mismatch:
    user_id: str
    problem: str


async def verify(session: AsyncSession) -> list[Mismatch]:
    found = [
        Mismatch(row.userId, f"balance {row.balance} but transactions sum to {row.total}")
        for row in await session.execute(_TOTALS)
    ]
    found += [
        Mismatch(
            row.userId,
            f"transaction {row.id}: {row.previous or 0} {row.amount:+d} should give "
            f"{(row.previous or 0) + row.amount}, row says {row.balanceAfter}",
        )
        for row in await session.execute(_CHAIN)
    ]
    return found
