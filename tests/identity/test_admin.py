"""Roles and the admin user endpoints, through the HTTP API, with their audit rows."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, Forbidden, ValidationFailed
from spikeland.core.security import hash_password
from spikeland.db.engine import transaction
from spikeland.db.registry import metadata
from spikeland.identity import admin
from spikeland.identity.models import User, UserRole
from spikeland.ops.models import AuditAction, AuditLog
from spikeland.settings import Settings
from tests.db.rows import insert_row
from tests.support import PASSWORD, http_client, make_user
from tests.support import sign_in as support_sign_in
from tests.support.images import finished_results, picture, stored_files, upload

SignIn = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


def new_email(tag: str = "adm") -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.com"


@pytest.fixture
async def sign_in(app: FastAPI) -> AsyncIterator[SignIn]:
    """``await sign_in(role)``: a new user with that role, signed in on a client of their own."""
    async with AsyncExitStack() as stack:

        async def make(
            role: UserRole = UserRole.USER, email: str | None = None
        ) -> tuple[httpx.AsyncClient, str]:
            email = email or new_email()
            client = await stack.enter_async_context(http_client(app))
            if role == UserRole.USER:
                return client, (await support_sign_in(client, email, bare=True)).id
            # Admins the way the CLI makes them, and logged in through the API: both are audited.
            async with transaction(app.state.sessionmaker) as session:
                user = await admin.create_or_promote_admin(
                    session, app.state.settings, email, PASSWORD, role == UserRole.SUPER_ADMIN
                )
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            return client, user.id

        yield make


async def _hash(app: FastAPI) -> str:
    return await hash_password(PASSWORD, app.state.settings.bcrypt_cost)


async def audit_rows(app: FastAPI, **where: Any) -> list[AuditLog]:
    async with transaction(app.state.sessionmaker) as session:
        statement = select(AuditLog).filter_by(**where).order_by(AuditLog.created_at, AuditLog.id)
        return list((await session.scalars(statement)).all())


async def role_of(app: FastAPI, user_id: str) -> UserRole | None:
    async with transaction(app.state.sessionmaker) as session:
        return await session.scalar(select(User.role).where(User.id == user_id))


@asynccontextmanager
async def sole_super_admins(app: FastAPI, *keep: str) -> AsyncIterator[None]:
    """Other tests leave super admins behind; for a while only ``keep`` are SUPER_ADMIN."""
    async with transaction(app.state.sessionmaker) as session:
        others = (
            await session.scalars(
                update(User)
                .where(User.role == UserRole.SUPER_ADMIN, User.id.not_in(keep))
                .values(role=UserRole.ADMIN)
                .returning(User.id)
            )
        ).all()
    try:
        yield
    finally:
        async with transaction(app.state.sessionmaker) as session:
            await session.execute(update(User).where(User.id.in_(others)).values(role=UserRole.SUPER_ADMIN))


# ----------------------------------------------------------------------------- roles and sign-in


async def test_admin_sign_in_is_audited_with_the_ip(app: FastAPI, sign_in: SignIn) -> None:
    _, admin_id = await sign_in(UserRole.ADMIN)
    _, user_id = await sign_in(UserRole.USER)
    logins = await audit_rows(app, user_id=admin_id, action=AuditAction.ADMIN_LOGIN)
    assert len(logins) == 1 and logins[0].ip_address == "127.0.0.1" and logins[0].target_id == admin_id
    assert await audit_rows(app, user_id=user_id) == []


async def test_users_and_strangers_are_kept_out(client: httpx.AsyncClient, sign_in: SignIn) -> None:
    assert (await client.get("/api/v1/admin/users")).status_code == 401
    user, _ = await sign_in(UserRole.USER)
    for method, path in [
        ("GET", "/admin/users"),
        ("GET", "/admin/users/x"),
        ("DELETE", "/admin/users/x"),
        ("GET", "/admin/audit-logs"),
    ]:
        response = await user.request(method, f"/api/v1{path}")
        assert response.status_code == 403 and response.json()["error"]["code"] == "admin_required"
    patched = await user.patch("/api/v1/admin/users/x/role", json={"role": "ADMIN"})
    assert patched.status_code == 403


async def test_create_or_promote_admin(app: FastAPI, settings: Settings) -> None:
    email = new_email("boot")
    async with transaction(app.state.sessionmaker) as session:
        with pytest.raises(ValidationFailed):
            await admin.create_or_promote_admin(session, settings, email, None, False)
        with pytest.raises(ValidationFailed):
            await admin.create_or_promote_admin(session, settings, "not an email", PASSWORD, False)
        with pytest.raises(ValidationFailed):
            await admin.create_or_promote_admin(session, settings, email, "short", False)
        created = await admin.create_or_promote_admin(session, settings, email.upper(), PASSWORD, False)
        assert created.role == UserRole.ADMIN and created.email == email and created.password_hash
    async with transaction(app.state.sessionmaker) as session:
        promoted = await admin.create_or_promote_admin(session, settings, email, None, True)
        assert promoted.id == created.id and promoted.role == UserRole.SUPER_ADMIN
        kept = await admin.create_or_promote_admin(session, settings, email, None, False)
        assert kept.role == UserRole.SUPER_ADMIN  # a promotion never lowers a role
    changes = await audit_rows(app, target_id=created.id, action=AuditAction.ROLE_CHANGE)
    assert [row.metadata_ for row in changes] == [
        {"from": "USER", "to": "ADMIN", "via": "cli"},
        {"from": "ADMIN", "to": "SUPER_ADMIN", "via": "cli"},
    ]


# ----------------------------------------------------------------------------- listing


async def test_search_filter_and_walk_every_page(app: FastAPI, sign_in: SignIn) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    tag = secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:  # one transaction: equal createdAt
        batch = [await make_user(session, email=f"walk-{tag}-{i}@example.com") for i in range(5)]
        named = await make_user(session, email=new_email(), name=f"Ada {tag.upper()} Lovelace")
    ids = {user.id for user in batch} | {named.id}
    for i in range(2):  # and a few in later transactions
        async with transaction(app.state.sessionmaker) as session:
            ids.add((await make_user(session, email=f"walk-{tag}-late{i}@example.com")).id)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"q": tag.upper(), "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await boss.get("/api/v1/admin/users", params=params)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    order = [(datetime.fromisoformat(user["createdAt"]), user["id"]) for user in seen]
    assert order == sorted(order, reverse=True)
    assert len(seen) == len(ids) == len({user["id"] for user in seen}) and {u["id"] for u in seen} == ids
    assert all("passwordHash" not in user for user in seen)

    by_name = (await boss.get("/api/v1/admin/users", params={"q": f"ada {tag}"})).json()["items"]
    assert [user["id"] for user in by_name] == [named.id]
    admins = (await boss.get("/api/v1/admin/users", params={"q": tag, "role": "ADMIN"})).json()
    assert admins == {"items": [], "nextCursor": None}
    wildcard = (await boss.get("/api/v1/admin/users", params={"q": "%"})).json()["items"]
    assert all("%" in (user["email"] or "") + (user["name"] or "") for user in wildcard)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"role": "OWNER"}, {"q": "x" * 101}, {"cursor": "@@@"}],
)
async def test_bad_list_parameters_are_422(sign_in: SignIn, params: dict[str, Any]) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    response = await boss.get("/api/v1/admin/users", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"validation_error", "invalid_cursor"}


async def test_get_one_user(sign_in: SignIn) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    _, user_id = await sign_in(UserRole.USER)
    found = await boss.get(f"/api/v1/admin/users/{user_id}")
    assert found.status_code == 200 and found.json()["id"] == user_id and found.json()["role"] == "USER"
    missing = await boss.get("/api/v1/admin/users/c-nobody")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"


# ----------------------------------------------------------------------------- role changes


async def test_super_admin_changes_roles_and_it_is_audited(app: FastAPI, sign_in: SignIn) -> None:
    chief, chief_id = await sign_in(UserRole.SUPER_ADMIN)
    deputy, _ = await sign_in(UserRole.ADMIN)
    _, user_id = await sign_in(UserRole.USER)

    refused = await deputy.patch(f"/api/v1/admin/users/{user_id}/role", json={"role": "ADMIN"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "super_admin_required"

    for role in ("ADMIN", "SUPER_ADMIN", "USER"):
        changed = await chief.patch(f"/api/v1/admin/users/{user_id}/role", json={"role": role})
        assert changed.status_code == 200 and changed.json()["role"] == role
    rows = await audit_rows(app, target_id=user_id, action=AuditAction.ROLE_CHANGE)
    assert [(row.metadata_["from"], row.metadata_["to"]) for row in rows] == [
        ("USER", "ADMIN"),
        ("ADMIN", "SUPER_ADMIN"),
        ("SUPER_ADMIN", "USER"),
    ]
    assert {(row.user_id, row.ip_address) for row in rows} == {(chief_id, "127.0.0.1")}

    listed = await chief.get("/api/v1/admin/audit-logs", params={"targetId": user_id, "limit": 2})
    first = listed.json()
    assert [e["metadata"]["to"] for e in first["items"]] == ["USER", "SUPER_ADMIN"] and first["nextCursor"]
    rest = await chief.get(
        "/api/v1/admin/audit-logs", params={"targetId": user_id, "cursor": first["nextCursor"]}
    )
    assert [e["metadata"]["to"] for e in rest.json()["items"]] == ["ADMIN"]


@pytest.mark.parametrize("body", [{}, {"role": "OWNER"}, {"role": 1}, {"role": None}])
async def test_bad_role_bodies_are_422(sign_in: SignIn, body: dict[str, Any]) -> None:
    chief, chief_id = await sign_in(UserRole.SUPER_ADMIN)
    response = await chief.patch(f"/api/v1/admin/users/{chief_id}/role", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


async def test_role_change_of_unknown_user_is_404(sign_in: SignIn) -> None:
    chief, _ = await sign_in(UserRole.SUPER_ADMIN)
    response = await chief.patch("/api/v1/admin/users/c-nobody/role", json={"role": "ADMIN"})
    assert response.status_code == 404


async def test_the_last_super_admin_stays(session: AsyncSession) -> None:
    """In a rolled-back transaction where one SUPER_ADMIN exists, nobody demotes them."""
    await session.execute(text("""update users set role = 'ADMIN' where role = 'SUPER_ADMIN'"""))
    chief = await make_user(session, role=UserRole.SUPER_ADMIN)
    with pytest.raises(Conflict) as demoted:
        await admin.change_role(session, chief, chief.id, UserRole.ADMIN, None)
    assert demoted.value.code == "last_super_admin"
    second = await make_user(session, role=UserRole.SUPER_ADMIN)
    await admin.change_role(session, chief, chief.id, UserRole.ADMIN, None)  # two: one may step down
    assert chief.role == UserRole.ADMIN and second.role == UserRole.SUPER_ADMIN


async def test_services_recheck_the_actor_role(session: AsyncSession) -> None:
    """A router-approved actor whose role changed since is refused by the service itself."""
    actor = await make_user(session, role=UserRole.ADMIN)
    target = await make_user(session)
    stale = User(id=actor.id, email=actor.email, role=UserRole.SUPER_ADMIN)  # what the router saw
    with pytest.raises(Forbidden):
        await admin.change_role(session, stale, target.id, UserRole.ADMIN, None)
    await session.execute(update(User).where(User.id == actor.id).values(role=UserRole.USER))
    for attempt in (
        admin.list_users(session, actor),
        admin.get_user(session, actor, target.id),
        admin.delete_user(session, actor, target.id, None),
    ):
        with pytest.raises(Forbidden):
            await attempt


async def test_racing_self_demotions_keep_one_super_admin(app: FastAPI, sign_in: SignIn) -> None:
    first, first_id = await sign_in(UserRole.SUPER_ADMIN)
    second, second_id = await sign_in(UserRole.SUPER_ADMIN)
    async with sole_super_admins(app, first_id, second_id):
        responses = await asyncio.gather(
            first.patch(f"/api/v1/admin/users/{first_id}/role", json={"role": "ADMIN"}),
            second.patch(f"/api/v1/admin/users/{second_id}/role", json={"role": "ADMIN"}),
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        roles = {await role_of(app, first_id), await role_of(app, second_id)}
        assert roles == {UserRole.SUPER_ADMIN, UserRole.ADMIN}


async def _queued_behind(first: Awaitable[Any], second: Awaitable[Any], commit: AsyncSession) -> Any:
    """Run ``first`` (whose transaction is ``commit``), then start ``second`` and show it waits
    for that transaction's locks; commit, and return ``second``'s outcome (or raise its error).

    Firing requests at once is not enough to prove the locks: the window is a few milliseconds.
    """
    await first
    racing = asyncio.ensure_future(second)
    await asyncio.sleep(0.3)
    assert not racing.done(), "the second change did not wait for the first one's locks"
    await commit.commit()
    return await racing


async def test_demotion_queues_behind_another_and_sees_the_new_count(app: FastAPI, sign_in: SignIn) -> None:
    _, first_id = await sign_in(UserRole.SUPER_ADMIN)
    _, second_id = await sign_in(UserRole.SUPER_ADMIN)
    async with sole_super_admins(app, first_id, second_id):
        async with app.state.sessionmaker() as one, app.state.sessionmaker() as two:
            first, second = await one.get_one(User, first_id), await two.get_one(User, second_id)
            with pytest.raises(Conflict) as refused:
                await _queued_behind(
                    admin.change_role(one, first, first_id, UserRole.ADMIN, None),
                    admin.change_role(two, second, second_id, UserRole.ADMIN, None),
                    one,
                )
            assert refused.value.code == "last_super_admin"
        assert await role_of(app, second_id) == UserRole.SUPER_ADMIN


async def test_cross_deletion_of_super_admins_leaves_one(app: FastAPI, sign_in: SignIn) -> None:
    _, first_id = await sign_in(UserRole.SUPER_ADMIN)
    _, second_id = await sign_in(UserRole.SUPER_ADMIN)
    async with sole_super_admins(app, first_id, second_id):
        async with app.state.sessionmaker() as one, app.state.sessionmaker() as two:
            first, second = await one.get_one(User, first_id), await two.get_one(User, second_id)
            with pytest.raises(Forbidden) as refused:
                await _queued_behind(
                    admin.delete_user(one, first, second_id, None),
                    admin.delete_user(two, second, first_id, None),
                    one,
                )
            assert refused.value.code == "super_admin_required"  # the second actor is gone
        assert await role_of(app, first_id) == UserRole.SUPER_ADMIN
        assert await role_of(app, second_id) is None


# ----------------------------------------------------------------------------- deletion


async def test_admin_deletes_a_user_with_cascades_and_audit(app: FastAPI, sign_in: SignIn) -> None:
    boss, boss_id = await sign_in(UserRole.ADMIN)
    victim, victim_id = await sign_in(UserRole.USER, email=new_email("gone"))
    assert (await victim.post("/api/v1/api-keys", json={"name": "k"})).status_code == 201
    email = (await victim.get("/api/v1/me")).json()["email"]

    assert (await boss.delete(f"/api/v1/admin/users/{victim_id}")).status_code == 204
    assert await role_of(app, victim_id) is None
    assert (await victim.get("/api/v1/me")).status_code == 401  # its session went with it
    async with transaction(app.state.sessionmaker) as session:
        for table in ("sessions", "api_keys"):
            left = await session.scalar(
                text(f'select count(*) from {table} where "userId" = :u'), {"u": victim_id}
            )
            assert left == 0
    [row] = await audit_rows(app, target_id=victim_id, action=AuditAction.USER_DELETE)
    assert row.user_id == boss_id and row.ip_address == "127.0.0.1"
    assert row.metadata_ == {"email": email, "name": None, "role": "USER"}
    assert (await boss.delete(f"/api/v1/admin/users/{victim_id}")).status_code == 404


async def test_deletion_rules_for_admins(app: FastAPI, sign_in: SignIn) -> None:
    boss, boss_id = await sign_in(UserRole.ADMIN)
    chief, _ = await sign_in(UserRole.SUPER_ADMIN)
    _, other_admin_id = await sign_in(UserRole.ADMIN)

    self_delete = await boss.delete(f"/api/v1/admin/users/{boss_id}")
    assert self_delete.status_code == 403 and self_delete.json()["error"]["code"] == "cannot_delete_self"
    peer = await boss.delete(f"/api/v1/admin/users/{other_admin_id}")
    assert peer.status_code == 403 and peer.json()["error"]["code"] == "super_admin_required"
    assert await role_of(app, other_admin_id) == UserRole.ADMIN
    assert (await chief.delete(f"/api/v1/admin/users/{other_admin_id}")).status_code == 204
    # the deleted admin's own audit rows (their ADMIN_LOGIN) went with them: the FK cascades
    assert await audit_rows(app, user_id=other_admin_id) == []


async def test_deleting_a_user_removes_their_stored_files(app: FastAPI, sign_in: SignIn) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    victim, victim_id = await sign_in(UserRole.USER)
    bystander, bystander_id = await sign_in(UserRole.USER)
    first = await upload(victim)
    await upload(victim, picture(fmt="PNG"), "second.png")
    await finished_results(app, victim_id, first)  # an enhancement result and a generation output
    await upload(bystander)
    files = stored_files(app, victim_id)
    assert len(files) == 4
    await app.state.storage.delete(files[0])  # a file already gone is no failure

    assert (await boss.delete(f"/api/v1/admin/users/{victim_id}")).status_code == 204
    # The files go after the response (so after the commit); the client returns after both.
    assert stored_files(app, victim_id) == []
    assert len(stored_files(app, bystander_id)) == 1


async def test_a_refused_deletion_removes_no_file(app: FastAPI, sign_in: SignIn) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    owner, owner_id = await sign_in(UserRole.USER)
    await finished_results(app, owner_id, await upload(owner))
    async with transaction(app.state.sessionmaker) as session:
        await insert_row(session, metadata.tables["merch_orders"], userId=owner_id)
    files = stored_files(app, owner_id)
    assert len(files) == 3

    # The keys are read before the DELETE, which then fails under ON DELETE RESTRICT.
    refused = await boss.delete(f"/api/v1/admin/users/{owner_id}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "user_has_dependent_records"
    assert stored_files(app, owner_id) == files
    assert (await owner.get("/api/v1/images")).json()["items"][0]["latestEnhancement"] is not None


@pytest.mark.parametrize(
    ("table", "column", "constraint"),
    [
        ("merch_orders", "userId", "merch_orders_userId_fkey"),
        ("featured_gallery_items", "createdBy", "featured_gallery_items_createdBy_fkey"),
    ],
)
async def test_rows_under_restrict_make_deletion_409(
    app: FastAPI, sign_in: SignIn, table: str, column: str, constraint: str
) -> None:
    boss, _ = await sign_in(UserRole.ADMIN)
    _, owner_id = await sign_in(UserRole.USER)
    async with transaction(app.state.sessionmaker) as session:
        await insert_row(session, metadata.tables[table], **{column: owner_id})
    refused = await boss.delete(f"/api/v1/admin/users/{owner_id}")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "user_has_dependent_records" and error["message"]
    assert error["details"] == {"table": table, "constraint": constraint}
    assert await role_of(app, owner_id) == UserRole.USER
    assert await audit_rows(app, target_id=owner_id, action=AuditAction.USER_DELETE) == []
