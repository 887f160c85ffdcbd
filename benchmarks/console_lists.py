"""The admin console's two big lists at size: ``/admin/users`` over 100 K users and ``/admin/images``
over 1 M images, rendered by ``spikeland serve`` for a signed-in super admin (the whole page: the
query, the template, the HTML).

The data: ``populate.py --scale 0.1`` (10 K users, 1 M images, 100 K jobs, ledger, albums), then
90 K users more without images (COPY), so 100 K users and 1 M images. Measured per page: the first
page, a page 10,000 rows deep (a cursor made with the app's ``encode_cursor``), and the filters
(users: a search matching one email, role; images: one owner, public only). Median and p99 of
``--repeat`` requests each, one at a time. Prints a table and writes
``benchmarks/results/console_lists.json``.

    .venv/bin/python benchmarks/console_lists.py [--repeat 20] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from auth import running_server
from ledger import fresh_database, make_bench_engine, save_report
from populate import populate
from sqlalchemy.ext.asyncio import async_sessionmaker

from spikeland.core.pagination import encode_cursor
from spikeland.db.cuid import cuid
from spikeland.identity.models import User, UserRole
from spikeland.identity.service import create_session

EXTRA_USERS = 90_000


async def add_users(url: str, count: int) -> None:
    """Users without images, spread over the last two years (as sign-ups come)."""
    conn = await asyncpg.connect(url)
    try:
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=730)
        step = timedelta(days=730) / count
        rows = [
            (cuid(), f"extra{i}@console.example", f"Extra {i}", start + step * i, start + step * i, "USER")
            for i in range(count)
        ]
        await conn.copy_records_to_table(
            "users", records=rows, columns=["id", "email", "name", "createdAt", "updatedAt", "role"]
        )
        await conn.execute("VACUUM (ANALYZE) users")
    finally:
        await conn.close()


async def admin_session(url: str) -> str:
    engine = make_bench_engine(url, 1)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            admin = User(id=cuid(), email=f"chief-{cuid()}@console.example", role=UserRole.SUPER_ADMIN)
            session.add(admin)
            await session.flush()
            token, _ = await create_session(session, admin.id, 30)
        return token
    finally:
        await engine.dispose()


async def deep_cursors(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        deep = 'SELECT "createdAt", id FROM {} ORDER BY "createdAt" DESC, id DESC OFFSET 9999 LIMIT 1'
        users = await conn.fetchrow(deep.format("users"))
        images = await conn.fetchrow(deep.format("enhanced_images"))
        owner = await conn.fetchrow(
            'SELECT u.email, count(*) AS n FROM enhanced_images i JOIN users u ON u.id = i."userId" '
            "GROUP BY u.email ORDER BY n DESC LIMIT 1"
        )
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM enhanced_images) AS images"
        )
    finally:
        await conn.close()
    return {
        # The app's cursors carry the moment's offset (the columns are UTC without one).
        "users": encode_cursor([users["createdAt"].replace(tzinfo=UTC), users["id"]]),
        "images": encode_cursor([images["createdAt"].replace(tzinfo=UTC), images["id"]]),
        "owner": owner["email"],
        "owner_images": owner["n"],
        "user_count": counts["users"],
        "image_count": counts["images"],
    }


def measure(base: str, token: str, pages: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, cookies={"spikeland_session": token}, timeout=60) as client:
        for name, path in pages.items():
            answer = client.get(path)  # warm: the first render compiles the template
            answer.raise_for_status()
            assert "<table" in answer.text, (name, answer.text[:300])
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            found[name] = {
                "median_ms": round(statistics.median(times), 1),
                "p99_ms": round(times[min(len(times) - 1, round(0.99 * (len(times) - 1)))], 1),
                "bytes": len(answer.content),
            }
            print(f"{name:<36} {found[name]['median_ms']:>9.1f} {found[name]['p99_ms']:>9.1f}")
    return found


async def drop_console_indexes(url: str) -> None:
    """Without migration 0013's indexes: how the lists ran before it (for the comparison)."""
    conn = await asyncpg.connect(url)
    try:
        for table in ("enhanced_images", "image_enhancement_jobs", "mcp_generation_jobs"):
            await conn.execute(f'DROP INDEX IF EXISTS "{table}_createdAt_id_idx"')
    finally:
        await conn.close()


def run(url: str, repeat: int, fill: bool, without_0013: bool = False) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    if fill:
        loaded = populate(url, 0.1, 2)
        asyncio.run(add_users(url, EXTRA_USERS))
    if without_0013:
        asyncio.run(drop_console_indexes(url))
    token = asyncio.run(admin_session(url))
    deep = asyncio.run(deep_cursors(url))
    print(f"{deep['user_count']:,} users, {deep['image_count']:,} images")
    pages = {
        "users, first page": "/admin/users",
        "users, 10,000 deep": f"/admin/users?cursor={deep['users']}",
        "users, search one email": "/admin/users?q=extra4242@console.example",
        "users, role SUPER_ADMIN": "/admin/users?role=SUPER_ADMIN",
        "images, first page": "/admin/images",
        "images, 10,000 deep": f"/admin/images?cursor={deep['images']}",
        "images, one owner": f"/admin/images?owner={deep['owner']}",
        "images, public only": "/admin/images?visibility=public",
    }
    print(f"{'page':<36} {'median ms':>9} {'p99 ms':>9}   repeat={repeat}")
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as data,
        running_server(url, Path(data)) as (base, _),
    ):
        timings = measure(base, token, pages, repeat)
    return {
        "rows": {"users": deep["user_count"], "images": deep["image_count"]},
        "populate": loaded,
        "pages": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", help="measure this database (populated before) instead of a new one")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--without-0013", action="store_true", help="drop migration 0013's indexes first")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    if args.database:
        result = run(args.database, args.repeat, fill=False, without_0013=args.without_0013)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
            fresh_database(args.server, args.embedded, Path(tmp)) as (url, _),
        ):
            result = run(url, args.repeat, fill=True, without_0013=args.without_0013)
    save_report("console_lists" + ("_without_0013" if args.without_0013 else ""), result, load_before)


if __name__ == "__main__":
    main()
