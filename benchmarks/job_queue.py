"""Jobs claimed and completed per second by the job runner, beside pgbench running the same SQL.

On a fresh database (see ``ledger.py`` for where), one user and one image carry a backlog of PENDING
``image_enhancement_jobs`` (refilled before every run). The service side is ``worker.runner.Runner``
with the image queue (``images.queue.EnhancementQueue``: the claim along the (status, updatedAt)
index with ``FOR UPDATE SKIP LOCKED``, the fenced completion with its NOTIFY) and a no-op stage: the
processor only completes the job. ``--workers 1,4`` are the runner's concurrent job slots in one
process (the issue's "N concurrent jobs per process"). The baseline is pgbench (-M prepared) with
as many clients, each looping over the same two statements: claim one job, complete it.

Runner and pgbench alternate run by run (which goes first alternates by round); the ratio is taken
per round and the median reported. Prints a table and writes benchmarks/results/job_queue.json.

    .venv/bin/python benchmarks/job_queue.py [--duration 3] [--rounds 3] [--workers 1,4] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import fresh_database, make_bench_engine, median_ratio, pgbench_run, save_report

from spikeland.db.engine import make_sessionmaker
from spikeland.images import queue as image_queue
from spikeland.worker.runner import Claimed, Runner

BACKLOG = 40_000  # PENDING jobs before each run: more than any run here completes


def pgbench_script(queue: image_queue.EnhancementQueue) -> str:
    """The queue's own claim and completion statements, with pgbench variables for the parameters."""
    complete = queue.update_sql(("currentStage", "errorMessage"), ("processingCompletedAt",), "COMPLETED")
    for number, value in ((4, "NULL::text"), (3, "NULL::text"), (2, ":retryCount"), (1, ":id")):
        complete = complete.replace(f"${number}", value)
    claim = " ".join(queue.claim_sql(1).split()) + " \\gset"
    return claim + "\n" + " ".join(complete.split()) + ";\n"


async def setup(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """INSERT INTO users (id, email, "updatedAt") VALUES ('bench', 'bench@example.com', now())"""
            )
        )
        await conn.execute(
            text(
                """INSERT INTO enhanced_images (id, "userId", name, "originalUrl", "originalR2Key",
                "originalWidth", "originalHeight", "originalSizeBytes", "originalFormat", "updatedAt")
                VALUES ('bench-image', 'bench', 'b.jpg', '-', '-', 1, 1, 1, 'jpeg', now())"""
            )
        )


async def refill(engine: AsyncEngine) -> None:
    """Top the backlog up to BACKLOG pending jobs (and keep the table's statistics current)."""
    async with engine.begin() as conn:
        pending = await conn.scalar(
            text("SELECT count(*) FROM image_enhancement_jobs WHERE status = 'PENDING'")
        )
        await conn.execute(
            text(
                """INSERT INTO image_enhancement_jobs (id, "imageId", "userId", tier, "tokensCost", status,
                "updatedAt") SELECT gen_random_uuid()::text, 'bench-image', 'bench', 'FREE', 0, 'PENDING',
                now() at time zone 'utc' FROM generate_series(1, :n)"""
            ),
            {"n": max(0, BACKLOG - int(pending or 0))},
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE image_enhancement_jobs"))


async def completed(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM image_enhancement_jobs WHERE status = 'COMPLETED'")
        )
    return int(count or 0)


async def no_op(queue: image_queue.EnhancementQueue, job: Claimed) -> None:
    await queue.complete(job)


def no_op_queue(engine: AsyncEngine) -> image_queue.EnhancementQueue:
    """The image queue with a stage that does nothing but complete the job."""
    return image_queue.EnhancementQueue(engine, make_sessionmaker(engine), no_op, retry_base=1)


async def runner_run(engine: AsyncEngine, workers: int, duration: float) -> dict[str, float]:
    queue = no_op_queue(engine)
    runner = Runner(engine, [queue], concurrency=workers, poll=1.0, lease=120, retry_base=1)
    before = await completed(engine)
    stop = asyncio.Event()
    cpu, started = time.process_time(), time.perf_counter()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(duration)
    stop.set()
    await task
    elapsed = time.perf_counter() - started
    done = await completed(engine) - before
    assert done == runner.stats.completed, (done, runner.stats)
    return {"tps": done / elapsed, "cpu": (time.process_time() - cpu) / elapsed}


def measure(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    worker_counts = [int(w) for w in args.workers.split(",")]
    script = tmp / "queue.sql"
    script.write_text(pgbench_script(no_op_queue(make_bench_engine(url, 1))))
    runs: dict[int, dict[str, list[dict[str, float]]]] = {}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
        engine = make_bench_engine(url, max(worker_counts) + 4)
        try:
            loop.run(setup(engine))
            loop.run(refill(engine))
            loop.run(runner_run(engine, max(worker_counts), 1.0))  # warm up both sides
            pgbench_run(url, script, max(worker_counts), 1)
            for round_ in range(args.rounds):
                for workers in worker_counts:
                    slot = runs.setdefault(workers, {"runner": [], "pgbench": []})
                    order = ["runner", "pgbench"] if round_ % 2 == 0 else ["pgbench", "runner"]
                    for which in order:
                        loop.run(refill(engine))
                        if which == "runner":
                            slot[which].append(loop.run(runner_run(engine, workers, args.duration)))
                        else:
                            slot[which].append(pgbench_run(url, script, workers, args.duration))
                    print(
                        f"  round {round_ + 1} workers {workers}: runner {slot['runner'][-1]['tps']:>6.0f}/s"
                        f"  pgbench {slot['pgbench'][-1]['tps']:>6.0f}/s",
                        flush=True,
                    )
        finally:
            loop.run(engine.dispose())
    results = {}
    for workers, slot in runs.items():
        runner_tps = [r["tps"] for r in slot["runner"]]
        pgbench_tps = [r["tps"] for r in slot["pgbench"]]
        ratio, ratios = median_ratio(runner_tps, pgbench_tps)
        results[str(workers)] = {
            "runner_tps": statistics.median(runner_tps),
            "pgbench_tps": statistics.median(pgbench_tps),
            "ratio": ratio,
            "ratios": ratios,
            "runner_cpu": statistics.median(r["cpu"] for r in slot["runner"]),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,4", help="comma-separated concurrent job slots")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--embedded", action="store_true", help="use the embedded server even if --server answers"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        print(f"database: {where}; {args.rounds} rounds of {args.duration:g} s per run", flush=True)
        results = measure(url, Path(tmp), args)

    print(f"\n{'workers':>7} {'runner/s':>9} {'pgbench/s':>10} {'ratio':>6}  per round   py cpu")
    for workers, row in results.items():
        print(
            f"{workers:>7} {row['runner_tps']:>9.0f} {row['pgbench_tps']:>10.0f} {row['ratio']:>6.2f}  "
            f"{' '.join(f'{r:.2f}' for r in row['ratios'])}   {row['runner_cpu']:.0%}"
        )
    print("target: runner >= 0.5 of pgbench at each worker count (issue 5)")
    print(f"machine load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    report = {"database": where, "duration_s": args.duration, "rounds": args.rounds, "results": results}
    save_report("job_queue", report, load_before)


if __name__ == "__main__":
    main()
