"""The app's reads and chores at the seed's size: populate (populate.py), then measure.

- the public gallery and the heaviest user's images, first page and a page 10,000 images deep, and
  the heaviest user's ledger (first page): ``GET`` on ``spikeland serve`` (a cursor made with the app's
  own ``encode_cursor``; median of ``--repeat`` requests), and ``EXPLAIN (ANALYZE, BUFFERS)`` of the
  very statements the app's service functions send (captured from SQLAlchemy as they run);
- ``spikeland tokens verify``: wall time, the process's peak RSS, and EXPLAIN of its two statements;
- deleting a user with about 1,000 images (``DELETE FROM users``, as both deletion paths do, with
  EXPLAIN ANALYZE in a transaction rolled back: the cascades' foreign-key triggers and their times);
- the job queue's claim with the finished jobs present (nothing pending, and 10 pending).

Nothing is changed in the app: the report names which statements would want which index.

    .venv/bin/python benchmarks/scale.py --scale 0.01 [--workers 2] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
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
from spikeland.images import service as images
from spikeland.images.queue import EnhancementQueue
from spikeland.tokens import service as tokens
from spikeland.tokens import verify

DEEP = 10_000  # images before the deep page


def _cursor(created: Any, row_id: str) -> str:
    """The app's cursor after (createdAt, id); its codec took two arguments before keyset_page."""
    try:
        return encode_cursor([created, row_id])  # type: ignore[call-arg, arg-type, unused-ignore]
    except TypeError:
        return encode_cursor(created, row_id)  # type: ignore[call-arg, arg-type, unused-ignore]


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
    engine: AsyncEngine, call: Callable[[AsyncSession], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """Run ``call`` (an app service function on a session), capture each statement it sends, then
    EXPLAIN (ANALYZE, BUFFERS) each with the same parameters (a custom plan for those values)."""
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
            rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans.append({"statement": statement, **_summary("\n".join(r[0] for r in rows))})
        await conn.rollback()
    return plans


async def explain_raw(url: str, statement: str, *args: Any, setup: str = "") -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of ``statement`` in a transaction that is rolled back."""
    conn = await asyncpg.connect(url)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            if setup:
                await conn.execute(setup)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    return _summary("\n".join(r[0] for r in rows))


def time_get(base: str, path: str, headers: dict[str, str], repeat: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        first = client.get(path)
        first.raise_for_status()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "max_ms": times[-1], "items": len(first.json()["items"])}


async def facts(url: str, population: dict[str, Any]) -> dict[str, Any]:
    """Ids, an API key and the deep cursors the measurements need."""
    conn = await asyncpg.connect(url)
    try:
        heavy = await conn.fetchval(
            "SELECT id FROM users WHERE email = $1", population["heavy_user"]["email"]
        )
        near = await conn.fetchval(
            "SELECT id FROM users WHERE email = $1", population["user_near_1000_images"]["email"]
        )
        key = await create_api_key(conn, heavy)

        async def cursor(where: str, *args: Any) -> str | None:
            row = await conn.fetchrow(
                f'SELECT "createdAt", id FROM enhanced_images WHERE {where} '
                f'ORDER BY "createdAt" DESC, id DESC OFFSET {DEEP - 1} LIMIT 1',
                *args,
            )
            return _cursor(row[0].replace(tzinfo=UTC), row[1]) if row else None

        return {
            "heavy": heavy,
            "near": near,
            "key": key,
            "gallery_cursor": await cursor('"isPublic"'),
            "user_cursor": await cursor('"userId" = $1', heavy),
        }
    finally:
        await conn.close()


def run_verify_measured(url: str) -> dict[str, Any]:
    """``spikeland tokens verify``: exit code, wall seconds, peak RSS of its process (wait4)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env["SPIKELAND_DATABASE_URL"] = url
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeland", "tokens", "verify"],
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


async def explain_all(url: str, f: dict[str, Any]) -> dict[str, Any]:
    engine = make_bench_engine(url, 2)
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
        }
        if f["user_cursor"] is None:
            del page[f"heavy user's images, {DEEP:,} deep"]
        out: dict[str, Any] = {name: await explain_calls(engine, call) for name, call in page.items()}
        queue = EnhancementQueue(
            engine, async_sessionmaker(engine), lambda *_: asyncio.sleep(0), retry_base=5
        )
        claim = queue.claim_sql(4)
    finally:
        await engine.dispose()
    out["tokens verify: totals"] = [await explain_raw(url, str(verify._TOTALS))]
    out["tokens verify: chain"] = [await explain_raw(url, str(verify._CHAIN))]
    out["delete a user with ~1,000 images"] = [
        await explain_raw(url, "DELETE FROM users WHERE id = $1", f["near"])
    ]
    out["job claim, nothing pending"] = [await explain_raw(url, claim)]
    pending = (
        "UPDATE image_enhancement_jobs SET status = 'PENDING', \"runAfter\" = NULL WHERE id IN "
        "(SELECT id FROM image_enhancement_jobs WHERE status = 'COMPLETED' LIMIT 10)"
    )
    out["job claim, 10 pending"] = [await explain_raw(url, claim, setup=pending)]
    return out


def measure(url: str, tmp: Path, population: dict[str, Any], repeat: int) -> dict[str, Any]:
    f = asyncio.run(facts(url, population))
    explained = asyncio.run(explain_all(url, f))
    key = {"Authorization": f"Bearer {f['key']}"}
    paths = {
        "gallery, first page": ("/api/v1/gallery/images?limit=20", {}),
        f"gallery, {DEEP:,} deep": (f"/api/v1/gallery/images?limit=20&cursor={f['gallery_cursor']}", {}),
        "heavy user's images, first page": ("/api/v1/images?limit=20", key),
        "heavy user's ledger, first page": ("/api/v1/tokens/transactions?limit=20", key),
    }
    if f["user_cursor"]:
        paths[f"heavy user's images, {DEEP:,} deep"] = (
            f"/api/v1/images?limit=20&cursor={f['user_cursor']}",
            key,
        )
    with running_server(url, tmp / "data") as (base, _pid):
        http = {name: time_get(base, path, headers, repeat) for name, (path, headers) in paths.items()}
    return {"http": http, "explain": explained, "verify": run_verify_measured(url)}


def print_measures(result: dict[str, Any]) -> None:
    print(f"\n{'measure':<40} {'HTTP med ms':>11} {'SQL ms':>9}  plan steps (scans, sorts, triggers)")
    for name, plans in result["explain"].items():
        http = result["http"].get(name, {}).get("median_ms")
        sql = sum(p["execution_ms"] or 0 for p in plans)
        print(f"{name:<40} {'' if http is None else f'{http:.1f}':>11} {sql:>9.2f}")
        for plan in plans:
            for step in plan["steps"][:6]:
                print(f"{'':<63}{step[:110]}")
    v = result["verify"]
    print(f"\ntokens verify: exit {v['exit_code']}, {v['seconds']} s, peak RSS {v['peak_rss_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        population = {"database": where, **populate(url, args.scale, args.workers)}
        print_population(population)
        result = measure(url, Path(tmp), population, args.repeat)
    print_measures(result)
    save_report("scale", {"population": population, **result}, load_before)


if __name__ == "__main__":
    main()
