"""Requests/s of authenticated ``GET /api/v1/me`` (session cookie, API key) beside ``/health``.

Starts the real server (``python -m spikeland serve``) on a free loopback port against a fresh
database — on the PostgreSQL at ``--server`` when it answers (default
postgresql://postgres@127.0.0.1:5432), else the embedded one in a temporary directory — creates
a user, logs in, creates an API key, then drives each endpoint with concurrent keep-alive httpx
clients. Endpoints are measured in interleaved rounds so drift hits them alike; the median round
counts. ``GET /api/v1`` (no database) is measured too, as the ceiling of server + client.
Prints a table and writes benchmarks/results/auth.json.

    .venv/bin/python benchmarks/auth.py [--requests 4000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from ledger import fresh_database, save_report

PASSWORD = "benchmark password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a benchmarked server runs with (this process's, without its SPIKELAND_ ones)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env |= {
        "SPIKELAND_DATABASE_URL": database_url,
        "SPIKELAND_DATA_DIR": str(data_dir),
        "SPIKELAND_LOG_LEVEL": "WARNING",  # no access log line per request
        "SPIKELAND_COOKIE_SECURE": "false",  # plain http on loopback
        "SPIKELAND_BCRYPT_COST": "4",  # only sign-up and login hash; the measured paths do not
    }
    return env | (extra_env or {})


@contextmanager
def running_server(
    database_url: str, data_dir: Path, wrapper: Sequence[str] = (), extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``spikeland serve`` on a free loopback port, until the block ends; yields (base URL, pid).

    ``wrapper``: a command the server runs under (``valgrind ...``: the pid is the wrapper's, which
    under valgrind is the server's own)."""
    port = free_port()
    env = server_env(database_url, data_dir, extra_env)
    proc = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "spikeland", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_ok(proc, f"{base}/health", seconds=600 if wrapper else 120, timeout=30 if wrapper else 1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def wait_for_ok(proc: subprocess.Popen[bytes], url: str, seconds: float, timeout: float = 1) -> None:
    """Until ``url`` answers 200; raises when ``proc`` exits first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=timeout).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no 200 from {url}")
        time.sleep(0.05)


async def credentials(base: str, database_url: str) -> tuple[str, str]:
    """A session cookie value and an API key for a new user."""
    email = f"bench-{secrets.token_hex(4)}@example.com"
    async with httpx.AsyncClient(base_url=base) as client:
        signup = await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        signup.raise_for_status()
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        cookie = login.cookies["spikeland_session"]
        created = await client.post(
            "/api/v1/api-keys", json={"name": "bench"}, cookies={"spikeland_session": cookie}
        )
        if created.status_code == 201:
            return cookie, str(created.json()["key"])
    # No key endpoint in this build: store a key the way the service does (only its digest).
    from spikeland.core.security import digest

    key = "sk_live_" + secrets.token_urlsafe(32)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            'INSERT INTO api_keys (id, "userId", name, "keyHash", "keyPrefix", "updatedAt") '
            "VALUES ($1, $2, 'bench', $3, $4, now() at time zone 'utc')",
            "c" + secrets.token_hex(12),
            signup.json()["id"],
            digest(key),
            key[:12],
        )
    finally:
        await conn.close()
    return cookie, key


async def drive(
    base: str, path: str, headers: dict[str, str], total: int, concurrency: int
) -> dict[str, Any]:
    """``total`` GETs split over ``concurrency`` keep-alive clients; requests/s and latencies."""
    latencies: list[float] = []

    async def worker(count: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            for _ in range(count):
                start = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

    share, extra = divmod(total, concurrency)
    started = time.perf_counter()
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": total / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


async def measure(base: str, cookie: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    targets = {
        "GET /api/v1 (no database)": ("/api/v1", {}),
        "GET /health": ("/health", {}),
        "GET /api/v1/me (cookie)": ("/api/v1/me", {"Cookie": f"spikeland_session={cookie}"}),
        "GET /api/v1/me (API key)": ("/api/v1/me", {"Authorization": f"Bearer {key}"}),
    }
    for path, headers in targets.values():  # warm up: connections, prepared statements, caches
        await drive(base, path, headers, max(200, args.requests // 10), args.concurrency)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, (path, headers) in targets.items():
            rounds[name].append(await drive(base, path, headers, args.requests, args.concurrency))
    results = {}
    for name, runs in rounds.items():
        median = statistics.median(run["rps"] for run in runs)
        chosen = min(runs, key=lambda run: abs(run["rps"] - median))
        results[name] = {**chosen, "rps_runs": [round(run["rps"], 1) for run in runs]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000, help="requests per endpoint per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, False, Path(tmp)) as (url, where),
        running_server(url, Path(tmp) / "data") as (base, _pid),
    ):
        cookie, key = asyncio.run(credentials(base, url))
        results = asyncio.run(measure(base, cookie, key, args))

    health = results["GET /health"]["rps"]
    print(f"database: {where}; {args.requests} requests x {args.rounds} rounds, {args.concurrency} clients")
    print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'/health':>8}")
    for name, row in results.items():
        ratio = row["rps"] / health
        print(f"{name:<28} {row['rps']:>8.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {ratio:>8.2f}")
    report = {
        "database": where,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "results": results,
        "ratios_to_health": {
            "me_cookie": results["GET /api/v1/me (cookie)"]["rps"] / health,
            "me_api_key": results["GET /api/v1/me (API key)"]["rps"] / health,
        },
    }
    save_report("auth", report)


if __name__ == "__main__":
    main()
