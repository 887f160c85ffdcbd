"""A database as the original platform's Prisma 7.2 migrations made it, filled as its app fills it.

Built by the tests: our baseline (0001) less ``alembic_version``, plus what Prisma's migrations do
differently (Prisma's bookkeeping table, nine plain indexes beside unique ones, a nullable
``String[]``), then users as the original wrote them: emails as given, no ``emailVerified``,
bcryptjs hashes (``$2a$`` and ``$2b$``, cost 12, a password over 72 bytes hashed by its first 72),
balances created at 10 without a ledger row, two default albums, NULL ``features``, API keys,
images, jobs and share links.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import bcrypt

from spikeland.db.adopt.legacy import DUPLICATE_INDEX_COLUMNS

PRISMA_DDL = """
DROP TABLE alembic_version;
CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
VALUES ('m1', repeat('a', 64), now(), '20250101000000_init', 1);
ALTER TABLE monetization_models ALTER COLUMN features DROP NOT NULL;
""" + "".join(
    f'CREATE INDEX "{table}_{column}_idx" ON "{table}" ("{column}");\n'
    for table, column in DUPLICATE_INDEX_COLUMNS
)


@dataclass(frozen=True)
class OriginalUser:
    id: str
    email: str | None
    password: str | None
    prefix: str = "2a"  # bcryptjs before 3.0 wrote $2a$, 3.x $2b$
    balance: int = 10
    github: str | None = None  # a linked GitHub account's id


LONG = "the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps!"  # 78 bytes
USERS = (
    OriginalUser(
        "user_0a1b2c3d4e5f60718293a4b5c6d7e8f9", "Carol.Smith@Example.com", "carol-password", balance=58
    ),
    OriginalUser("user_1a1b2c3d4e5f60718293a4b5c6d7e8f9", "dave@example.org", LONG),
    OriginalUser("user_2a1b2c3d4e5f60718293a4b5c6d7e8f9", "Erin@Example.NET", LONG + " erin", prefix="2b"),
    OriginalUser(
        "user_3a1b2c3d4e5f60718293a4b5c6d7e8f9", "Grace.Hopper@Navy.mil", "grace-password", github="7001"
    ),
    OriginalUser("user_4a1b2c3d4e5f60718293a4b5c6d7e8f9", "Frank@Gmail.com", None, balance=9),
    OriginalUser("user_5a1b2c3d4e5f60718293a4b5c6d7e8f9", "bob@example.com", "bob-password", balance=25),
)
CAROL, DAVE, ERIN, GRACE, FRANK, BOB = USERS
ANONYMOUS = "anonymous-system-user"
CAROL_KEY = "sk_live_" + "Q" * 43
IMAGE_SHARE, ALBUM_SHARE = "V1StGXR8_Z5jdHi6B-myT", "Uakgb_J5m9g-0JDMbcJqLJ"
KEY_HASH = hashlib.sha256(CAROL_KEY.encode()).hexdigest()  # as the original stored it
PACKS = (("Starter", 10, "2.99", "price_1OrigStarter"), ("Mega", 1000, "99.00", "price_1OrigMega"))


@cache
def password_hash(password: str, prefix: str) -> str:
    """bcryptjs's hash at cost 12: of the first 72 bytes, as bcryptjs read a longer password."""
    data = password.encode("utf-8")[:72]
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=12, prefix=prefix.encode())).decode()


def _q(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def data_sql() -> str:
    sql = []
    for i, u in enumerate((*USERS, OriginalUser(ANONYMOUS, "anonymous@system.spike.land", None))):
        hashed = password_hash(u.password, u.prefix) if u.password else None
        sql.append(
            'INSERT INTO users (id, email, name, "passwordHash", "createdAt", "updatedAt") VALUES '
            f"({_q(u.id)}, {_q(u.email)}, 'User {i}', {_q(hashed)}, "
            f"'2025-03-0{i + 1} 10:00', '2025-03-0{i + 1} 10:00');"
        )
        if u.id == ANONYMOUS:
            continue
        start = 0 if u is BOB else 10  # other paths of the original created a balance at 0
        sql.append(
            'INSERT INTO user_token_balances (id, "userId", balance, "createdAt", "updatedAt") VALUES '
            f"('bal_{i}', {_q(u.id)}, {u.balance}, '2025-03-0{i + 1} 10:00', now());"
        )
        for privacy, name in (("PRIVATE", "Private Gallery"), ("PUBLIC", "Public Gallery")):
            sql.append(
                'INSERT INTO albums (id, "userId", name, privacy, "updatedAt") VALUES '
                f"('alb_{i}_{privacy}', {_q(u.id)}, {_q(name)}, '{privacy}', now());"
            )
        if u.github:
            sql.append(
                'INSERT INTO accounts (id, "userId", type, provider, "providerAccountId") VALUES '
                f"('acc_{i}', {_q(u.id)}, 'oauth', 'github', {_q(u.github)});"
            )
        sql += _ledger(i, u, start)
    sql += _carol_things()
    sql += [
        'INSERT INTO tokens_packages (id, name, tokens, "priceUSD", "stripePriceId", "updatedAt") VALUES '
        f"('pack_{n}', {_q(name)}, {tokens}, {price}, {_q(price_id)}, now());"
        for n, (name, tokens, price, price_id) in enumerate(PACKS)
    ]
    return "\n".join(sql)


def _ledger(i: int, u: OriginalUser, start: int) -> list[str]:
    """Rows chaining from the balance's start, ending at the user's balance."""
    moves = {CAROL.id: [-2, 50], FRANK.id: [-1], BOB.id: [25]}.get(u.id, [])
    rows, balance = [], start
    for n, amount in enumerate(moves):
        balance += amount
        kind = "SPEND_ENHANCEMENT" if amount < 0 else ("EARN_PURCHASE" if u is CAROL else "EARN_BONUS")
        rows.append(
            'INSERT INTO token_transactions (id, "userId", amount, type, source, "balanceAfter", '
            '"createdAt") '
            f"VALUES ('tx_{i}_{n}', {_q(u.id)}, {amount}, '{kind}', 'original', {balance}, "
            f"'2025-04-0{n + 1} 12:00');"
        )
    assert balance == u.balance, u
    return rows


def _carol_things() -> list[str]:
    c = _q(CAROL.id)
    image = (
        'INSERT INTO enhanced_images (id, "userId", name, "originalUrl", "originalR2Key", "originalWidth", '
        '"originalHeight", "originalSizeBytes", "originalFormat", "shareToken", "updatedAt") VALUES '
    )
    return [
        image + f"('img_1', {c}, 'Beach', 'https://r2/1.jpg', 'u/1.jpg', 800, 600, 1000, 'jpeg', "
        f"{_q(IMAGE_SHARE)}, now());",
        image + f"('img_2', {c}, 'Hills', 'https://r2/2.png', 'u/2.png', 640, 480, 900, 'png', NULL, now());",
        'INSERT INTO image_enhancement_jobs (id, "imageId", "userId", tier, "tokensCost", status, '
        '"enhancedUrl", "enhancedR2Key", "enhancedWidth", "enhancedHeight", "updatedAt") VALUES '
        f"('job_1', 'img_1', {c}, 'TIER_1K', 2, 'COMPLETED', 'https://r2/1-e.jpg', 'e/1.jpg', "
        "1024, 768, now());",
        'INSERT INTO albums (id, "userId", name, privacy, "shareToken", "sortOrder", "updatedAt") VALUES '
        f"('alb_trip', {c}, 'Trip', 'UNLISTED', {_q(ALBUM_SHARE)}, 1, now());",
        'INSERT INTO album_images (id, "albumId", "imageId") VALUES '
        "('ai_1', 'alb_trip', 'img_1'), ('ai_2', 'alb_trip', 'img_2');",
        'INSERT INTO api_keys (id, "userId", name, "keyHash", "keyPrefix", "updatedAt") VALUES '
        f"('key_1', {c}, 'laptop', {_q(KEY_HASH)}, 'sk_live...****', now());",
        f"INSERT INTO apps (id, name, \"userId\", \"updatedAt\") VALUES ('app_1', 'Demo', {c}, now());",
        'INSERT INTO monetization_models (id, "appId", features, "updatedAt") VALUES '
        "('mon_1', 'app_1', NULL, now()), ('mon_2', 'app_1', ARRAY['ads'], now());",
    ]
