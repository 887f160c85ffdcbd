"""Self-service data rights: the export covers every table that holds a user's rows and carries no
secret; deleting the account needs the password, cascades, and is all-or-nothing."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Column, ForeignKey, MetaData, Table, Text, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from spikeland.core.errors import Conflict
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.security import digest, hash_password
from spikeland.db.registry import metadata
from spikeland.identity import data_rights
from spikeland.identity.data_rights import (
    DISCLOSED_COLUMNS,
    REFERRED_BY,
    SECRET_COLUMNS,
    SECRET_TABLES,
    ExportPlan,
    build_plan,
    looks_secret,
)
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.identity.models import User, UserRole
from spikeland.settings import Settings
from tests.support import make_user, sign_up
from tests.support.images import finished_results, picture, stored_files, upload

PASSWORD = "correct horse battery"
Edge = tuple[str, str, str, str]  # child table, child column, parent table, ON DELETE


def new_email() -> str:
    return f"rights-{secrets.token_hex(4)}@example.com"


# ----------------------------------------------------------------------------- coverage, computed


def edges_of(meta: MetaData) -> set[Edge]:
    return {
        (t.name, fk.parent.name, fk.column.table.name, (fk.ondelete or "NO ACTION").upper())
        for t in meta.tables.values()
        for fk in t.foreign_keys
    }


async def live_edges(conn: AsyncConnection) -> set[Edge]:
    """Foreign keys of the migrated database itself, so a table made only by a migration counts too."""
    rows = await conn.execute(
        text(
            """
            select c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,
                   case c.confdeltype when 'c' then 'CASCADE' when 'n' then 'SET NULL'
                        when 'r' then 'RESTRICT' when 'd' then 'SET DEFAULT' else 'NO ACTION' end
            from pg_constraint c
            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
            where c.contype = 'f' and c.connamespace = 'public'::regnamespace
            """
        )
    )
    return {(str(a).strip('"'), b, str(c).strip('"'), d) for a, b, c, d in rows.all()}


def uncovered(edges: set[Edge], plan: ExportPlan) -> list[str]:
    """What a user-data export would miss: problems, one per line (empty when all is covered).

    A table is the user's when a chain of foreign keys (of any ON DELETE) leads from it to
    ``users``; each must be exported (or be a secret table), and every direct key to ``users``
    and every cascading key into an exported table must be a route of the plan.
    """
    problems = []
    reached, frontier = {"users"}, ["users"]
    while frontier:
        parent = frontier.pop()
        for child, column, target, _ondelete in edges:
            if target == parent and (child, column) != REFERRED_BY and child not in reached:
                reached.add(child)
                frontier.append(child)
    for table in sorted(reached - plan.tables - SECRET_TABLES):
        problems.append(f"table {table} leads to users but is not exported")
    routes = {(link.table, link.column) for links in plan.links.values() for link in links}
    for child, column, target, ondelete in sorted(edges):
        if child in SECRET_TABLES or (child, column) == REFERRED_BY:
            continue
        direct = target == "users"
        cascading = target in plan.tables and ondelete == "CASCADE"
        if (direct or cascading) and (child, column) not in routes:
            problems.append(f"{child}.{column} -> {target} is not a route of the export")
    return problems


async def test_export_plan_covers_every_user_chain_of_the_live_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        live = await live_edges(conn)
    assert live == edges_of(metadata), "the migrations and the models disagree on foreign keys"
    assert uncovered(live, build_plan(metadata)) == []


def _extended_metadata() -> MetaData:
    meta = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(meta)
    Table(
        "diaries",
        meta,
        Column("id", Text, primary_key=True),
        Column("ownerId", Text, ForeignKey("users.id", ondelete="CASCADE")),
    )
    Table(
        "diary_pages",
        meta,
        Column("id", Text, primary_key=True),
        Column("diaryId", Text, ForeignKey("diaries.id", ondelete="CASCADE")),
    )
    return meta


def test_a_new_table_with_a_user_key_is_exported_without_being_listed() -> None:
    meta = _extended_metadata()
    plan = build_plan(meta)
    assert {"diaries", "diary_pages"} <= plan.tables
    assert uncovered(edges_of(meta), plan) == []


def test_the_coverage_check_fails_for_a_table_the_plan_does_not_follow() -> None:
    meta = _extended_metadata()
    # Someone else's row pointing at one of ours (SET NULL) is not followed: the check must say so,
    # so whoever adds such a table decides what the export does with it.
    Table(
        "diary_comments",
        meta,
        Column("id", Text, primary_key=True),
        Column("diaryId", Text, ForeignKey("diaries.id", ondelete="SET NULL")),
    )
    assert uncovered(edges_of(meta), build_plan(meta)) == [
        "table diary_comments leads to users but is not exported"
    ]


def test_every_secret_looking_column_of_an_exported_table_is_classified() -> None:
    plan = build_plan(metadata)
    unclassified = [
        f"{name}.{column.name}"
        for name in sorted(plan.tables)
        for column in metadata.tables[name].columns
        if looks_secret(column.name)
        and column.name not in SECRET_COLUMNS.get(name, frozenset())
        and column.name not in DISCLOSED_COLUMNS.get(name, frozenset())
    ]
    assert unclassified == [], "add each to SECRET_COLUMNS or DISCLOSED_COLUMNS in data_rights.py"
    for classified in (SECRET_COLUMNS, DISCLOSED_COLUMNS):
        for table, columns in classified.items():  # a rename must not quietly un-hide a column
            assert columns <= set(metadata.tables[table].columns.keys()), table
    assert all(table in metadata.tables for table in SECRET_TABLES)


def test_to_json_is_json_safe() -> None:
    from datetime import UTC, datetime

    from spikeland.identity.models import UserRole

    value = {"at": datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), "n": Decimal("1.50")}
    assert data_rights.to_json([value, UserRole.ADMIN]) == [
        {"at": "2024-01-02T03:04:05.006000Z", "n": "1.50"},
        "ADMIN",
    ]


# ----------------------------------------------------------------------------- fixtures of data


async def add(conn: AsyncConnection, table: str, **values: Any) -> str:
    """Insert one row (ids and updatedAt come from the column defaults) and return its id."""
    target = metadata.tables[table]
    row = await conn.execute(insert(target).values(values).returning(target.c.id))
    return str(row.scalar_one())


async def signed_in(client: httpx.AsyncClient, email: str, **extra: Any) -> dict[str, Any]:
    return await sign_up(client, email, PASSWORD, **extra)


async def populate(engine: AsyncEngine, user_id: str, raw_key: str) -> dict[str, str]:
    """Rows in several tables, two hops deep, plus the secret values that must not leak."""
    secrets_ = {"access": f"oauth-access-{secrets.token_hex(8)}", "ads": f"ads-{secrets.token_hex(8)}"}
    async with engine.begin() as conn:
        await add(
            conn, "api_keys", userId=user_id, name="cli", keyHash=digest(raw_key), keyPrefix="sk_live_abc"
        )
        await add(
            conn, "accounts", userId=user_id, type="oauth", provider="github",
            providerAccountId=secrets.token_hex(4), access_token=secrets_["access"],
            refresh_token=secrets_["access"] + "-r", id_token=secrets_["access"] + "-i",
        )  # fmt: skip
        await add(
            conn, "marketing_accounts", userId=user_id, platform="FACEBOOK", accountId="act_1",
            accessToken=secrets_["ads"], refreshToken=secrets_["ads"] + "-r",
        )  # fmt: skip
        image = await add(
            conn, "enhanced_images", userId=user_id, name="cat.png", originalUrl="/o/cat.png",
            originalR2Key="u/cat.png", originalWidth=10, originalHeight=10, originalSizeBytes=99,
            originalFormat="png",
        )  # fmt: skip
        album = await add(conn, "albums", userId=user_id, name="Cats")
        secrets_["album_image"] = await add(conn, "album_images", albumId=album, imageId=image)
        project = await add(conn, "audio_mixer_projects", userId=user_id, name="Mix")
        secrets_["track"] = await add(
            conn, "audio_tracks", projectId=project, name="drums", fileFormat="wav",
            duration=1.5, fileSizeBytes=10,
        )  # fmt: skip
        visit = await add(conn, "visitor_sessions", userId=user_id, visitorId="v1", landingPage="/")
        secrets_["page_view"] = await add(conn, "page_views", sessionId=visit, path="/pricing")
        secrets_["error"] = await add(
            conn, "error_logs", userId=user_id, message="boom", environment="BACKEND"
        )
    return secrets_


async def test_export_holds_the_users_rows_and_none_of_their_secrets(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    referrer = await signed_in(client, new_email())
    raw_key = "sk_live_" + secrets.token_urlsafe(32)
    planted = await populate(engine, referrer["id"], raw_key)

    # Someone else: referred by our user, with an album that uses our user's public pipeline.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    referred = await signed_in(other, new_email(), referralCode=referrer["referralCode"])
    async with engine.begin() as conn:
        pipeline = await add(conn, "enhancement_pipelines", userId=referrer["id"], name="Sharp")
        others_album = await add(conn, "albums", userId=referred["id"], name="Theirs", pipelineId=pipeline)
        users = metadata.tables["users"]
        password_hash = (
            await conn.execute(select(users.c.passwordHash).where(users.c.id == referrer["id"]))
        ).scalar_one()

    try:
        await check_export(client, other, referrer, referred, planted, others_album, password_hash, raw_key)
    finally:
        await other.aclose()
        # The seed tests count every pipeline of the shared test database: leave none behind.
        async with engine.begin() as conn:
            pipelines = metadata.tables["enhancement_pipelines"]
            await conn.execute(pipelines.delete().where(pipelines.c.id == pipeline))


async def check_export(
    client: httpx.AsyncClient,
    other: httpx.AsyncClient,
    referrer: dict[str, Any],
    referred: dict[str, Any],
    planted: dict[str, str],
    others_album: str,
    password_hash: str,
    raw_key: str,
) -> None:
    session_token = client.cookies[SESSION_COOKIE]
    response = await client.get("/api/v1/me/export")
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    export = response.json()
    tables = export["tables"]
    assert export["userId"] == referrer["id"] and set(tables) == build_plan(metadata).tables
    assert [row["id"] for row in tables["users"]] == [referrer["id"]]
    assert export["referredUsers"] == [{"id": referred["id"]}]
    assert len(tables["api_keys"]) == len(tables["accounts"]) == len(tables["marketing_accounts"]) == 1
    assert tables["api_keys"][0]["keyPrefix"] == "sk_live_abc"
    assert [r["id"] for r in tables["album_images"]] == [planted["album_image"]]
    assert [r["id"] for r in tables["audio_tracks"]] == [planted["track"]]
    assert [r["id"] for r in tables["page_views"]] == [planted["page_view"]]
    assert [r["id"] for r in tables["error_logs"]] == [planted["error"]]
    # Not the other user's album (the user's own: the planted one and the three default albums).
    assert {r["userId"] for r in tables["albums"]} == {referrer["id"]} and len(tables["albums"]) == 4
    assert others_album not in response.text
    assert tables["sessions"] and set(tables["sessions"][0]) == {"id", "userId", "expires"}
    assert tables["sessions"][0]["expires"].endswith("Z")

    body = response.text
    for secret in (
        session_token, digest(session_token), raw_key, digest(raw_key), PASSWORD, password_hash,
        planted["access"], planted["ads"], "passwordHash", "sessionToken", "keyHash", "accessToken",
    ):  # fmt: skip
        assert secret not in body

    by_key = await other.get("/api/v1/me/export", headers={"Authorization": f"Bearer {raw_key}"})
    assert by_key.status_code == 200 and by_key.json()["userId"] == referrer["id"]


# ----------------------------------------------------------------------------- deletion


async def user_count(engine: AsyncEngine, user_id: str) -> int:
    async with engine.connect() as conn:
        users = metadata.tables["users"]
        return int((await conn.execute(select(func.count()).where(users.c.id == user_id))).scalar_one())


async def rows_of(engine: AsyncEngine, table: str, column: str, value: str) -> int:
    async with engine.connect() as conn:
        t = metadata.tables[table]
        return int((await conn.execute(select(func.count()).where(t.c[column] == value))).scalar_one())


async def delete_me(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.request("DELETE", "/api/v1/me", json=body)


async def test_delete_needs_the_password_then_takes_everything(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user = await signed_in(client, new_email())
    planted = await populate(engine, user["id"], "sk_live_" + secrets.token_urlsafe(32))
    referred = await signed_in(
        httpx.AsyncClient(transport=client._transport, base_url="http://test"),
        new_email(),
        referralCode=user["referralCode"],
    )

    for body in ({"password": "not the password"}, {}):
        wrong = await delete_me(client, **body)
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invalid_password"
    assert await user_count(engine, user["id"]) == 1

    done = await delete_me(client, password=PASSWORD)
    assert done.status_code == 204, done.text
    cookie = done.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and ("Max-Age=0" in cookie or "expires=" in cookie.lower())
    assert await user_count(engine, user["id"]) == 0
    for table, column in (("sessions", "userId"), ("api_keys", "userId"), ("albums", "userId")):
        assert await rows_of(engine, table, column, user["id"]) == 0
    assert await rows_of(engine, "audio_tracks", "id", planted["track"]) == 0
    # Visits are kept, anonymised: visitor_sessions.userId is ON DELETE SET NULL in the schema.
    assert await rows_of(engine, "page_views", "id", planted["page_view"]) == 1
    assert await rows_of(engine, "visitor_sessions", "userId", user["id"]) == 0
    assert await rows_of(engine, "users", "id", referred["id"]) == 1
    assert await rows_of(engine, "users", "referredById", user["id"]) == 0
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_deleting_the_account_removes_its_stored_files(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await signed_in(client, new_email())
    first = await upload(client)
    await upload(client, picture(fmt="WEBP"), "second.webp")
    await finished_results(app, user["id"], first)  # an enhancement result and a generation output
    files = stored_files(app, user["id"])
    assert len(files) == 4
    await app.state.storage.delete(files[-1])  # a file already gone is no failure

    done = await delete_me(client, password=PASSWORD)
    assert done.status_code == 204, done.text
    # The files go after the response (so after the commit); the client returns after both.
    assert stored_files(app, user["id"]) == []


async def test_a_refused_account_deletion_removes_no_file(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user = await signed_in(client, new_email())
    await finished_results(app, user["id"], await upload(client))
    files = stored_files(app, user["id"])
    assert len(files) == 3
    # For a while, this user is the database's only super admin.
    async with engine.begin() as conn:
        others = (
            (
                await conn.execute(
                    update(User)
                    .where(User.role == UserRole.SUPER_ADMIN)
                    .values(role=UserRole.ADMIN)
                    .returning(User.id)
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(update(User).where(User.id == user["id"]).values(role=UserRole.SUPER_ADMIN))
    try:
        refused = await delete_me(client, password=PASSWORD)
    finally:
        async with engine.begin() as conn:
            await conn.execute(update(User).where(User.id.in_(others)).values(role=UserRole.SUPER_ADMIN))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_super_admin"
    assert await user_count(engine, user["id"]) == 1
    assert stored_files(app, user["id"]) == files


async def test_wrong_passwords_are_rate_limited(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    user = await signed_in(client, new_email())
    codes = [(await delete_me(client, password="wrong one")).status_code for _ in range(6)]
    assert codes == [403] * 5 + [429]
    limited = await delete_me(client, password=PASSWORD)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert await user_count(engine, user["id"]) == 1


async def test_account_without_password_must_set_one_first(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    from spikeland.identity.service import create_session

    async with engine.begin() as conn:
        user_id = await add(conn, "users", email=new_email(), referralCode=secrets.token_hex(4).upper())
    async with AsyncSession(engine) as session, session.begin():
        token, _expires = await create_session(session, user_id, 30)
    client.cookies.set(SESSION_COOKIE, token)
    refused = await delete_me(client, password="anything at all")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "password_required"
    assert await user_count(engine, user_id) == 1


async def test_rows_the_schema_keeps_block_deletion_and_nothing_goes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user = await signed_in(client, new_email())
    async with engine.begin() as conn:
        await add(
            conn, "merch_orders", userId=user["id"], orderNumber=f"SL-{secrets.token_hex(4)}",
            subtotal=Decimal("10.00"), shippingCost=Decimal("2.50"), totalAmount=Decimal("12.50"),
            shippingAddress={"line1": "1 Road"}, customerEmail=user["email"],
        )  # fmt: skip
        await add(conn, "albums", userId=user["id"], name="Kept")
    blocked = await delete_me(client, password=PASSWORD)
    assert blocked.status_code == 409, blocked.text
    error = blocked.json()["error"]
    assert error["code"] == "account_deletion_blocked" and error["details"] == {
        "blockedBy": {"merch_orders": 1}
    }
    assert await user_count(engine, user["id"]) == 1
    assert await rows_of(engine, "albums", "userId", user["id"]) == 4  # three default albums + one
    assert (await client.get("/api/v1/me")).status_code == 200

    export = (await client.get("/api/v1/me/export")).json()["tables"]["merch_orders"]
    assert export[0]["totalAmount"] == "12.50" and export[0]["shippingAddress"] == {"line1": "1 Road"}


async def test_the_last_super_admin_cannot_close_their_account(
    session: AsyncSession, settings: Settings
) -> None:
    # Inside the rolled-back test transaction, make this user the database's only super admin.
    await session.execute(update(User).where(User.role == UserRole.SUPER_ADMIN).values(role=UserRole.ADMIN))
    boss = await make_user(
        session,
        role=UserRole.SUPER_ADMIN,
        password_hash=await hash_password("long enough pw", settings.bcrypt_cost),
    )
    with pytest.raises(Conflict) as caught:
        await data_rights.delete_account(session, settings, RateLimiter(), boss, "long enough pw")
    assert caught.value.code == "last_super_admin"
    assert await session.get(User, boss.id) is not None
