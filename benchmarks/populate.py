"""Fill a migrated database with realistic data fast: COPY (asyncpg ``copy_records_to_table``).

The seed's scale at ``--scale 1``: 100 K users, 10 M images (images per user drawn from a lognormal:
most users hold a few, a few hold tens of thousands), 30 % of them public, an enhancement job for
one image in ten (1 M; most COMPLETED), 10 M token_transactions whose ``balanceAfter`` chains and
whose sums are the balances (``spikeland tokens verify`` is clean), three default albums per user
plus one more per 50 images, and one image in ten placed in an album. ``--scale 0.01`` is 1 % of it.

Users are written in chunks (each chunk: its users, balances, images, jobs, albums, album images and
ledger, in foreign-key order) by ``--workers`` processes, each on its own connection with
``session_replication_role = replica`` (foreign-key triggers off: the generator makes only valid
references, and checking each row costs more than writing it). The indexes stay: building them is
part of what the app's database really pays. Ids are CUIDs from ``spikeland.db.cuid``.

    .venv/bin/python benchmarks/populate.py --scale 0.01 [--database URL] [--workers 2]

Without ``--database`` it fills a fresh database (see ledger.py), reports and drops it; scale.py
populates and then measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from ledger import fresh_database, save_report

from spikeland.core.security import digest
from spikeland.db.cuid import cuid
from spikeland.db.enums import EnhancementTier
from spikeland.tokens.costs import enhancement_cost

FULL = {"users": 100_000, "images": 10_000_000, "transactions": 10_000_000}
PUBLIC_SHARE, JOB_SHARE, ALBUM_SHARE, IMAGES_PER_EXTRA_ALBUM = 0.3, 0.1, 0.1, 50
SIGMA = 1.5  # lognormal spread of images per user: at 100 K users the largest holds ~25 K images
EPOCH = datetime(2024, 1, 1)  # data spans EPOCH .. now (naive UTC, as the schema stores it)
START_BALANCE = 1000  # above every tier's cap, so reading a balance never regenerates (a write)
PUBLIC_URL = "http://127.0.0.1:8000"
TABLES: dict[str, tuple[str, ...]] = {  # in foreign-key order
    "users": ("id", "name", "email", "passwordHash", "createdAt", "updatedAt"),
    "user_token_balances": ("id", "userId", "balance", "lastRegeneration", "createdAt", "updatedAt"),
    "enhanced_images": (
        "id",
        "userId",
        "name",
        "originalUrl",
        "originalR2Key",
        "originalWidth",
        "originalHeight",
        "originalSizeBytes",
        "originalFormat",
        "isPublic",
        "viewCount",
        "createdAt",
        "updatedAt",
    ),
    "image_enhancement_jobs": (
        "id",
        "imageId",
        "userId",
        "tier",
        "tokensCost",
        "status",
        "enhancedUrl",
        "enhancedR2Key",
        "enhancedWidth",
        "enhancedHeight",
        "enhancedSizeBytes",
        "geminiModel",
        "processingStartedAt",
        "processingCompletedAt",
        "createdAt",
        "updatedAt",
    ),
    "albums": ("id", "userId", "name", "privacy", "shareToken", "sortOrder", "createdAt", "updatedAt"),
    "album_images": ("id", "albumId", "imageId", "sortOrder", "addedAt"),
    "token_transactions": ("id", "userId", "amount", "type", "source", "balanceAfter", "createdAt"),
}
JOB_STATUSES = (("COMPLETED", 0.90), ("FAILED", 0.05), ("REFUNDED", 0.03), ("CANCELLED", 0.02))
TIERS = [t for t in EnhancementTier if t != EnhancementTier.FREE]
DEFAULT_ALBUMS = (
    ("Private Gallery", "PRIVATE"),
    ("Unlisted Gallery", "UNLISTED"),
    ("Public Gallery", "PUBLIC"),
)


@dataclass(frozen=True)
class Shape:
    """What one user holds."""

    images: int
    transactions: int  # ledger rows, the first one the starting credit
    albums: int = 3  # the three defaults first
    public: float = PUBLIC_SHARE
    jobs: float = JOB_SHARE
    in_albums: float = ALBUM_SHARE


def seed_shapes(scale: float, seed: int = 1) -> list[Shape]:
    """The seed's users at ``scale``: images and ledger rows per user from one lognormal weight."""
    rng = random.Random(seed)
    users = max(1, round(FULL["users"] * scale))
    weights = [rng.lognormvariate(0, SIGMA) for _ in range(users)]
    total = sum(weights)
    images, ledger = FULL["images"] * scale, FULL["transactions"] * scale - users
    shapes = []
    for w in weights:
        count = round(w / total * images)
        shapes.append(Shape(count, 1 + round(w / total * ledger), 3 + count // IMAGES_PER_EXTRA_ALBUM))
    return shapes


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _ledger(
    user_id: str, count: int, start: datetime, end: datetime, rng: random.Random
) -> list[tuple[Any, ...]]:
    """``count`` rows that chain: a starting credit, then spends, regenerations and purchases;
    the balance never drops below START_BALANCE / 2 (and so never below a tier's cap)."""
    step = (end - start) / (count + 1)
    balance, rows = 0, []
    for i in range(count):
        roll = rng.random()
        if i == 0:
            amount, kind = START_BALANCE, "EARN_BONUS"
        elif roll < 0.7 and balance > START_BALANCE // 2:
            amount, kind = -rng.choice((1, 2, 5, 10)), "SPEND_ENHANCEMENT"
        elif roll < 0.95:
            amount, kind = 1, "EARN_REGENERATION"
        else:
            amount, kind = 100, "EARN_PURCHASE"
        balance += amount
        rows.append((cuid(), user_id, amount, kind, "populate", balance, _ms(start + step * (i + 1))))
    return rows


def user_rows(
    index: int, shape: Shape, rng: random.Random, now: datetime, password_hash: str | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of user number ``index`` (email ``user{index}@populate.example``)."""
    user_id = cuid()
    joined = _ms(EPOCH + (now - EPOCH) * rng.random() * 0.5)
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    rows["users"].append(
        (user_id, f"User {index}", f"user{index}@populate.example", password_hash, joined, joined)
    )
    span = (now - joined).total_seconds()
    images = []
    for i in range(shape.images):
        image_id = cuid()
        created = _ms(joined + timedelta(seconds=span * rng.random()))
        row = (
            image_id, user_id, f"IMG_{i:05d}.jpg", f"{PUBLIC_URL}/api/v1/images/{image_id}/original",
            f"originals/{user_id}/{image_id}.jpg", 4032, 3024, 1_500_000 + rng.randrange(2_000_000), "jpeg",
            rng.random() < shape.public, rng.randrange(50), created, created,
        )  # fmt: skip
        images.append(row)
        if rng.random() < shape.jobs:
            rows["image_enhancement_jobs"].append(_job(image_id, user_id, created, rng))
    rows["enhanced_images"] = images
    for a in range(shape.albums):
        name, privacy = DEFAULT_ALBUMS[a] if a < 3 else (f"Album {a}", "PRIVATE")
        token = secrets.token_urlsafe(12) if privacy != "PRIVATE" else None
        rows["albums"].append((cuid(), user_id, name, privacy, token, a, joined, joined))
    placed = [0] * shape.albums
    for image in images:
        if shape.albums and rng.random() < shape.in_albums:
            a = rng.randrange(shape.albums)
            if placed[a] < 500:  # MAX_ALBUM_IMAGES
                placed[a] += 1
                rows["album_images"].append((cuid(), rows["albums"][a][0], image[0], placed[a], image[11]))
    ledger = _ledger(user_id, shape.transactions, joined, now - timedelta(minutes=1), rng)
    rows["token_transactions"] = ledger
    balance = ledger[-1][5] if ledger else 0
    rows["user_token_balances"].append((cuid(), user_id, balance, now, joined, now))
    return rows


def _job(image_id: str, user_id: str, created: datetime, rng: random.Random) -> tuple[Any, ...]:
    tier = rng.choice(TIERS)
    status = rng.choices([s for s, _ in JOB_STATUSES], [w for _, w in JOB_STATUSES])[0]
    done = status == "COMPLETED"
    started, finished = created + timedelta(seconds=2), created + timedelta(seconds=30)
    key = f"enhanced/{user_id}/{image_id}-{tier.value}.jpg" if done else None
    return (
        cuid(), image_id, user_id, tier.value, enhancement_cost(tier), status,
        f"{PUBLIC_URL}/files/{key}" if done else None, key, 2048 if done else None, 1536 if done else None,
        900_000 if done else None, "local-pillow", _ms(started), _ms(finished), created, _ms(finished),
    )  # fmt: skip


async def copy_rows(conn: asyncpg.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    for table, columns in TABLES.items():
        if rows.get(table):
            await conn.copy_records_to_table(table, records=rows[table], columns=columns)


async def fill(
    conn: asyncpg.Connection,
    shapes: Iterable[tuple[int, Shape]],
    seed: int,
    password_hash: str | None = None,
    chunk_users: int = 500,
) -> dict[str, int]:
    """Write the users ``(index, shape)``, ``chunk_users`` to a COPY; row counts by table."""
    # Not a superuser: the foreign keys are checked row by row (the order is valid).
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("SET session_replication_role = replica")
    rng, now, counts = (
        random.Random(seed),
        _ms(datetime.now(UTC).replace(tzinfo=None)),
        dict.fromkeys(TABLES, 0),
    )
    pending: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for done, (index, shape) in enumerate(shapes, 1):
        for table, rows in user_rows(index, shape, rng, now, password_hash).items():
            pending[table].extend(rows)
        if done % chunk_users == 0:
            await _flush(conn, pending, counts)
    await _flush(conn, pending, counts)
    return counts


async def _flush(
    conn: asyncpg.Connection, pending: dict[str, list[tuple[Any, ...]]], counts: dict[str, int]
) -> None:
    async with conn.transaction():
        await copy_rows(conn, pending)
    for table, rows in pending.items():
        counts[table] += len(rows)
        rows.clear()


async def create_api_key(conn: asyncpg.Connection, user_id: str) -> str:
    """A new API key of ``user_id`` stored as the service stores it (its digest); the secret."""
    secret = "sk_live_" + secrets.token_urlsafe(32)
    await conn.execute(
        'INSERT INTO api_keys (id, "userId", name, "keyHash", "keyPrefix", "updatedAt") '
        "VALUES ($1, $2, 'bench', $3, $4, now() at time zone 'utc')",
        cuid(),
        user_id,
        digest(secret),
        secret[:12],
    )
    return secret


def _worker(url: str, part: list[tuple[int, Shape]], seed: int) -> dict[str, int]:
    async def run() -> dict[str, int]:
        conn = await asyncpg.connect(url)
        try:
            return await fill(conn, part, seed)
        finally:
            await conn.close()

    return asyncio.run(run())


def populate(url: str, scale: float, workers: int = 2, seed: int = 1) -> dict[str, Any]:
    """The seed's data at ``scale`` in the database at ``url``; rows, seconds and rows/s."""
    shapes = list(enumerate(seed_shapes(scale, seed)))
    started = time.perf_counter()
    with ProcessPoolExecutor(max(1, workers)) as pool:
        parts = [shapes[w::workers] for w in range(workers)]
        done = list(pool.map(_worker, [url] * workers, parts, [seed * 100 + w for w in range(workers)]))
    loaded = time.perf_counter() - started
    counts = {table: sum(d[table] for d in done) for table in TABLES}

    async def analyze() -> None:
        conn = await asyncpg.connect(url)
        try:  # what autovacuum would have done by the time such a database is read
            for table in TABLES:
                await conn.execute(f"VACUUM (ANALYZE) {table}")
        finally:
            await conn.close()

    asyncio.run(analyze())
    total = sum(counts.values())
    heavy = max(range(len(shapes)), key=lambda i: shapes[i][1].images)
    near = min(range(len(shapes)), key=lambda i: abs(shapes[i][1].images - 1000))
    return {
        "scale": scale,
        "workers": workers,
        "rows": counts,
        "load_s": round(loaded, 1),
        "vacuum_analyze_s": round(time.perf_counter() - started - loaded, 1),
        "rows_per_s": round(total / loaded),
        "heavy_user": {"email": f"user{heavy}@populate.example", "images": shapes[heavy][1].images},
        "user_near_1000_images": {"email": f"user{near}@populate.example", "images": shapes[near][1].images},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=0.01, help="share of the seed's size (1 = 10 M images)"
    )
    parser.add_argument("--workers", type=int, default=2, help="loading processes")
    parser.add_argument("--database", help="fill this migrated database and keep it")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    if args.database:
        result = populate(args.database, args.scale, args.workers)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
            fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
        ):
            result = {"database": where, **populate(url, args.scale, args.workers)}
    print_population(result)
    save_report("populate", result, load_before)


def print_population(result: dict[str, Any]) -> None:
    for table, count in result["rows"].items():
        print(f"{table:<24} {count:>12,}")
    total = sum(result["rows"].values())
    rate = f"{result['rows_per_s']:,} rows/s, {result['workers']} workers"
    print(
        f"{total:,} rows in {result['load_s']} s ({rate}), "
        f"then VACUUM ANALYZE {result['vacuum_analyze_s']} s; "
        f"heaviest user {result['heavy_user']['images']:,} images"
    )
    if result["scale"] < 1:
        print(f"(scale {result['scale']:g}: the full seed is about {total / result['scale']:,.0f} rows)")


if __name__ == "__main__":
    main()
