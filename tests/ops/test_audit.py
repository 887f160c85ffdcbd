"""The audit log service: entries are appended and read, in the caller's transaction."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import NotFound
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.ops import audit
from spikeland.ops.models import AuditAction
from tests.support import make_user
from tests.support.fixtures import UserClient


async def test_record_and_read_back(session: AsyncSession) -> None:
    actor = await make_user(session)
    entry = await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.ROLE_CHANGE,
        target_id="c-target",
        metadata={"from": "USER", "to": "ADMIN"},
        ip="203.0.113.7",
    )
    assert entry.id and entry.created_at is not None
    found = await audit.get_entry(session, entry.id)
    assert (found.user_id, found.action, found.target_id, found.metadata_, found.ip_address) == (
        actor.id,
        AuditAction.ROLE_CHANGE,
        "c-target",
        {"from": "USER", "to": "ADMIN"},
        "203.0.113.7",
    )
    bare = await audit.record(session, actor_id=actor.id, action=AuditAction.ADMIN_LOGIN)
    assert bare.metadata_ is None and bare.target_id is None and bare.ip_address is None
    with pytest.raises(NotFound):
        await audit.get_entry(session, "c-missing")


async def test_list_filters_and_pages_newest_first(session: AsyncSession) -> None:
    actor, other = await make_user(session), await make_user(session)
    made = [
        await audit.record(session, actor_id=actor.id, action=AuditAction.USER_DELETE, target_id=f"t{i}")
        for i in range(7)
    ]
    await audit.record(session, actor_id=other.id, action=AuditAction.USER_DELETE)
    await audit.record(session, actor_id=actor.id, action=AuditAction.ADMIN_LOGIN)

    seen, cursor = [], None
    while True:
        page = await audit.list_entries(
            session, actor_id=actor.id, action=AuditAction.USER_DELETE, cursor=cursor, limit=3
        )
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [e.id for e in seen] == [
        e.id for e in sorted(made, key=lambda e: (e.created_at, e.id), reverse=True)
    ]

    targeted = await audit.list_entries(session, target_id="t3")
    assert [e.id for e in targeted.items] == [made[3].id] and targeted.next_cursor is None


def test_the_service_cannot_change_history() -> None:
    public = {name for name in dir(audit) if not name.startswith("_")}
    assert not {name for name in public if name.startswith(("update", "delete", "remove", "edit"))}


async def test_admins_filter_by_time_and_export_csv(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(role=UserRole.ADMIN)
    target = "t-" + secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:
        old = await audit.record(
            session, actor_id=admin_id, action=AuditAction.VOUCHER_CREATE, target_id=target
        )
        await audit.record(
            session,
            actor_id=admin_id,
            action=AuditAction.TOKEN_ADJUSTMENT,
            target_id=target,
            metadata={"reason": "=HYPERLINK(evil)"},
        )
        old.created_at = utcnow() - timedelta(days=2)
    since = (utcnow() - timedelta(days=1)).isoformat()
    recent = (await admin.get("/api/v1/admin/audit-logs", params={"targetId": target, "since": since})).json()
    assert [e["action"] for e in recent["items"]] == ["TOKEN_ADJUSTMENT"]
    exported = await admin.get("/api/v1/admin/audit-logs/export", params={"targetId": target})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["TOKEN_ADJUSTMENT", "VOUCHER_CREATE"]
    assert json.loads(rows[0]["metadata"]) == {"reason": "=HYPERLINK(evil)"}  # JSON: no formula
    assert list(rows[0]) == ["id", "createdAt", "userId", "action", "targetId", "ipAddress", "metadata"]
    empty = await admin.get("/api/v1/admin/audit-logs/export", params={"targetId": "none-such"})
    assert empty.text.strip() == "id,createdAt,userId,action,targetId,ipAddress,metadata"
