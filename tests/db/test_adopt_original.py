"""Adopting a database as the original platform made and filled it (``tests/db/original.py``):
accepted, upgraded, equal to the contract, and every original user keeps their way in and their
things. A refusal (emails differing only by case, an unknown difference) changes nothing at all.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from spikeland.app import create_app
from spikeland.db import migrate
from spikeland.db.adopt import AdoptResult, adopt
from spikeland.db.engine import make_engine, make_sessionmaker, transaction
from spikeland.seed import seed
from spikeland.settings import Settings
from spikeland.tokens.models import TokensPackage
from spikeland.tokens.verify import verify
from tests.conftest import create_database, drop_database
from tests.db import original
from tests.db.catalog import live_facts
from tests.db.copies import copy_of, unique_name
from tests.db.extensions import EXPECTED
from tests.identity.oidc_peer import OidcPeer, run_oidc_peer

HEAD = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused")).get_current_head()
PUBLIC = "http://test"


async def _run(url: str, sql: str) -> list[Any]:
    """The rows of one query, or nothing for a script of several statements."""
    conn = await asyncpg.connect(url)
    try:
        if sql.rstrip().rstrip(";").count(";"):
            await conn.execute(sql)
            return []
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def run(url: str, sql: str) -> list[Any]:
    return asyncio.run(_run(url, sql))


@pytest.fixture(scope="module")
def original_template(server_url: str) -> Iterator[str]:
    name = unique_name("spikeland_original_tpl")
    url = asyncio.run(create_database(server_url, name))
    try:
        migrate.upgrade(url, migrate.BASELINE_REVISION)
        run(url, original.PRISMA_DDL + original.data_sql())
        yield name
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture
def original_db(server_url: str, original_template: str) -> Iterator[str]:
    with copy_of(server_url, original_template, "spikeland_original") as url:
        yield url


@pytest.fixture(scope="module")
def adopted(server_url: str, original_template: str) -> Iterator[tuple[str, AdoptResult]]:
    """One copy adopted and upgraded, for the tests that only read it or add their own users' doings."""
    with copy_of(server_url, original_template, "spikeland_adopted") as url:
        result = adopt(url)
        assert result.ok, result
        migrate.upgrade(url)
        yield url, result


# ----------------------------------------------------------------------------- the schema and the data


def test_adoption_accepts_it_and_says_what_it_did(adopted: tuple[str, AdoptResult]) -> None:
    _, result = adopted
    assert result.status == "adopted" and result.differences == []
    notes = "\n".join(result.notes)
    for table, column in original.DUPLICATE_INDEX_COLUMNS:
        assert f"index {table}_{column}_idx is covered by the unique index" in notes
    assert "1 NULL value set to {} and the column made NOT NULL" in notes
    assert "4 email addresses stored in lower case" in notes
    # Carol, Dave, Erin, Grace: created at 10 without a row; Frank too; Bob's started at 0.
    assert "5 opening ledger rows of 10 tokens written" in notes
    assert "6 users given the default album 'Unlisted Gallery' (UNLISTED)" in notes


def test_upgraded_database_is_the_contract(adopted: tuple[str, AdoptResult]) -> None:
    url, _ = adopted
    assert [r[0] for r in run(url, "SELECT version_num FROM alembic_version")] == [HEAD]
    migrate.check(url)  # `db check`
    live = {f for f in asyncio.run(live_facts(url)) if "_prisma_migrations" not in f}  # left in place
    assert {"missing": EXPECTED - live, "undocumented": live - EXPECTED} == {
        "missing": set(),
        "undocumented": set(),
    }


def test_data_is_brought_to_our_rules(adopted: tuple[str, AdoptResult]) -> None:
    url, _ = adopted
    emails = {r[0] for r in run(url, "SELECT email FROM users")}
    assert "carol.smith@example.com" in emails and all(e == e.lower() for e in emails)
    assert {
        r[0][:4] for r in run(url, 'SELECT "passwordHash" FROM users WHERE "passwordHash" IS NOT NULL')
    } == {"$2a$"}
    assert [tuple(r) for r in run(url, "SELECT id, features FROM monetization_models ORDER BY id")] == [
        ("mon_1", []),
        ("mon_2", ["ads"]),
    ]
    albums = run(
        url, 'SELECT "userId", privacy::text, "shareToken" FROM albums WHERE name = \'Unlisted Gallery\''
    )
    assert {r[0] for r in albums} == {u.id for u in original.USERS} and all(r[2] for r in albums)
    openings = run(
        url,
        'SELECT t."userId", t."createdAt" < coalesce((SELECT min(o."createdAt") FROM token_transactions o '
        'WHERE o."userId" = t."userId" AND o.id <> t.id), \'infinity\') AS first '
        "FROM token_transactions t WHERE source = 'initial_balance'",
    )
    assert len(openings) == 5 and all(r["first"] for r in openings)


def test_tokens_verify_is_clean_and_seed_keeps_the_catalogue(adopted: tuple[str, AdoptResult]) -> None:
    url, _ = adopted

    async def check() -> tuple[list[Any], dict[str, int], list[str]]:
        engine = make_engine(url, Settings(database_url=url, environment="test"))
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                mismatches = await verify(session)
                created = await seed(session)
                names = list(await session.scalars(select(TokensPackage.name)))
            return mismatches, created, names
        finally:
            await engine.dispose()

    mismatches, created, names = asyncio.run(check())
    assert mismatches == []
    assert created["tokens_packages"] == 0 and created["subscription_plans"] == 3  # theirs: none
    assert sorted(names) == sorted(name for name, *_ in original.PACKS)


# ----------------------------------------------------------------------------- the users


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcPeer]:
    with run_oidc_peer() as peer:
        yield peer


@pytest.fixture
async def web_app(
    settings: Settings, adopted: tuple[str, AdoptResult], oidc: OidcPeer
) -> AsyncIterator[FastAPI]:
    url, _ = adopted
    configured = settings.model_copy(
        update={
            "database_url": url,
            "public_url": PUBLIC,
            "google_client_id": "spikeland-test",
            "google_client_secret": SecretStr("google-secret"),
            "google_metadata_url": oidc.metadata_url,
        }
    )
    app = create_app(configured, database_url=url)
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC)


@asynccontextmanager
async def login(app: FastAPI, email: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as client:
        response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, (email, response.text)
        yield client


@pytest.mark.parametrize(
    ("user", "typed"),
    [
        (original.CAROL, "carol.smith@example.com"),
        (original.CAROL, "CAROL.SMITH@EXAMPLE.COM"),
        (original.DAVE, "Dave@Example.org"),
        (original.ERIN, "erin@example.net"),
        (original.GRACE, "grace.hopper@navy.mil"),
        (original.BOB, "Bob@Example.com"),
    ],
)
async def test_every_original_user_signs_in_with_their_password(
    web_app: FastAPI, user: original.OriginalUser, typed: str
) -> None:
    assert user.password is not None
    async with login(web_app, typed, user.password) as client:
        assert (await client.get("/api/v1/me")).json()["id"] == user.id
        assert (await client.get("/api/v1/tokens/balance")).json()["balance"] == user.balance


async def test_long_passwords_are_compared_by_their_first_72_bytes(web_app: FastAPI) -> None:
    assert original.DAVE.password is not None and original.ERIN.password is not None
    async with login(web_app, original.DAVE.email or "", original.DAVE.password[:72] + "anything"):
        pass  # as bcryptjs compared it
    async with browser(web_app) as client:
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": original.DAVE.email, "password": original.DAVE.password[:71]}
        )
        assert wrong.status_code == 401


async def test_carol_finds_her_images_albums_shares_and_key(web_app: FastAPI) -> None:
    assert original.CAROL.password is not None
    async with login(web_app, "Carol.Smith@Example.com", original.CAROL.password) as client:
        images = (await client.get("/api/v1/images")).json()["items"]
        assert {i["id"] for i in images} == {"img_1", "img_2"}
        albums = (await client.get("/api/v1/albums", params={"limit": 50})).json()["items"]
        assert sorted((a["name"], a["privacy"]) for a in albums) == [
            ("Private Gallery", "PRIVATE"),
            ("Public Gallery", "PUBLIC"),
            ("Trip", "UNLISTED"),
            ("Unlisted Gallery", "UNLISTED"),
        ]
    async with browser(web_app) as anonymous:
        shared = (await anonymous.get(f"/api/v1/share/{original.IMAGE_SHARE}")).json()
        assert shared["image"]["id"] == "img_1"
        album = (await anonymous.get(f"/api/v1/share/{original.ALBUM_SHARE}")).json()
        assert album["album"]["name"] == "Trip" and [i["image"]["id"] for i in album["images"]] == [
            "img_1",
            "img_2",
        ]
        keyed = await anonymous.get(
            "/api/v1/tokens/balance", headers={"Authorization": f"Bearer {original.CAROL_KEY}"}
        )
        assert keyed.json()["balance"] == 58


@asynccontextmanager
async def google_sign_in(app: FastAPI, oidc: OidcPeer, email: str) -> AsyncIterator[httpx.AsyncClient]:
    sub = f"g-{secrets.token_hex(4)}"
    await oidc.set_user(sub, {"email": email, "email_verified": True})
    async with browser(app) as client:
        started = await client.get("/api/v1/auth/oauth/google/start", params={"next": "/"})
        assert started.status_code == 302, started.text
        finished = await client.get(await oidc.authorize(started.headers["location"], sub))
        assert finished.status_code == 303, finished.text
        yield client


async def test_google_sign_in_of_a_mixed_case_user_lands_in_their_account(
    web_app: FastAPI, oidc: OidcPeer
) -> None:
    async with google_sign_in(web_app, oidc, "frank@gmail.com") as client:
        assert (await client.get("/api/v1/me")).json()["id"] == original.FRANK.id
    # Grace's GitHub account, linked by the original, proves her address: her password stays.
    async with google_sign_in(web_app, oidc, "GRACE.HOPPER@navy.mil") as client:
        assert (await client.get("/api/v1/me")).json()["id"] == original.GRACE.id
    assert original.GRACE.password is not None
    async with login(web_app, "grace.hopper@navy.mil", original.GRACE.password):
        pass


# ----------------------------------------------------------------------------- refusals change nothing

_SNAPSHOT = [
    "SELECT c.relname, c.relkind::text, c.relpersistence::text FROM pg_class c "
    "WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "SELECT enumtypid::regtype::text, enumlabel, enumsortorder FROM pg_enum ORDER BY 1, 3",
]


async def _snapshot(url: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        snap: list[Any] = [[tuple(r) for r in await conn.fetch(sql)] for sql in _SNAPSHOT]
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        for (table,) in tables:
            rows = f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            count = await conn.fetchval(f'SELECT count(*) FROM "{table}"')
            snap.append((table, count, await conn.fetchval(rows)))
        return snap
    finally:
        await conn.close()


def test_emails_differing_only_by_case_are_refused_and_nothing_changes(original_db: str) -> None:
    run(
        original_db,
        "INSERT INTO users (id, email, \"updatedAt\") VALUES ('user_twin', 'carol.smith@example.COM', now())",
    )
    before = asyncio.run(_snapshot(original_db))

    result = adopt(original_db)

    assert not result.ok and result.status == "conflicts"
    assert result.differences == [
        "users: 2 accounts share the address carol.smith@example.com but for case or spaces: "
        f"'Carol.Smith@Example.com' (id {original.CAROL.id}), 'carol.smith@example.COM' (id user_twin); "
        "merge or change them, then adopt again"
    ]
    assert "nothing was changed" in result.message
    assert asyncio.run(_snapshot(original_db)) == before


def test_an_unknown_difference_is_refused_and_nothing_changes(original_db: str) -> None:
    run(original_db, "CREATE INDEX users_name_idx ON users (name)")
    before = asyncio.run(_snapshot(original_db))

    result = adopt(original_db)

    assert result.status == "differs"
    assert result.differences == [
        "users: unexpected index users_name_idx: "
        "CREATE INDEX users_name_idx ON public.users USING btree (name)"
    ]
    assert asyncio.run(_snapshot(original_db)) == before  # features still allow NULL, emails as given


def test_a_duplicate_index_of_another_shape_is_a_difference(original_db: str) -> None:
    run(
        original_db,
        'DROP INDEX "vouchers_code_idx"; CREATE INDEX "vouchers_code_idx" ON vouchers USING hash (code)',
    )

    result = adopt(original_db, dry_run=True)

    assert result.differences == [
        "vouchers: index vouchers_code_idx (Prisma's duplicate of a unique index) exists but "
        "uses hash, expected btree"
    ]


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "check"], ["serve"]])
def test_commands_on_an_unadopted_database_say_to_adopt_it(original_db: str, command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spikeland", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "SPIKELAND_DATABASE_URL": original_db},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "spikeland db adopt" in lines[0], result.stderr
