"""The app's reads and chores at the seed's size: populate (populate.py), then measure.

- the public gallery and the heaviest user's images, first page and a page 10,000 images deep, and
  the heaviest user's ledger (first page): ``GET`` on ``spikeland serve`` (a cursor made with the app's
  own ``encode_cursor``; median of ``--repeat`` requests), and ``EXPLAIN (ANALYZE, BUFFERS)`` of the
  very statements the app's service functions send (captured from SQLAlchemy as they run);
- ``spikeland tokens verify``: wall time, the process's peak RSS, and EXPLAIN of its two statements;
- deleting a user with about 1,000 images (``DELETE FROM users``, as both deletion paths do, with
  EXPLAIN ANALYZE in a transaction rolled back: the cascades' foreign-key triggers and their times);
- the job queue's claim with the finished jobs present (nothing pending, and 10 pending);
- ``spikeland db stats`` (wall time, peak RSS, EXPLAIN ANALYZE of its four statements) and the admin
  lists (``/api/v1/admin/users``: first page, 10,000 deep, a search, by role; ``/admin/audit-logs``,
  ``/admin/vouchers``) with a SUPER_ADMIN's API key;
- deleting a user with about 1,000 images through the app: ``DELETE /api/v1/admin/users/{id}`` timed,
  the rows checked gone, and whether the user's stored files (written for it under the server's
  storage directory, as the populated images have none) are still there afterwards.

HTTP timings are the median and p99 of ``--repeat`` requests; EXPLAIN ANALYZE runs ``--repeat`` times
per statement (5 for the deletion and the claims) and reports the median and p99 of its execution
time. Nothing in the app is changed, but ``--database`` measures (and changes: one user deleted, one
admin and an API key added per run) a database populated before.

    .venv/bin/python benchmarks/scale.py --scale 0.01 [--workers 2] [--repeat 20]
    .venv/bin/python benchmarks/scale.py --database URL [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from auth import running_server
from ledger import fresh_database, make_bench_engine, save_report
from populate import create_api_key, populate, print_population
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.pagination import encode_cursor
from spikeland.db import stats as db_stats
from spikeland.db.cuid import cuid
from spikeland.growth import service as growth
from spikeland.identity import admin
from spikeland.identity.models import User, UserRole
from spikeland.images import service as images
from spikeland.images.queue import EnhancementQueue
from spikeland.tokens import service as tokens
from spikeland.tokens import verify

DEEP = 10_000  # images (or users) before the deep page
FEW = 5  # EXPLAIN ANALYZE runs of the statements that write (deletion, claims), each rolled back
ADMIN_EMAIL = "bench-admin@populate.example"


def _cursor(created: Any, row_id: str) -> str:
    """The app's cursor after (createdAt, id); its codec took two arguments before keyset_page."""
    try:
        return encode_cursor([created, row_id])  # type: ignore[call-arg, arg-type, unused-ignore]
    except TypeError:
        return encode_cursor(created, row_id)  # type: ignore[call-arg, arg-type, unused-ignore]


def p99(values: list[float]) -> float:
    """The 99th percentile, nearest rank (of 50 values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def _summary(plan: str) -> dict[str, Any]:
    """Execution time, buffers of the top node, and the scans, sorts and triggers of a plan."""
    found = re.search(r"Execution Time: ([\d.]+) ms", plan)
    buffers = re.search(r"Buffers: ([^\n]+)", plan)
    steps = [line.strip() for line in plan.splitlines() if re.search(r"Scan|Sort Method|Sort  |Disk:", line)]
    triggers = re.findall(r"Trigger for constraint (\w+).*time=([\d.]+) calls=(\d+)", plan)
    # the slowest cascades first: those are the foreign keys with no index on the referencing side
    for name, ms, calls in sorted(triggers, key=lambda t: -float(t[1])):
        steps.append(f"trigger {name}: {ms} ms, {calls} calls")
    return {
        "execution_ms": float(found.group(1)) if found else None,
        "buffers": buffers.group(1) if buffers else "",
        "steps": steps,
        "plan": plan,
    }


async def explain_calls(
    engine: AsyncEngine, call: Callable[[AsyncSession], Awaitable[Any]], repeat: int = 1
) -> list[dict[str, Any]]:
    """Run ``call`` (an app service function on a session), capture each statement it sends, then
    EXPLAIN (ANALYZE, BUFFERS) each ``repeat`` times with the same parameters (a custom plan for
    those values); the last plan, and every run's execution time."""
    seen: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await call(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with engine.connect() as conn:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            runs = []
            for _ in range(repeat):
                rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                summary = _summary("\n".join(r[0] for r in rows))
                runs.append(summary["execution_ms"] or 0.0)
            plans.append({"statement": statement, **summary, "runs_ms": runs})
        await conn.rollback()
    return plans


async def explain_raw(
    url: str, statement: str, *args: Any, setup: str = "", repeat: int = 1
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of ``statement``, ``repeat`` times, each in a transaction that is
    rolled back; the last plan and every run's execution time."""
    conn = await asyncpg.connect(url)
    runs = []
    try:
        for _ in range(repeat):
            tx = conn.transaction()
            await tx.start()
            try:
                if setup:
                    await conn.execute(setup)
                rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
            finally:
                await tx.rollback()
            summary = _summary("\n".join(r[0] for r in rows))
            runs.append(summary["execution_ms"] or 0.0)
    finally:
        await conn.close()
    return {"statement": statement, **summary, "runs_ms": runs}


def time_get(base: str, path: str, headers: dict[str, str], repeat: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        first = client.get(path)
        first.raise_for_status()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": statistics.median(times),
        "p99_ms": p99(times),
        "max_ms": max(times),
        "items": len(first.json()["items"]),
    }


async def facts(url: str) -> dict[str, Any]:
    """The heaviest user, the two users nearest 1,000 images (one to EXPLAIN the deletion of, one to
    delete), a SUPER_ADMIN (made once), API keys and the deep cursors the measurements need."""
    conn = await asyncpg.connect(url)
    try:
        counts = await conn.fetch('SELECT "userId", count(*) AS n FROM enhanced_images GROUP BY 1')
        heavy = max(counts, key=lambda r: r["n"])
        near, doomed = sorted(counts, key=lambda r: abs(r["n"] - 1000))[:2]
        admin_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", ADMIN_EMAIL)
        if admin_id is None:
            admin_id = cuid()
            await conn.execute(
                'INSERT INTO users (id, name, email, role, "createdAt", "updatedAt") '
                "VALUES ($1, 'Bench admin', $2, 'SUPER_ADMIN', now() at time zone 'utc', "
                "now() at time zone 'utc')",
                admin_id,
                ADMIN_EMAIL,
            )
        searched = await conn.fetchval("SELECT email FROM users WHERE id = $1", near["userId"])

        async def cursor(table: str, where: str, *args: Any) -> str | None:
            row = await conn.fetchrow(
                f'SELECT "createdAt", id FROM {table} WHERE {where} '
                f'ORDER BY "createdAt" DESC, id DESC OFFSET {DEEP - 1} LIMIT 1',
                *args,
            )
            return _cursor(row[0].replace(tzinfo=UTC), row[1]) if row else None

        return {
            "heavy": heavy["userId"],
            "heavy_images": heavy["n"],
            "near": near["userId"],
            "near_images": near["n"],
            "doomed": doomed["userId"],
            "doomed_images": doomed["n"],
            "admin": admin_id,
            "key": await create_api_key(conn, heavy["userId"]),
            "admin_key": await create_api_key(conn, admin_id),
            "search": searched.split("@")[0] + "@",  # matches one user: the whole table is read
            "gallery_cursor": await cursor("enhanced_images", '"isPublic"'),
            "user_cursor": await cursor("enhanced_images", '"userId" = $1', heavy["userId"]),
            "users_cursor": await cursor("users", "true"),
        }
    finally:
        await conn.close()


def run_cli_measured(url: str, *command: str) -> dict[str, Any]:
    """``spikeland <command>``: exit code, wall seconds, peak RSS of its process (wait4)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env["SPIKELAND_DATABASE_URL"] = url
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeland", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit_code": proc.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "output": output.strip()[-500:],
    }


def run_verify_measured(url: str) -> dict[str, Any]:
    return run_cli_measured(url, "tokens", "verify")


def _deep(f: dict[str, Any]) -> dict[str, str | None]:
    """The deep pages' measures and their cursors (None where there are fewer rows than DEEP)."""
    return {
        f"gallery, {DEEP:,} deep": f["gallery_cursor"],
        f"heavy user's images, {DEEP:,} deep": f["user_cursor"],
        f"admin users, {DEEP:,} deep": f["users_cursor"],
    }


async def explain_all(url: str, f: dict[str, Any], repeat: int) -> dict[str, Any]:
    engine = make_bench_engine(url, 2)

    def as_admin(call: Callable[[AsyncSession, User], Awaitable[Any]]) -> Callable[[AsyncSession], Any]:
        async def run(s: AsyncSession) -> Any:
            actor = await s.get(User, f["admin"])
            assert actor is not None
            return await call(s, actor)

        return run

    try:
        page = {
            "gallery, first page": lambda s: images.list_public_images(s, limit=20),
            f"gallery, {DEEP:,} deep": lambda s: images.list_public_images(
                s, limit=20, cursor=f["gallery_cursor"]
            ),
            "heavy user's images, first page": lambda s: images.list_images(s, f["heavy"], limit=20),
            f"heavy user's images, {DEEP:,} deep": lambda s: images.list_images(
                s, f["heavy"], limit=20, cursor=f["user_cursor"]
            ),
            "heavy user's ledger, first page": lambda s: tokens.list_transactions(s, f["heavy"], limit=20),
            "admin users, first page": as_admin(lambda s, a: admin.list_users(s, a, limit=50)),
            f"admin users, {DEEP:,} deep": as_admin(
                lambda s, a: admin.list_users(s, a, limit=50, cursor=f["users_cursor"])
            ),
            "admin users, search": as_admin(lambda s, a: admin.list_users(s, a, query=f["search"], limit=50)),
            "admin users, by role": as_admin(
                lambda s, a: admin.list_users(s, a, role=UserRole.SUPER_ADMIN, limit=50)
            ),
            "admin audit log, first page": as_admin(lambda s, a: admin.list_audit_entries(s, a, limit=50)),
            "admin vouchers, first page": lambda s: growth.list_vouchers(s, limit=50),
        }
        for name, cursor in _deep(f).items():
            if cursor is None:  # fewer rows than DEEP
                del page[name]
        out: dict[str, Any] = {name: await explain_calls(engine, call, repeat) for name, call in page.items()}
        queue = EnhancementQueue(
            engine, async_sessionmaker(engine), lambda *_: asyncio.sleep(0), retry_base=5
        )
        claim = queue.claim_sql(4)
    finally:
        await engine.dispose()
    out["tokens verify: totals"] = [await explain_raw(url, str(verify._TOTALS))]
    out["tokens verify: chain"] = [await explain_raw(url, str(verify._CHAIN))]
    for key, _title, _headers, sql, _note in db_stats.QUERIES:
        statement = sql.replace(":schema", "$1").replace(":limit", "$2")
        out[f"db stats: {key}"] = [await explain_raw(url, statement, "public", None, repeat=FEW)]
    out["delete a user with ~1,000 images"] = [
        await explain_raw(url, "DELETE FROM users WHERE id = $1", f["near"], repeat=FEW)
    ]
    out["job claim, nothing pending"] = [await explain_raw(url, claim, repeat=repeat)]
    pending = (
        "UPDATE image_enhancement_jobs SET status = 'PENDING', \"runAfter\" = NULL WHERE id IN "
        "(SELECT id FROM image_enhancement_jobs WHERE status = 'COMPLETED' LIMIT 10)"
    )
    out["job claim, 10 pending"] = [await explain_raw(url, claim, setup=pending, repeat=FEW)]
    return out


async def _stored_keys(url: str, user_id: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            'SELECT "originalR2Key" FROM enhanced_images WHERE "userId" = $1 UNION ALL '
            'SELECT "enhancedR2Key" FROM image_enhancement_jobs WHERE "userId" = $1 '
            'AND "enhancedR2Key" IS NOT NULL',
            user_id,
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _rows_left(url: str, user_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        left = {"users": await conn.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id)}
        for table in ("enhanced_images", "image_enhancement_jobs", "token_transactions"):
            left[table] = await conn.fetchval(f'SELECT count(*) FROM {table} WHERE "userId" = $1', user_id)
        return left
    finally:
        await conn.close()


def delete_user_http(base: str, url: str, f: dict[str, Any], storage: Path) -> dict[str, Any]:
    """``DELETE /api/v1/admin/users/{id}`` of a user with ~1,000 images, as a SUPER_ADMIN; then the
    rows and the user's files (written before, as the populated images have none) still present."""
    user_id = f["doomed"]
    keys = asyncio.run(_stored_keys(url, user_id))
    for key in keys:
        path = storage.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    started = time.perf_counter()
    response = httpx.delete(
        f"{base}/api/v1/admin/users/{user_id}",
        headers={"Authorization": f"Bearer {f['admin_key']}"},
        timeout=120,
    )
    elapsed = (time.perf_counter() - started) * 1000
    time.sleep(2)  # any work after the response (background tasks) has had time to run
    left = sum(storage.joinpath(*key.split("/")).exists() for key in keys)
    return {
        "user_id": user_id,
        "images": f["doomed_images"],
        "status": response.status_code,
        "ms": round(elapsed, 1),
        "rows_left": asyncio.run(_rows_left(url, user_id)),
        "files_written": len(keys),
        "files_left": left,
    }


def measure(url: str, tmp: Path, repeat: int) -> dict[str, Any]:
    f = asyncio.run(facts(url))
    explained = asyncio.run(explain_all(url, f, repeat))
    key = {"Authorization": f"Bearer {f['key']}"}
    admin_key = {"Authorization": f"Bearer {f['admin_key']}"}
    paths = {
        "gallery, first page": ("/api/v1/gallery/images?limit=20", {}),
        f"gallery, {DEEP:,} deep": (f"/api/v1/gallery/images?limit=20&cursor={f['gallery_cursor']}", {}),
        "heavy user's images, first page": ("/api/v1/images?limit=20", key),
        "heavy user's ledger, first page": ("/api/v1/tokens/transactions?limit=20", key),
        "admin users, first page": ("/api/v1/admin/users?limit=50", admin_key),
        f"admin users, {DEEP:,} deep": (
            f"/api/v1/admin/users?limit=50&cursor={f['users_cursor']}",
            admin_key,
        ),
        "admin users, search": (f"/api/v1/admin/users?limit=50&q={f['search']}", admin_key),
        "admin users, by role": ("/api/v1/admin/users?limit=50&role=SUPER_ADMIN", admin_key),
        "admin audit log, first page": ("/api/v1/admin/audit-logs?limit=50", admin_key),
        "admin vouchers, first page": ("/api/v1/admin/vouchers?limit=50", admin_key),
    }
    paths[f"heavy user's images, {DEEP:,} deep"] = (f"/api/v1/images?limit=20&cursor={f['user_cursor']}", key)
    for name, cursor in _deep(f).items():
        if cursor is None:
            del paths[name]
    with running_server(url, tmp / "data") as (base, _pid):
        http = {name: time_get(base, path, headers, repeat) for name, (path, headers) in paths.items()}
        deletion = delete_user_http(base, url, f, tmp / "data" / "storage")
    return {
        "facts": {k: v for k, v in f.items() if not k.endswith(("key", "cursor"))},
        "http": http,
        "explain": explained,
        "deletion": deletion,
        "verify": run_verify_measured(url),
        "db_stats": run_cli_measured(url, "db", "stats"),
    }


def _sql_runs(plans: list[dict[str, Any]]) -> list[float]:
    """Database time of each run of a measure: its statements' execution times summed."""
    return [sum(runs) for runs in zip(*(p["runs_ms"] for p in plans), strict=True)]


def print_measures(result: dict[str, Any]) -> None:
    f = result["facts"]
    print(
        f"\nheaviest user {f['heavy_images']:,} images; deletion EXPLAINed on a user with "
        f"{f['near_images']:,}, deleted over HTTP: one with {f['doomed_images']:,}"
    )
    heads = ("HTTP med", "HTTP p99", "SQL med", "SQL p99")
    print(
        f"\n{'measure':<40} " + " ".join(f"{h:>9}" for h in heads) + "  plan steps (scans, sorts, triggers)"
    )
    for name, plans in result["explain"].items():
        http = result["http"].get(name, {})
        sql = _sql_runs(plans)
        cells = [http.get("median_ms"), http.get("p99_ms"), statistics.median(sql), p99(sql)]
        print(f"{name:<40} " + " ".join(f"{'' if c is None else f'{c:.2f}':>9}" for c in cells))
        for plan in plans:
            for step in plan["steps"][:6]:
                print(f"{'':<81}{step[:110]}")
    d = result["deletion"]
    print(
        f"\nDELETE /api/v1/admin/users/{{id}} ({d['images']:,} images): {d['status']} in {d['ms']} ms; "
        f"rows left {d['rows_left']}; files left {d['files_left']} of {d['files_written']}"
    )
    for name in ("verify", "db_stats"):
        v = result[name]
        print(f"{name}: exit {v['exit_code']}, {v['seconds']} s, peak RSS {v['peak_rss_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests and EXPLAINs per measure")
    parser.add_argument("--database", help="measure this populated database (no populate, kept)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp:
        if args.database:
            population: dict[str, Any] = {"database": args.database.rsplit("@", 1)[-1]}
            result = measure(args.database, Path(tmp), args.repeat)
        else:
            with fresh_database(args.server, args.embedded, Path(tmp)) as (url, where):
                population = {"database": where, **populate(url, args.scale, args.workers)}
                print_population(population)
                result = measure(url, Path(tmp), args.repeat)
    print_measures(result)
    save_report("scale", {"population": population, **result}, load_before)


if __name__ == "__main__":
    main()
