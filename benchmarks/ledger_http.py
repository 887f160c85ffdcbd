"""Spends/s through ``POST /api/v1/tokens/spend`` on the real server, beside the pgbench baseline.

The server is ``python -m spikeland serve`` (uvicorn, one process, uvloop) on a fresh database (see
ledger.py for where). Each of the ``--clients`` load clients is one keep-alive connection holding
its own user's API key (``Authorization: Bearer``; a billion-token balance each) and sends one
spend after another, each with a new ``Idempotency-Key`` — the same idempotent path the service
benchmark takes. The load comes from a separate process: a small HTTP/1.1 client on raw asyncio
streams + uvloop (this file with ``--load``), far cheaper per request than httpx, so on this
two-core machine it leaves the server as much CPU as it can. The baseline is ledger.py's pgbench
script on the same database with the same client count; HTTP and pgbench alternate round by
round and the median of the per-round ratios is reported, then ``spikeland tokens verify`` runs.
Prints a table and writes benchmarks/results/ledger_http.json.

    .venv/bin/python benchmarks/ledger_http.py [--duration 3] [--rounds 3] [--clients 8] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from auth import running_server
from ledger import (
    create_users,
    fresh_database,
    make_bench_engine,
    median_ratio,
    pgbench_run,
    run_verify,
    save_report,
    write_script,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from spikeland.identity import api_keys

FIRST_USER = 2001  # user ids "2001", "2002", ...: one per load client (pgbench: 2001 + client_id)
PATH = "/api/v1/tokens/spend"
BODY = b'{"amount":1,"purpose":"enhancement"}'


# ----------------------------------------------------------------------------- the load generator


# name -> (method, path, sends the API key, body, expected status); all but "spend" only explain it
TARGETS: dict[str, tuple[str, str, bool, bytes, bytes]] = {
    "spend": ("POST", PATH, True, BODY, b"201"),
    "me": ("GET", "/api/v1/me", True, b"", b"200"),
    "health": ("GET", "/health", False, b"", b"200"),
    "index": ("GET", "/api/v1", False, b"", b"200"),
}
LAYERS = {
    "index": "GET /api/v1 (no database)",
    "health": "GET /health (session + SELECT 1)",
    "me": "GET /api/v1/me (+ API key auth)",
    "spend": "POST /api/v1/tokens/spend",
}


async def _client(
    host: str, port: int, target: str, key: str, index: int, deadline: float
) -> tuple[int, list[float]]:
    method, path, auth, body, expected = TARGETS[target]
    reader, writer = await asyncio.open_connection(host, port)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if auth:
        head += f"Authorization: Bearer {key}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    latencies: list[float] = []
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            unique = f"Idempotency-Key: lg-{index}-{len(latencies)}-{time.time_ns()}\r\n" if body else ""
            writer.write(f"{head}{unique}\r\n".encode() + body)
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            answer = await reader.readexactly(length)
            if headers[9:12] != expected:
                raise RuntimeError(f"{method} {path}: {headers[9:12].decode()} {answer[:300]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
    return len(latencies), latencies


async def _load(
    host: str, port: int, target: str, keys: list[str], duration: float, server_pid: int
) -> dict[str, Any]:
    # The server's CPU is read here, around the load itself: read around the whole subprocess it
    # would also count the seconds this process spends importing, with the server idle.
    server_user, server_sys = _cpu_seconds(server_pid)
    cpu, started = time.process_time(), time.perf_counter()
    done = await asyncio.gather(
        *(_client(host, port, target, key, i, started + duration) for i, key in enumerate(keys))
    )
    elapsed = time.perf_counter() - started
    user, sys_ = _cpu_seconds(server_pid)
    server_cpu = (user - server_user + sys_ - server_sys) / elapsed
    kernel_share = (sys_ - server_sys) / max(1e-9, user - server_user + sys_ - server_sys)
    latencies = sorted(t for _, times in done for t in times)
    tps = sum(n for n, _ in done) / elapsed
    return {
        "requests": len(latencies),
        "tps": tps,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "loadgen_cpu": (time.process_time() - cpu) / elapsed,
        "server_cpu": server_cpu,
        "server_cpu_us_per_request": server_cpu / tps * 1e6,
        "server_kernel_share": kernel_share,
    }


def load_process(
    base: str, pid: int, keys: list[str], duration: float, target: str = "spend"
) -> dict[str, Any]:
    """Run the load generator in its own process (one connection per key) against the server
    ``pid``; returns its JSON report."""
    host, port = base.removeprefix("http://").split(":")
    done = subprocess.run(
        [sys.executable, __file__, "--load", host, port, target, str(duration), str(pid)],
        input="\n".join(keys),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ----------------------------------------------------------------------------- the server


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's user and kernel CPU seconds so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick  # utime, stime


def start_py_spy(pid: int, seconds: float, out: str) -> subprocess.Popen[bytes]:
    """Sample the server's CPU (collapsed stacks, for flamegraph.pl or a quick tally)."""
    command = [str(Path(sys.prefix) / "bin/py-spy"), "record", "-p", str(pid), "-f", "raw", "-r", "200"]
    command += ["-d", str(round(seconds)), "-o", out]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def prepare(engine: AsyncEngine, clients: int) -> list[str]:
    """Users 2001.. with a big balance, and an API key for each (the secret is shown only here)."""
    ids = [str(FIRST_USER + i) for i in range(clients)]
    await create_users(engine, ids)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        return [(await api_keys.create_key(session, user_id, "bench")).secret for user_id in ids]


def http_run(
    base: str, pid: int, keys: list[str], duration: float, target: str = "spend", spy: str | None = None
) -> dict[str, Any]:
    """One load run, with the server's CPU share and CPU time per request."""
    sampler = start_py_spy(pid, duration, spy) if spy else None
    result = load_process(base, pid, keys, duration, target)
    if sampler is not None:
        sampler.wait(60)
    return result


def measure(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        engine = make_bench_engine(url, 2)
        try:
            keys = runner.run(prepare(engine, args.clients))
        finally:
            runner.run(engine.dispose())
    script = write_script(tmp, hot=False, first=FIRST_USER)
    runs: dict[str, list[dict[str, Any]]] = {"http": [], "pgbench": []}
    layers: dict[str, dict[str, Any]] = {}
    extra = dict(pair.split("=", 1) for pair in args.server_env)
    with running_server(url, tmp / "data", extra_env=extra) as (base, pid):
        for target in TARGETS:  # warm up: connections, prepared statements, caches
            load_process(base, pid, keys, 0.5, target)
        pgbench_run(url, script, args.clients, 1)
        for round_ in range(args.rounds):
            order = ["http", "pgbench"] if round_ % 2 == 0 else ["pgbench", "http"]
            for which in order:
                if which == "http":
                    spy = args.py_spy if round_ == 0 else None
                    runs["http"].append(http_run(base, pid, keys, args.duration, spy=spy))
                else:
                    runs["pgbench"].append(pgbench_run(url, script, args.clients, args.duration))
            http, pgb = runs["http"][-1], runs["pgbench"][-1]
            print(
                f"  round {round_ + 1}: HTTP {http['tps']:>6.0f}/s (server cpu {http['server_cpu']:.0%}, "
                f"load cpu {http['loadgen_cpu']:.0%})  pgbench {pgb['tps']:>6.0f}/s",
                flush=True,
            )
        if args.layers:  # what each layer of the request adds, in server CPU per request
            layers = {LAYERS[t]: http_run(base, pid, keys, args.duration, t) for t in LAYERS}
    http_tps = [r["tps"] for r in runs["http"]]
    pgbench_tps = [r["tps"] for r in runs["pgbench"]]
    ratio, ratios = median_ratio(http_tps, pgbench_tps)
    median_run = min(runs["http"], key=lambda r: abs(r["tps"] - statistics.median(http_tps)))
    return {
        "http_tps": statistics.median(http_tps),
        "pgbench_tps": statistics.median(pgbench_tps),
        "ratio": ratio,
        "ratios": ratios,
        "p50_ms": median_run["p50_ms"],
        "p99_ms": median_run["p99_ms"],
        "server_cpu": statistics.median(r["server_cpu"] for r in runs["http"]),
        "server_cpu_us_per_request": statistics.median(r["server_cpu_us_per_request"] for r in runs["http"]),
        "loadgen_cpu": statistics.median(r["loadgen_cpu"] for r in runs["http"]),
        "http_runs": [round(t, 1) for t in http_tps],
        "pgbench_runs": [round(t, 1) for t in pgbench_tps],
        "layers": layers,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":  # the load-generator process
        host, port, target, duration = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
        keys = sys.stdin.read().split()
        print(json.dumps(uvloop.run(_load(host, port, target, keys, duration, int(sys.argv[6])))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--no-layers", dest="layers", action="store_false", help="skip the per-layer CPU breakdown"
    )
    parser.add_argument("--py-spy", metavar="FILE", help="py-spy the server in round 1 (collapsed stacks)")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server (SPIKELAND_REQUEST_METRICS=false: without the request metrics)",
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
        print(
            f"database: {where}; {args.rounds} rounds of {args.duration:g} s, {args.clients} clients",
            flush=True,
        )
        result = measure(url, Path(tmp), args)
        verified = run_verify(url)

    print(f"\n{'':<24} {'spends/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
    latency = f"{result['p50_ms']:>7.2f} {result['p99_ms']:>7.2f}"
    print(f"{'POST /tokens/spend':<24} {result['http_tps']:>9.0f} {latency}")
    print(f"{'pgbench (same tx)':<24} {result['pgbench_tps']:>9.0f}")
    ratios = " ".join(f"{r:.2f}" for r in result["ratios"])
    print(f"ratio HTTP / pgbench: {result['ratio']:.2f} (per round {ratios}); target >= 0.3")
    print(
        f"server CPU {result['server_cpu']:.0%} ({result['server_cpu_us_per_request']:.0f} us per spend), "
        f"load generator CPU {result['loadgen_cpu']:.0%}"
    )
    if result["layers"]:
        columns = f"{'req/s':>7} {'server cpu':>10} {'us/req':>7} {'kernel':>7}"
        print(f"\n{'server CPU per request, by layer':<36} {columns}")
        for name, row in result["layers"].items():
            cost = f"{row['server_cpu']:>10.0%} {row['server_cpu_us_per_request']:>7.0f}"
            cost += f" {row['server_kernel_share']:>7.0%}"
            print(f"{name:<36} {row['tps']:>7.0f} {cost}")
    print(f"tokens verify (exit {verified['exit_code']}): {verified['output']}")
    print(f"machine load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    report = {
        "database": where,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "clients": args.clients,
        "load_generator": "raw asyncio HTTP/1.1 keep-alive client (uvloop), one connection per client",
        "result": result,
        "verify": verified,
    }
    save_report("ledger_http", report, load_before)


if __name__ == "__main__":
    main()
