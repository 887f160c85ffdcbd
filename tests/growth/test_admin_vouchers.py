"""Admin voucher CRUD over HTTP: code normalisation, value rules, status rules, audit rows, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spikeland.core.clock import utcnow
from spikeland.growth.models import Voucher, VoucherRedemption
from spikeland.identity.models import UserRole
from spikeland.ops.models import AuditAction, AuditLog
from tests.support import committed_voucher, fetch, make_user, new_code
from tests.support.fixtures import UserClient

ADMIN = "/api/v1/admin/vouchers"


async def test_create_normalises_the_code_and_is_audited(app: FastAPI, user_client: UserClient) -> None:
    boss, boss_id = await user_client(UserRole.ADMIN)
    code = new_code("launch").lower()
    body = {"code": f"  {code}  ", "type": "FIXED_TOKENS", "value": 100, "maxUses": 3, "metadata": {"c": "x"}}
    created = await boss.post(ADMIN, json=body)
    assert created.status_code == 201, created.text
    voucher = created.json()
    assert voucher["code"] == code.upper()
    assert (voucher["status"], voucher["currentUses"], voucher["redemptionCount"]) == ("ACTIVE", 0, 0)
    assert voucher["metadata"] == {"c": "x"} and voucher["maxUses"] == 3
    [row] = await fetch(app, AuditLog, target_id=voucher["id"])
    assert (row.user_id, row.action, row.ip_address) == (boss_id, AuditAction.VOUCHER_CREATE, "127.0.0.1")
    assert row.metadata_["code"] == code.upper() and row.metadata_["value"] == 100

    again = await boss.post(ADMIN, json={**body, "code": code.upper()})
    assert again.status_code == 409 and again.json()["error"]["code"] == "voucher_code_taken"


@pytest.mark.parametrize(
    "code", ["", "   ", "AB-CD", "AB CD", "A" * 51, "ÄBC", "v\u0131p", "drop;table", "x\u0000"]
)
async def test_bad_codes_are_422(user_client: UserClient, code: str) -> None:
    boss, _ = await user_client(UserRole.ADMIN)
    response = await boss.post(ADMIN, json={"code": code, "type": "FIXED_TOKENS", "value": 5})
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    for path in ("/api/v1/vouchers/validate", "/api/v1/vouchers/redeem"):
        checked = await boss.post(path, json={"code": code})
        assert checked.status_code == 422, checked.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "FIXED_TOKENS", "value": 0}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": "5"}, "validation_error"),  # typed integer: no strings,
        ({"type": "FIXED_TOKENS", "value": True}, "validation_error"),  # booleans
        ({"type": "FIXED_TOKENS", "value": 5.5}, "validation_error"),  # or numbers with a fraction
        ({"type": "FIXED_TOKENS", "value": 5, "maxUses": "3"}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": 5, "expiresAt": 1700000000}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": 5, "expiresAt": "1700000000"}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": -5}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": 1_000_001}, "invalid_voucher_value"),
        ({"type": "PERCENTAGE_BONUS", "value": 101}, "invalid_voucher_value"),
        ({"type": "SUBSCRIPTION_TRIAL", "value": 366}, "invalid_voucher_value"),
        ({"type": "SUBSCRIPTION_TRIAL", "value": 7, "metadata": {"tier": "GOLD"}}, "invalid_trial_tier"),
        ({"type": "SUBSCRIPTION_TRIAL", "value": 7, "metadata": {"tier": "FREE"}}, "invalid_trial_tier"),
        ({"type": "FIXED_TOKENS", "value": 5, "maxUses": 0}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": 5, "expiresAt": "2030-01-01T00:00:00"}, "validation_error"),
        ({"type": "FIXED_TOKENS", "value": 5, "metadata": {"x": "y" * 5000}}, "metadata_too_large"),
        ({"type": "GIFT", "value": 5}, "validation_error"),
    ],
)
async def test_value_rules(user_client: UserClient, body: dict[str, Any], code: str) -> None:
    boss, _ = await user_client(UserRole.ADMIN)
    response = await boss.post(ADMIN, json={"code": new_code(), **body})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


async def test_trial_tier_defaults_to_basic(user_client: UserClient) -> None:
    boss, _ = await user_client(UserRole.ADMIN)
    trial = await boss.post(ADMIN, json={"code": new_code(), "type": "SUBSCRIPTION_TRIAL", "value": 14})
    assert trial.status_code == 201 and trial.json()["metadata"] == {"tier": "BASIC"}
    body = {"code": new_code(), "type": "SUBSCRIPTION_TRIAL", "value": 1, "metadata": {"tier": "premium"}}
    premium = await boss.post(ADMIN, json=body)
    assert premium.json()["metadata"] == {"tier": "PREMIUM"}


async def test_update_rederives_status_and_is_audited(app: FastAPI, user_client: UserClient) -> None:
    boss, boss_id = await user_client(UserRole.ADMIN)
    voucher = (await boss.post(ADMIN, json={"code": new_code(), "type": "FIXED_TOKENS", "value": 5})).json()
    url = f"{ADMIN}/{voucher['id']}"

    off = await boss.patch(url, json={"status": "INACTIVE"})
    assert off.status_code == 200 and off.json()["status"] == "INACTIVE"
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    still_off = await boss.patch(url, json={"expiresAt": past})
    assert still_off.json()["status"] == "INACTIVE"  # the admin's word stands
    expired = await boss.patch(url, json={"status": "ACTIVE"})
    assert expired.json()["status"] == "EXPIRED"  # ACTIVE, but its facts say expired
    future = (utcnow() + timedelta(days=3)).isoformat()
    back = await boss.patch(url, json={"expiresAt": future, "maxUses": 10})
    assert (back.json()["status"], back.json()["maxUses"]) == ("ACTIVE", 10)
    unlimited = await boss.patch(url, json={"maxUses": None, "expiresAt": None})
    assert (unlimited.json()["maxUses"], unlimited.json()["expiresAt"]) == (None, None)
    assert (await boss.patch(url, json={"status": "DEPLETED"})).status_code == 422
    assert (await boss.patch(f"{ADMIN}/nope", json={"status": "ACTIVE"})).status_code == 404

    rows = await fetch(app, AuditLog, target_id=voucher["id"], action=AuditAction.VOUCHER_UPDATE)
    assert len(rows) == 5 and all(r.user_id == boss_id and r.ip_address == "127.0.0.1" for r in rows)
    assert rows[0].metadata_["changes"] == {"status": ["ACTIVE", "INACTIVE"]}


async def test_depleted_by_a_lower_limit(app: FastAPI, user_client: UserClient) -> None:
    boss, _ = await user_client(UserRole.ADMIN)
    voucher = await committed_voucher(app, current_uses=4, max_uses=10)
    lowered = await boss.patch(f"{ADMIN}/{voucher.id}", json={"maxUses": 4})
    assert lowered.json()["status"] == "DEPLETED"
    raised = await boss.patch(f"{ADMIN}/{voucher.id}", json={"maxUses": 5})
    assert raised.json()["status"] == "ACTIVE"


async def test_list_counts_redemptions_and_delete_cascades(app: FastAPI, user_client: UserClient) -> None:
    boss, boss_id = await user_client(UserRole.ADMIN)
    voucher = await committed_voucher(app, current_uses=2)
    from spikeland.db.engine import transaction

    async with transaction(app.state.sessionmaker) as session:
        for _ in range(2):
            user = await make_user(session)
            session.add(VoucherRedemption(voucher_id=voucher.id, user_id=user.id, tokens_granted=25))
    seen: dict[str, Any] = {}
    cursor = None
    while True:  # walk the pages until this voucher shows up
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await boss.get(ADMIN, params=params)).json()
        seen.update({v["id"]: v for v in page["items"]})
        cursor = page["nextCursor"]
        if voucher.id in seen or cursor is None:
            break
    assert seen[voucher.id]["redemptionCount"] == 2
    one = await boss.get(f"{ADMIN}/{voucher.id}")
    assert one.json()["redemptionCount"] == 2
    active = (await boss.get(ADMIN, params={"status": "INACTIVE", "limit": 100})).json()["items"]
    assert all(v["status"] == "INACTIVE" for v in active)

    deleted = await boss.delete(f"{ADMIN}/{voucher.id}")
    assert deleted.status_code == 204
    assert (await boss.get(f"{ADMIN}/{voucher.id}")).status_code == 404
    assert (await boss.delete(f"{ADMIN}/{voucher.id}")).status_code == 404
    assert await fetch(app, Voucher, id=voucher.id) == []
    assert await fetch(app, VoucherRedemption, voucher_id=voucher.id) == []
    [row] = await fetch(app, AuditLog, target_id=voucher.id, action=AuditAction.VOUCHER_DELETE)
    assert (
        row.user_id == boss_id and row.metadata_["code"] == voucher.code and row.metadata_["currentUses"] == 2
    )


async def test_users_and_strangers_are_kept_out(client: httpx.AsyncClient, user_client: UserClient) -> None:
    assert (await client.get(ADMIN)).status_code == 401
    user, _ = await user_client(UserRole.USER)
    body = {"code": new_code(), "type": "FIXED_TOKENS", "value": 5}
    for method, path, json in [
        ("GET", ADMIN, None),
        ("POST", ADMIN, body),
        ("GET", f"{ADMIN}/x", None),
        ("PATCH", f"{ADMIN}/x", {"status": "INACTIVE"}),
        ("DELETE", f"{ADMIN}/x", None),
    ]:
        response = await user.request(method, path, json=json)
        assert response.status_code == 403 and response.json()["error"]["code"] == "admin_required"
