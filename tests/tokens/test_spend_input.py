"""What a spend request may carry: text PostgreSQL cannot store (a NUL) is a 422 wherever it comes
in, never a 500 — the spend runs on the driver connection, where asyncpg's own errors arrive
unwrapped by SQLAlchemy."""

from __future__ import annotations

import httpx

from tests.support import sign_in

SPEND = "/api/v1/tokens/spend"


async def test_a_nul_anywhere_in_a_spend_is_422_and_spends_nothing(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    for body in (
        {"amount": 1, "purpose": "box", "description": "bad\x00text"},
        {"amount": 1, "purpose": "box", "description": "bell\x07"},
        {"amount": 1, "purpose": "box\x00"},
    ):
        refused = await client.post(SPEND, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
    # The key is not checked by a schema: PostgreSQL refuses it, and that is the client's text too.
    keyed = await client.post(
        SPEND, json={"amount": 1, "purpose": "box"}, headers={"Idempotency-Key": "k\x00"}
    )
    assert keyed.status_code == 422, keyed.text
    assert keyed.json()["error"]["code"] == "invalid_text"
    # Line breaks and tabs are text; nothing above was spent.
    fine = await client.post(SPEND, json={"amount": 1, "purpose": "box", "description": "two\nlines\t"})
    assert fine.status_code == 201, fine.text
    assert fine.json()["balanceAfter"] == 9
