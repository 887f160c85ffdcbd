import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import sign_in


async def test_balance_spend_history_and_point_in_time(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    balance = (await client.get("/api/v1/tokens/balance")).json()
    assert balance["balance"] == 10 and balance["maxBalance"] == 10 and balance["tier"] == "FREE"
    before_spend = datetime.now(UTC)
    # Movements are stamped to the millisecond (timestamp(3)): a spend in the same millisecond as
    # ``before_spend`` would be stamped at or before it.
    await asyncio.sleep(0.002)

    spent = await client.post("/api/v1/tokens/spend", json={"amount": 3, "purpose": "generation"})
    assert spent.status_code == 201 and spent.json()["balanceAfter"] == 7
    assert spent.json()["type"] == "SPEND_MCP_GENERATION"

    short = await client.post("/api/v1/tokens/spend", json={"amount": 8, "purpose": "enhancement"})
    assert short.status_code == 402
    assert short.json()["error"] == {
        "code": "insufficient_tokens",
        "message": "Not enough tokens: this needs 8, the balance is 7.",
        "details": {"required": 8, "available": 7},
    }

    history = (await client.get("/api/v1/tokens/transactions", params={"limit": 1})).json()
    assert [t["amount"] for t in history["items"]] == [-3] and history["nextCursor"]
    rest = (await client.get("/api/v1/tokens/transactions", params={"cursor": history["nextCursor"]})).json()
    assert [(t["amount"], t["source"]) for t in rest["items"]] == [(10, "initial_balance")]

    then = (await client.get("/api/v1/tokens/balance", params={"at": before_spend.isoformat()})).json()
    assert then == {"at": before_spend.isoformat().replace("+00:00", "Z"), "balance": 10}
    earlier = before_spend - timedelta(days=1)
    assert (await client.get("/api/v1/tokens/balance", params={"at": earlier.isoformat()})).json()[
        "balance"
    ] == 0


async def test_idempotency_key_makes_a_spend_happen_once(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    headers = {"Idempotency-Key": "order-42"}
    body = {"amount": 2, "purpose": "box"}
    first = await client.post("/api/v1/tokens/spend", json=body, headers=headers)
    second = await client.post("/api/v1/tokens/spend", json=body, headers=headers)
    assert first.json()["applied"] is True and second.json()["applied"] is False
    assert first.json()["transactionId"] == second.json()["transactionId"]
    assert (await client.get("/api/v1/tokens/balance")).json()["balance"] == 8


async def test_admin_adjustment_is_audited_and_bounded(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    target = (await sign_in(client)).id
    client.cookies.clear()
    admin_id = (await sign_in(client)).id
    async with engine.begin() as conn:
        await conn.execute(text("update users set role = 'ADMIN' where id = :id"), {"id": admin_id})

    too_big = await client.post(
        f"/api/v1/admin/users/{target}/tokens", json={"amount": 10_001, "reason": "x"}
    )
    assert too_big.status_code == 422
    no_reason = await client.post(f"/api/v1/admin/users/{target}/tokens", json={"amount": 5})
    assert no_reason.status_code == 422
    nul_reason = await client.post(
        f"/api/v1/admin/users/{target}/tokens", json={"amount": 5, "reason": "a\x00"}
    )
    assert nul_reason.status_code == 422, nul_reason.text
    adjusted = await client.post(
        f"/api/v1/admin/users/{target}/tokens", json={"amount": 25, "reason": "goodwill"}
    )
    assert adjusted.status_code == 201 and adjusted.json()["type"] == "EARN_ADMIN_ADJUSTMENT"
    assert adjusted.json()["balanceAfter"] == 35
    below_zero = await client.post(
        f"/api/v1/admin/users/{target}/tokens", json={"amount": -36, "reason": "oops"}
    )
    assert below_zero.status_code == 402
    missing = await client.post("/api/v1/admin/users/cnosuchuser/tokens", json={"amount": 1, "reason": "x"})
    assert missing.status_code == 404

    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        'select metadata from audit_logs where "targetId" = :t '
                        "and action = 'TOKEN_ADJUSTMENT'"
                    ),
                    {"t": target},
                )
            )
            .scalars()
            .all()
        )
    assert rows == [{"amount": 25, "reason": "goodwill", "balanceAfter": 35}]


async def test_plain_users_cannot_adjust(client: httpx.AsyncClient) -> None:
    me = (await sign_in(client)).id
    response = await client.post(f"/api/v1/admin/users/{me}/tokens", json={"amount": 5, "reason": "me"})
    assert response.status_code == 403
