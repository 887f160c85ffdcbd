"""Requests/s of the ordinary reads (issue 13, "Fast by default") beside the floor and a peer.

The floor is the app's own ``GET /api/v1`` (no database); the peer is peer_app.py (FastAPI + an
asyncpg pool + Pydantic, one hand-written statement per request, no ORM) served by uvicorn in its own
process on the same database. The database holds one heavy user (500 images, 20 albums, 200 ledger
rows, half the images enhanced) and a public gallery (2,000 images of 100 other users), written by
populate.py. Each target is loaded for ``--duration`` seconds by loadgen.py (a separate process,
``--clients`` keep-alive connections); targets alternate round by round (the order reversed every other
round) and each rate is divided by the floor measured in the same round, the peer's also by its own
floor (``GET /floor``); the median over rounds counts.

Targets of issue 13: a 20-item list's ratio to the floor at least the peer's for a 20-item list (its
own list where it has one, else its own images list) to its floor; small and detail reads at least 0.4.
Of issue 15: the public merch catalogue (the seeded one, with variants) at least 0.5 of the floor.

    .venv/bin/python benchmarks/reads.py [--duration 3] [--rounds 3] [--clients 8] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from auth import free_port, running_server, wait_for_ok
from ledger import fresh_database, save_report
from loadgen import kind, load_process
from populate import Shape, create_api_key, fill

HEAVY = Shape(images=500, transactions=200, albums=20, public=0.2, jobs=0.5)
GALLERY = Shape(images=20, transactions=5, albums=3, public=1.0, jobs=0.5)
GALLERY_USERS = 100
SMALL_TARGET = 0.4
CATALOGUE_TARGET = 0.5  # issue 15: the public catalogue at least half the hello-world (the floor)

# name -> (server, path, API key, kind: floor | small | list, the peer's comparable list)
TARGETS: dict[str, tuple[str, str, bool, str, str]] = {
    "GET /api/v1 (floor)": ("app", "/api/v1", False, "floor", ""),
    "GET /health": ("app", "/health", False, "small", ""),
    "GET /api/v1/me": ("app", "/api/v1/me", True, "small", ""),
    "GET /api/v1/tokens/balance": ("app", "/api/v1/tokens/balance", True, "small", ""),
    "GET /api/v1/images/{id}": ("app", "/api/v1/images/{image}", True, "small", ""),
    "GET /api/v1/images?limit=20": ("app", "/api/v1/images?limit=20", True, "list", "peer /images"),
    "GET /api/v1/albums?limit=20": ("app", "/api/v1/albums?limit=20", True, "list", "peer /images"),
    "GET /api/v1/gallery/images?limit=20": (
        "app",
        "/api/v1/gallery/images?limit=20",
        False,
        "list",
        "peer /gallery/images",
    ),
    "GET /api/v1/tokens/transactions?limit=20": (
        "app",
        "/api/v1/tokens/transactions?limit=20",
        True,
        "list",
        "peer /images",
    ),
    "GET /api/v1/merch/products": (
        "app",
        "/api/v1/merch/products?includeVariants=true",
        False,
        "catalogue",
        "",
    ),
    "peer /floor": ("peer", "/floor", False, "floor", ""),
    "peer /tokens/balance": ("peer", "/tokens/balance", True, "peer", ""),
    "peer /images/{id}": ("peer", "/images/{image}", True, "peer", ""),
    "peer /images": ("peer", "/images?limit=20", True, "peer", ""),
    "peer /gallery/images": ("peer", "/gallery/images?limit=20", False, "peer", ""),
}


async def prepare(url: str) -> dict[str, str]:
    """The heavy user and the gallery; the heavy user's API key and newest image."""
    conn = await asyncpg.connect(url)
    try:
        shapes = [(0, HEAVY)] + [(i, GALLERY) for i in range(1, GALLERY_USERS + 1)]
        await fill(conn, shapes, seed=13)
        await conn.execute("VACUUM ANALYZE")
        heavy = await conn.fetchval("SELECT id FROM users WHERE email = 'user0@populate.example'")
        image = await conn.fetchval(
            'SELECT id FROM enhanced_images WHERE "userId" = $1 ORDER BY "createdAt" DESC LIMIT 1', heavy
        )
        return {"key": await create_api_key(conn, heavy), "image": image}
    finally:
        await conn.close()


@contextmanager
def running_peer(url: str) -> Iterator[str]:
    port = free_port()
    peer = Path(__file__).with_name("peer_app.py")
    proc = subprocess.Popen([sys.executable, str(peer), url, str(port)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_ok(proc, f"{base}/floor", seconds=60)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def run_target(
    bases: dict[str, str], name: str, values: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    server, path, auth, _, _ = TARGETS[name]
    headers = {"Authorization": "Bearer {key}"} if auth else {}
    done = load_process(
        bases[server], {name: kind("GET", path, headers=headers)}, [values] * args.clients, args.duration
    )
    result: dict[str, Any] = done["kinds"][name]
    if result["unexpected"]:
        raise RuntimeError(f"{name}: {result['unexpected_examples']}")
    return result


def measure(bases: dict[str, str], values: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    warm = argparse.Namespace(clients=args.clients, duration=0.5)
    for name in TARGETS:  # warm up: connections, prepared statements, caches
        run_target(bases, name, values, warm)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in TARGETS}
    for round_ in range(args.rounds):
        order = list(TARGETS) if round_ % 2 == 0 else list(reversed(TARGETS))
        for name in order:
            runs[name].append(run_target(bases, name, values, args))
        floor = runs["GET /api/v1 (floor)"][-1]["rps"]
        print(
            f"  round {round_ + 1}: floor {floor:.0f}/s, peer floor {runs['peer /floor'][-1]['rps']:.0f}/s",
            flush=True,
        )
    results = {}
    for name, rounds in runs.items():
        server = TARGETS[name][0]
        floors = runs["GET /api/v1 (floor)"]
        own = runs["peer /floor"] if server == "peer" else floors
        median = statistics.median(r["rps"] for r in rounds)
        chosen = min(rounds, key=lambda r: abs(r["rps"] - median))
        results[name] = {
            "rps": median,
            "p50_ms": chosen["p50_ms"],
            "p99_ms": chosen["p99_ms"],
            "ratio_to_floor": statistics.median(
                r["rps"] / f["rps"] for r, f in zip(rounds, floors, strict=True)
            ),
            "ratio_to_own_floor": statistics.median(
                r["rps"] / f["rps"] for r, f in zip(rounds, own, strict=True)
            ),
            "rps_runs": [round(r["rps"], 1) for r in rounds],
        }
    for name, row in results.items():
        _, _, _, group, peer = TARGETS[name]
        if group == "small":
            row["target"] = SMALL_TARGET
        elif group == "catalogue":
            row["target"] = CATALOGUE_TARGET
        elif group == "list":
            row["target"] = results[peer]["ratio_to_own_floor"]
        if "target" in row:
            row["meets_target"] = row["ratio_to_floor"] >= row["target"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
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
        values = asyncio.run(prepare(url))
        print(
            f"database: {where}; {args.rounds} rounds of {args.duration:g} s a target, {args.clients} clients"
        )
        with running_server(url, Path(tmp) / "data") as (app, _pid), running_peer(url) as peer:
            results = measure({"app": app, "peer": peer}, values, args)

    print(f"\n{'target':<42} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'/floor':>7} {'own':>6} {'target':>7}")
    for name, row in results.items():
        own = f"{row['ratio_to_own_floor']:>6.2f}" if TARGETS[name][0] == "peer" else f"{'':>6}"
        goal = ""
        if "target" in row:
            goal = f">= {row['target']:.2f} {'ok' if row['meets_target'] else 'MISS'}"
        print(
            f"{name:<42} {row['rps']:>7.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
            f"{row['ratio_to_floor']:>7.2f} {own} {goal:>7}"
        )
    print(f"machine load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    report = {
        "database": where,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "clients": args.clients,
        "data": {
            "heavy_user": HEAVY.__dict__,
            "gallery_users": GALLERY_USERS,
            "gallery_user": GALLERY.__dict__,
        },
        "results": results,
    }
    save_report("reads", report, load_before)


if __name__ == "__main__":
    main()
