"""Adopting a database made by the original platform: accepted and stamped only when it is the baseline.

A "Prisma database" is simulated by building the baseline with migration 0001, dropping
``alembic_version``, and adding Prisma's ``_prisma_migrations`` table and some data. It is
built once as a template; each test works on its own copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from spikeland.db import migrate
from spikeland.db.adopt import AdoptResult, adopt, adopt_async
from tests.conftest import create_database, drop_database
from tests.db.copies import copy_of, unique_name

HEAD = "0015_agent_sync"

PRISMA_MIGRATIONS_DDL = """
CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at)
VALUES ('m1', repeat('a', 64), now(), '20250101000000_init', 1, now() - interval '2 days'),
       ('m2', repeat('b', 64), now(), '20251201000000_merch', 1, now() - interval '1 day');
"""

SAMPLE_DATA = """
INSERT INTO users (id, email, name, "updatedAt") VALUES
    ('cuser0000000000000000001', 'ada@example.com', 'Ada', now()),
    ('cuser0000000000000000002', 'bob@example.com', 'Bob', now());
UPDATE users SET "referredById" = 'cuser0000000000000000001' WHERE id = 'cuser0000000000000000002';
INSERT INTO accounts (id, "userId", type, provider, "providerAccountId")
VALUES ('cacct0000000000000000001', 'cuser0000000000000000001', 'oauth', 'github', '42');
"""


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def execute(url: str, sql: str) -> None:
    asyncio.run(_execute(url, sql))


def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(url, sql))


def versions(url: str) -> list[str] | None:
    """The rows of alembic_version, or None when there is no such table."""
    if not fetch(
        url, "SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'alembic_version'"
    ):
        return None
    return [row[0] for row in fetch(url, "SELECT version_num FROM alembic_version")]


def assert_matches_models(url: str) -> None:
    """``db check`` passes: env.py leaves ``_prisma_migrations`` alone."""
    migrate.check(url)


@pytest.fixture(scope="module")
def prisma_template(server_url: str) -> Iterator[str]:
    """The name of a database shaped like one the original platform made, with data."""
    name = unique_name("spikeland_adopt_tpl")
    url = asyncio.run(create_database(server_url, name))
    try:
        migrate.upgrade(url, migrate.BASELINE_REVISION)
        execute(url, "DROP TABLE alembic_version;" + PRISMA_MIGRATIONS_DDL + SAMPLE_DATA)
        yield name
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture
def prisma_db(server_url: str, prisma_template: str) -> Iterator[str]:
    """A fresh copy of the template, dropped after the test."""
    with copy_of(server_url, prisma_template, "spikeland_adopt") as url:
        yield url


# ----------------------------------------------------------------------------- accepted


def test_adopts_prisma_database_then_upgrade_applies_later_migrations(prisma_db: str) -> None:
    result = adopt(prisma_db)

    assert result.ok and result.status == "adopted", result
    assert result.differences == []
    assert "_prisma_migrations (2 Prisma migrations recorded) is left in place and ignored" in result.notes
    assert versions(prisma_db) == [migrate.BASELINE_REVISION]

    migrate.upgrade(prisma_db)
    assert versions(prisma_db) == [HEAD]
    assert_matches_models(prisma_db)
    indexes = {r[0] for r in fetch(prisma_db, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {"users_referredById_idx", "accounts_userId_idx"} <= indexes
    # data and Prisma's bookkeeping are untouched
    assert [r[0] for r in fetch(prisma_db, "SELECT email FROM users ORDER BY email")] == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert len(fetch(prisma_db, 'SELECT * FROM "_prisma_migrations"')) == 2


def test_dry_run_verifies_without_stamping(prisma_db: str) -> None:
    execute(
        prisma_db,
        "INSERT INTO \"_prisma_migrations\" (id, checksum, migration_name) VALUES ('m3', 'c', '2026_broken');"
        "CREATE VIEW user_emails AS SELECT email FROM users",
    )

    result = adopt(prisma_db, dry_run=True)

    assert result.ok and result.status == "verified", result
    assert "Prisma migration 2026_broken is recorded as started but never finished" in result.notes
    assert "view user_emails is not part of the baseline and was not compared" in result.notes
    assert versions(prisma_db) is None


def test_an_existing_fk_index_of_migration_0002_is_accepted(prisma_db: str) -> None:
    execute(prisma_db, 'CREATE INDEX "users_referredById_idx" ON users ("referredById")')

    result = adopt(prisma_db)

    assert result.ok, result
    assert (
        "index users_referredById_idx already exists; migration 0002_fk_indexes will keep it" in result.notes
    )
    migrate.upgrade(prisma_db)
    assert versions(prisma_db) == [HEAD]


def test_an_existing_trigram_index_of_migration_0008_is_accepted(prisma_db: str) -> None:
    execute(
        prisma_db,
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
        "CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops)",
    )

    result = adopt(prisma_db)

    assert result.ok, result
    assert (
        "index users_email_trgm_idx already exists; migration 0008_user_list_indexes will keep it"
        in result.notes
    )
    migrate.upgrade(prisma_db)
    assert versions(prisma_db) == [HEAD]
    assert_matches_models(prisma_db)


async def test_adopt_async_works_inside_an_event_loop(prisma_db: str) -> None:
    result = await adopt_async(prisma_db, dry_run=True)
    assert result.status == "verified"


# ----------------------------------------------------------------------------- refused

DIFFERENCES = [
    pytest.param(
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(200)",
        ["users.name: type is VARCHAR(200), expected TEXT"],
        id="column-type",
    ),
    pytest.param(
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        ["users.email: NOT NULL, expected NULL allowed"],
        id="nullability",
    ),
    pytest.param(
        "ALTER TABLE users ALTER COLUMN role SET DEFAULT 'ADMIN'",
        ["users.role: default is 'ADMIN'::\"UserRole\", expected 'USER'::\"UserRole\""],
        id="server-default",
    ),
    pytest.param(
        "ALTER TABLE users ADD COLUMN nickname text",
        ["users: unexpected column nickname (not in the baseline)"],
        id="extra-column",
    ),
    pytest.param(
        "CREATE TABLE notes (id text PRIMARY KEY)",
        ["unexpected table notes (not in the baseline)"],
        id="extra-table",
    ),
    pytest.param("DROP TABLE audit_logs", ["missing table audit_logs"], id="missing-table"),
    pytest.param(
        "DROP INDEX users_email_key",
        ["users: missing unique index users_email_key (email)"],
        id="dropped-index",
    ),
    pytest.param(
        "DROP INDEX campaign_links_platform_idx;"
        "CREATE INDEX campaign_links_platform_idx ON campaign_links (platform) WHERE platform <> ''",
        [
            "campaign_links: index campaign_links_platform_idx: is partial: CREATE INDEX "
            "campaign_links_platform_idx ON public.campaign_links USING btree (platform) "
            "WHERE (platform <> ''::text)"
        ],
        id="partial-index",
    ),
    pytest.param(
        "CREATE INDEX users_email_trgm_idx ON users (email)",
        [
            "users: index users_email_trgm_idx (which 0008_user_list_indexes would create) exists "
            "but uses btree, expected gin"
        ],
        id="later-index-method",
    ),
    pytest.param(
        'ALTER TABLE accounts DROP CONSTRAINT "accounts_userId_fkey";'
        'ALTER TABLE accounts ADD CONSTRAINT "accounts_userId_fkey" FOREIGN KEY ("userId") '
        "REFERENCES users(id) ON DELETE RESTRICT ON UPDATE CASCADE",
        ["accounts: foreign key accounts_userId_fkey: ON DELETE is RESTRICT, expected CASCADE"],
        id="fk-on-delete",
    ),
    pytest.param(
        'ALTER TABLE accounts DROP CONSTRAINT "accounts_userId_fkey";'
        'ALTER TABLE accounts ADD CONSTRAINT "accounts_userId_fkey" FOREIGN KEY ("userId") '
        "REFERENCES users(id) ON DELETE CASCADE",
        ["accounts: foreign key accounts_userId_fkey: ON UPDATE is NO ACTION, expected CASCADE"],
        id="fk-on-update",
    ),
    pytest.param(
        'ALTER TABLE accounts RENAME CONSTRAINT "accounts_userId_fkey" TO accounts_user_fk',
        ["accounts: foreign key accounts_user_fk, expected the name accounts_userId_fkey"],
        id="fk-renamed",
    ),
    pytest.param(
        "ALTER TABLE error_logs DROP CONSTRAINT error_logs_pkey",
        ["error_logs: missing primary key error_logs_pkey (id)"],
        id="primary-key",
    ),
    pytest.param(
        "ALTER TYPE \"UserRole\" ADD VALUE 'GUEST'",
        [
            'enum type "UserRole": unexpected GUEST '
            "(found USER, ADMIN, SUPER_ADMIN, GUEST; expected USER, ADMIN, SUPER_ADMIN)"
        ],
        id="enum-label",
    ),
    pytest.param(
        # the old default no longer evaluates: Alembic's comparison fails, in a savepoint
        "ALTER TYPE \"AgentProvider\" RENAME VALUE 'JULES' TO 'JULES2'",
        [
            "external_agent_sessions.provider: default is 'JULES2'::\"AgentProvider\", "
            "expected 'JULES'::\"AgentProvider\"",
            'enum type "AgentProvider": missing JULES; unexpected JULES2 '
            "(found JULES2, CODEX, OTHER; expected JULES, CODEX, OTHER)",
        ],
        id="enum-label-renamed",
    ),
    pytest.param(
        'ALTER TABLE users ALTER COLUMN "referralCount" DROP DEFAULT;'
        'ALTER TABLE users ALTER COLUMN "referralCount" ADD GENERATED BY DEFAULT AS IDENTITY',
        ["users.referralCount: is GENERATED BY DEFAULT AS IDENTITY, expected a plain column"],
        id="identity-column",
    ),
    pytest.param(
        "ALTER TABLE error_logs SET UNLOGGED",
        ["error_logs: is UNLOGGED, expected a logged table"],
        id="unlogged",
    ),
    pytest.param(
        "ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email LIKE '%@%')",
        ["users: unexpected CHECK constraint users_email_check: CHECK ((email ~~ '%@%'::text))"],
        id="check-constraint",
    ),
]


@pytest.mark.parametrize(("change", "expected"), DIFFERENCES)
def test_refuses_a_database_that_differs(prisma_db: str, change: str, expected: list[str]) -> None:
    execute(prisma_db, change)

    result = adopt(prisma_db)

    assert not result.ok and result.status == "differs"
    assert result.differences == expected
    assert "nothing was changed" in result.message
    assert versions(prisma_db) is None


def test_lists_every_difference(prisma_db: str) -> None:
    execute(
        prisma_db,
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);"
        "DROP INDEX users_email_key;"
        'ALTER TABLE sessions ALTER COLUMN "expires" DROP NOT NULL;',
    )

    result = adopt(prisma_db)

    assert result.status == "differs"
    assert sorted(result.differences) == [
        "sessions.expires: NULL allowed, expected NOT NULL",
        "users.name: type is VARCHAR(200), expected TEXT",
        "users: missing unique index users_email_key (email)",
    ]
    assert "3 ways" in result.message
    assert versions(prisma_db) is None


def test_refuses_an_already_managed_database(database_url: str) -> None:
    before = versions(database_url)

    result = adopt(database_url)

    assert result == AdoptResult(
        ok=False,
        status="already_managed",
        message=(
            f"the database is already managed by Alembic (current revision: {HEAD}); "
            "there is nothing to adopt: use `db upgrade`"
        ),
    )
    assert versions(database_url) == before


def test_refuses_an_empty_database(server_url: str) -> None:
    name = unique_name("spikeland_adopt_empty")
    url = asyncio.run(create_database(server_url, name))
    try:
        result = adopt(url)
        assert not result.ok and result.status == "empty"
        assert "nothing to adopt" in result.message and "db upgrade" in result.message
        assert versions(url) is None
    finally:
        asyncio.run(drop_database(server_url, name))
