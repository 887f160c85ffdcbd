"""Property test of the ledger: any sequence of movements keeps the books exact.

Hypothesis draws short programs of credit / spend / refund / reverse / adjust / regenerate /
change_tier on one user (source ids from a tiny pool, so repeats are common; the clock is moved by
shifting ``lastRegeneration`` back). Each example runs in its own transaction on its own connection,
rolled back at the end, so examples do not see each other. After every step the whole history is
checked: balance == sum of amounts, nothing below zero, ``balanceAfter`` chained in (createdAt, id)
order, each (type, sourceId) at most once, and ``verify`` has nothing to say about the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens import service
from spikeland.tokens.costs import REGENERATION_INTERVAL, TIER_CAP
from spikeland.tokens.ledger import Movement
from spikeland.tokens.models import TokenTransactionType as T
from spikeland.tokens.service import EARN_TYPES, SPEND_TYPES, InsufficientTokens
from spikeland.tokens.verify import verify
from tests.support import make_user

SOURCE_IDS = ["s1", "s2", "s3"]
maybe_source = st.sampled_from([None, *SOURCE_IDS])
some_source = st.sampled_from(SOURCE_IDS)

# Each step is a tuple whose first item names the operation.
steps = st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 60), st.sampled_from(sorted(EARN_TYPES)), maybe_source),
    st.tuples(st.just("spend"), st.integers(0, 40), st.sampled_from(sorted(SPEND_TYPES)), maybe_source),
    st.tuples(st.just("refund"), st.integers(1, 30), some_source),
    st.tuples(st.just("reverse"), st.integers(1, 80), some_source),
    st.tuples(st.just("adjust"), st.one_of(st.integers(-60, -1), st.integers(1, 60)), maybe_source),
    # minutes the clock moves, then either the explicit regeneration or a balance read applies it
    st.tuples(st.just("regenerate"), st.integers(0, 48 * 60), st.booleans()),
    st.tuples(st.just("change_tier"), st.sampled_from(list(SubscriptionTier)), st.booleans(), maybe_source),
)


@dataclass(frozen=True)
class Snapshot:
    balance: int
    tier: SubscriptionTier
    last_regeneration: datetime
    rows: int


async def snapshot(session: AsyncSession, user_id: str) -> Snapshot:
    row = (
        await session.execute(
            text(
                'SELECT balance, tier, "lastRegeneration", '
                '(SELECT count(*) FROM token_transactions WHERE "userId" = :u) AS rows '
                'FROM user_token_balances WHERE "userId" = :u'
            ),
            {"u": user_id},
        )
    ).one()
    return Snapshot(row.balance, SubscriptionTier(row.tier), row.lastRegeneration, row.rows)


async def check_books(session: AsyncSession, user_id: str) -> None:
    rows = (
        await session.execute(
            text(
                'SELECT amount, "balanceAfter", type, "sourceId" FROM token_transactions '
                'WHERE "userId" = :u ORDER BY "createdAt", id'
            ),
            {"u": user_id},
        )
    ).all()
    running = 0
    for row in rows:
        assert row.balanceAfter == running + row.amount, rows
        running = row.balanceAfter
        assert running >= 0, rows
    keys = [(r.type, r.sourceId) for r in rows if r.sourceId is not None]
    assert len(keys) == len(set(keys)), f"a (type, sourceId) applied twice: {keys}"
    current = await snapshot(session, user_id)
    assert current.balance == running == sum(r.amount for r in rows)
    assert [m for m in await verify(session) if m.user_id == user_id] == []


def intervals(since: datetime, until: datetime) -> int:
    return max(0, int((until - since) / REGENERATION_INTERVAL))


class Program:
    """Runs steps on one user and checks each step's own promise; ``applied`` remembers first results."""

    def __init__(self, session: AsyncSession, user_id: str) -> None:
        self.session, self.user_id = session, user_id
        self.applied: dict[tuple[T, str], Movement] = {}

    async def run(self, step: tuple[Any, ...]) -> None:
        before = await snapshot(self.session, self.user_id)
        name, *args = step
        key = self._key(name, args)
        if key is not None and key in self.applied and name != "change_tier":
            movement = await self._call(name, args)
            assert movement is not None and movement.applied is False
            assert movement.transaction_id == self.applied[key].transaction_id
            assert await snapshot(self.session, self.user_id) == before, "a repeat changed the books"
            event(f"{name}: repeat")
            return
        started = utcnow().replace(tzinfo=None)
        try:
            movement = await self._call(name, args)
        except InsufficientTokens as short:
            assert name in ("spend", "adjust")
            assert short.available >= before.balance and short.available < short.required
            assert await snapshot(self.session, self.user_id) == before, "a refused movement wrote"
            event(f"{name}: insufficient")
            return
        after = await snapshot(self.session, self.user_id)
        await self._check(name, args, before, after, movement, (started, utcnow().replace(tzinfo=None)))
        if movement is not None and movement.applied and key is not None and movement.type == key[0]:
            self.applied[key] = movement

    def _key(self, name: str, args: list[Any]) -> tuple[T, str] | None:
        source_id: str | None
        if name in ("credit", "spend"):
            type_, source_id = args[1], args[2]
        elif name in ("refund", "reverse"):
            type_, source_id = T.REFUND, args[1]
        elif name == "adjust":
            type_, source_id = T.EARN_ADMIN_ADJUSTMENT, args[1]
        elif name == "change_tier":
            type_, source_id = T.EARN_PURCHASE, args[2]
        else:
            return None
        return None if source_id is None else (type_, source_id)

    async def _call(self, name: str, args: list[Any]) -> Movement | None:
        s, u = self.session, self.user_id
        if name == "credit":
            return await service.credit(s, u, args[0], args[1], source="prop", source_id=args[2])
        if name == "spend":
            return await service.spend(s, u, args[0], args[1], source="prop", source_id=args[2])
        if name == "refund":
            return await service.refund(s, u, args[0], source="prop", source_id=args[1])
        if name == "reverse":
            return await service.reverse(s, u, args[0], source="prop", source_id=args[1])
        if name == "adjust":
            return await service.adjust(s, u, args[0], reason="prop", actor_id="admin", source_id=args[1])
        if name == "change_tier":
            tier, raise_to_cap, source_id = args
            return await service.change_tier(
                s, u, tier, raise_to_cap=raise_to_cap, source="prop", source_id=source_id
            )
        assert name == "regenerate"
        minutes, explicitly = args
        await s.execute(
            text(
                'UPDATE user_token_balances SET "lastRegeneration" = "lastRegeneration" - '
                'make_interval(mins => :m) WHERE "userId" = :u'
            ),
            {"m": minutes, "u": u},
        )
        if explicitly:
            return await service.regenerate(s, u)
        await service.get_balance(s, u)
        return None

    async def _check(
        self,
        name: str,
        args: list[Any],
        before: Snapshot,
        after: Snapshot,
        movement: Movement | None,
        window: tuple[datetime, datetime],
    ) -> None:
        if name in ("credit", "spend", "refund", "adjust"):
            assert movement is not None and movement.applied
            expected = -args[0] if name == "spend" else args[0]
            assert movement.amount == expected and movement.balance_after == after.balance
        elif name == "reverse":
            assert movement is not None and movement.applied and movement.balance_after == after.balance
            taken = -movement.amount
            assert 0 <= taken <= args[0]
            if taken < args[0]:  # floored at zero; the rest is recorded
                assert after.balance == 0
                assert movement.metadata is not None
                assert movement.metadata["shortfall"] == args[0] - taken
                event("reverse: shortfall")
        elif name == "change_tier":
            tier, raise_to_cap, _ = args
            if movement is not None and not movement.applied:  # a repeat of an upgrade's top-up
                assert after == before
                event("change_tier: repeat")
                return
            assert after.tier == tier
            if raise_to_cap:
                assert after.balance >= TIER_CAP[tier]
            else:
                assert movement is None or movement.type == T.EARN_REGENERATION
        else:  # regenerate: what is due by now, never past the cap
            cap = TIER_CAP[before.tier]
            shifted = before.last_regeneration - timedelta(minutes=args[0])
            gained = after.balance - before.balance
            if before.balance >= cap:
                assert gained == 0
            else:
                # the service read the clock somewhere inside the window (naive UTC, as stored)
                low = min(intervals(shifted, window[0]), cap - before.balance)
                high = min(intervals(shifted, window[1]), cap - before.balance)
                assert low <= gained <= high, (before, after, args)
                event(f"regenerate: {'some' if gained else 'none'}")
            assert after.balance <= max(cap, before.balance)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=st.lists(steps, min_size=1, max_size=15))
async def test_any_sequence_of_movements_keeps_the_books(
    engine: AsyncEngine, program: list[tuple[Any, ...]]
) -> None:
    async with engine.connect() as conn:
        trans = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False)
        try:
            user = await make_user(session)
            await service.get_balance(session, user.id)  # the balance row and its first 10 tokens
            runner = Program(session, user.id)
            for step in program:
                await runner.run(step)
                await check_books(session, user.id)
        finally:
            await session.close()
            await trans.rollback()
