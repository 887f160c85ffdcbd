"""``verify`` and ``spikeland tokens verify`` catch books that do not add up.

The corruptions are written with plain SQL, as a bug or a hand edit would. In-process checks run in
the rolled-back ``session``; the CLI runs on a database of its own (created, migrated and dropped
here), because it checks every user and the shared test database holds other tests' users.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from spikeland.db import migrate
from spikeland.db.cuid import cuid
from spikeland.db.engine import SERVER_SETTINGS, async_url
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransactionType as T
from spikeland.tokens.verify import verify
from tests.conftest import create_database, drop_database
from tests.support import make_user


async def user_with_history(session: AsyncSession) -> str:
    user = await make_user(session)
    await service.spend(session, user.id, 4, T.SPEND_ENHANCEMENT, source="test")
    await service.credit(session, user.id, 20, T.EARN_PURCHASE, source="test", source_id="pi_verify")
    return user.id  # 10 - 4 + 20 = 26


async def corrupt_balance(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        text('UPDATE user_token_balances SET balance = balance + 5 WHERE "userId" = :u'), {"u": user_id}
    )


async def append_broken_row(session: AsyncSession, user_id: str, tx_id: str) -> None:
    """A 0-token row after the last one whose balanceAfter does not follow: the sum still agrees."""
    await session.execute(
        text(
            'INSERT INTO token_transactions (id, "userId", amount, type, source, "balanceAfter", '
            '"createdAt") '
            "VALUES (:id, :u, 0, 'EARN_BONUS', 'hand_edit', 999, "
            "(now() at time zone 'utc') + interval '1 minute')"
        ),
        {"id": tx_id, "u": user_id},
    )


async def test_a_clean_ledger_has_nothing_to_report_for_its_users(session: AsyncSession) -> None:
    user_id = await user_with_history(session)
    assert [m for m in await verify(session) if m.user_id == user_id] == []


async def test_a_balance_changed_behind_the_ledger_is_named(session: AsyncSession) -> None:
    user_id = await user_with_history(session)
    bystander = await user_with_history(session)
    await corrupt_balance(session, user_id)
    found = [m for m in await verify(session) if m.user_id in (user_id, bystander)]
    assert [(m.user_id, m.problem) for m in found] == [(user_id, "balance 31 but transactions sum to 26")]


async def test_a_broken_chain_is_named_with_its_transaction(session: AsyncSession) -> None:
    user_id = await user_with_history(session)
    tx_id = cuid()
    await append_broken_row(session, user_id, tx_id)
    found = [m for m in await verify(session) if m.user_id == user_id]
    assert len(found) == 1 and found[0].user_id == user_id
    assert found[0].problem == f"transaction {tx_id}: 26 +0 should give 26, row says 999"


async def test_transactions_without_a_balance_row_are_reported(session: AsyncSession) -> None:
    user = await make_user(session)
    await session.execute(
        text(
            'INSERT INTO token_transactions (id, "userId", amount, type, source, "balanceAfter") '
            "VALUES (:id, :u, 7, 'EARN_BONUS', 'hand_edit', 7)"
        ),
        {"id": cuid(), "u": user.id},
    )
    found = [m for m in await verify(session) if m.user_id == user.id]
    assert [m.problem for m in found] == ["balance None but transactions sum to 7"]


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def own_database(server_url: str) -> Iterator[str]:
    name = f"spikeland_verify_{secrets.token_hex(4)}"
    url = asyncio.run(create_database(server_url, name))
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture
async def own_engine(own_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(own_database), connect_args={"server_settings": SERVER_SETTINGS})
    yield engine
    await engine.dispose()


async def run_verify(database_url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env["SPIKELAND_DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spikeland",
        "tokens",
        "verify",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_cli_exits_0_on_a_clean_ledger_and_1_listing_each_mismatch(own_engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(own_engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        users = [await user_with_history(session) for _ in range(3)]

    code, output = await run_verify(own_engine.url.render_as_string(hide_password=False))
    assert code == 0, output
    assert "ledger verified" in output

    broken_row = cuid()
    async with sessions() as session, session.begin():
        await corrupt_balance(session, users[0])
        await append_broken_row(session, users[2], broken_row)
    code, output = await run_verify(own_engine.url.render_as_string(hide_password=False))
    assert code == 1, output
    assert f"{users[0]}: balance 31 but transactions sum to 26" in output
    assert f"{users[2]}: transaction {broken_row}: 26 +0 should give 26, row says 999" in output
    assert users[1] not in output
    assert "2 ledger mismatches" in output
