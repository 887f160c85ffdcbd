"""A mix of the common reads and writes on ``spikeland serve`` (issue 13): latency, errors, memory.

``--clients`` keep-alive connections (loadgen.py, a separate process), each as its own user (API key;
a password for sign-in), send for ``--duration`` seconds a weighted random mix: list their images,
read their balance, read one image, the public gallery, create an album, spend a token (a new
``Idempotency-Key`` each), upload a small PNG, enhance an image (paid and queued) and sign in.

The jobs the enhancements queue are not run during the load unless ``--worker``: the local imaging
adapter (Pillow standing in for Gemini) spends ~150 ms of CPU on each 1K enhancement, on the same two
cores as the server, PostgreSQL and the load generator; in production that work is Gemini's, and
the job runner is its own process (``spikeland worker``). With ``--worker`` the server's in-process
runner does them, as ``spikeland serve`` does by default. The database holds those users
(50 images each) and a public gallery, written by populate.py.

Reported: requests/s overall and per kind, p50/p95/p99, any status a kind does not expect (a 429
counts: the rate limits are raised for the run, so none should appear), and the server's memory
(VmRSS before, VmHWM and VmRSS after, from /proc/<pid>/status), beside the issue's targets: p99 under
100 ms, no errors, peak RSS under 250 MB. ``spikeland tokens verify`` runs afterwards.

    .venv/bin/python benchmarks/mixed.py [--duration 10] [--clients 32] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import bcrypt
import httpx
from auth import PASSWORD, free_port, running_server, server_env, wait_for_ok
from ledger import fresh_database, run_verify, save_report
from loadgen import kind, load_process
from PIL import Image
from populate import Shape, create_api_key, fill

CLIENT_USER = Shape(images=50, transactions=20, albums=3)
GALLERY_USER = Shape(images=20, transactions=5, public=1.0, jobs=0.5)
GALLERY_USERS = 100
BOUNDARY = "spikelandbenchboundary"
TARGETS = {"p99_ms": 100.0, "errors": 0, "peak_rss_mb": 250.0}
LIMITS = {  # high enough that the mix is never rate-limited: the run measures the work, not the limits
    "SPIKELAND_UPLOADS_PER_MINUTE": "1000000",
    "SPIKELAND_ENHANCEMENTS_PER_MINUTE": "1000000",
    "SPIKELAND_LOGIN_ATTEMPTS_PER_EMAIL": "1000000",
    "SPIKELAND_LOGIN_ATTEMPTS_PER_IP": "1000000",
}


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def multipart(png: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + png
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def kinds(png: bytes) -> dict[str, dict[str, Any]]:
    key = {"Authorization": "Bearer {key}"}
    json_key = {**key, "Content-Type": "application/json"}
    return {
        "list images": kind("GET", "/api/v1/images?limit=20", headers=key, weight=25),
        "balance": kind("GET", "/api/v1/tokens/balance", headers=key, weight=20),
        "get image": kind("GET", "/api/v1/images/{image}", headers=key, weight=20),
        "gallery": kind("GET", "/api/v1/gallery/images?limit=20", weight=10),
        "create album": kind(
            "POST", "/api/v1/albums", headers=json_key, body='{"name":"Album {n}"}', expect=(201,), weight=5
        ),
        "spend": kind(
            "POST",
            "/api/v1/tokens/spend",
            headers={**json_key, "Idempotency-Key": "mixed-{n}"},
            body='{"amount":1,"purpose":"enhancement"}',
            expect=(201,),
            weight=8,
        ),
        "upload": kind(
            "POST",
            "/api/v1/images",
            headers={**key, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            body=multipart(png),
            expect=(201,),
            weight=4,
        ),
        "enhance": kind(
            "POST",
            "/api/v1/images/{image}/enhance",
            headers=json_key,
            body='{"tier":"TIER_1K"}',
            expect=(202,),
            weight=1,
        ),
        "sign in": kind(
            "POST",
            "/api/v1/auth/login",
            headers={"Content-Type": "application/json"},
            body='{"email":"{email}","password":"' + PASSWORD + '"}',
            weight=5,
        ),
    }


async def prepare(url: str, clients: int) -> list[dict[str, str]]:
    """The client users (a password, an API key each) and the gallery; each client's values."""
    conn = await asyncpg.connect(url)
    try:
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        await fill(conn, [(i, CLIENT_USER) for i in range(clients)], seed=7, password_hash=hashed)
        await fill(conn, [(1000 + i, GALLERY_USER) for i in range(GALLERY_USERS)], seed=8)
        await conn.execute("VACUUM ANALYZE")
        values = []
        for i in range(clients):
            email = f"user{i}@populate.example"
            user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
            values.append({"email": email, "key": await create_api_key(conn, user_id)})
        return values
    finally:
        await conn.close()


def upload_one(base: str, values: dict[str, str], png: bytes) -> None:
    """A real image of the client's (the populated ones have no files), to read and enhance."""
    answer = httpx.post(
        f"{base}/api/v1/images",
        headers={"Authorization": f"Bearer {values['key']}"},
        files={"file": ("bench.png", png, "image/png")},
        timeout=30,
    )
    answer.raise_for_status()
    values["image"] = answer.json()["id"]


@contextmanager
def running_processes(
    database_url: str, data_dir: Path, processes: int, env_extra: dict[str, str]
) -> Iterator[str]:
    """An experiment beside ``spikeland serve`` (one process): uvicorn's own multi-process server
    on the app factory, ``processes`` workers, after ``spikeland seed``; yields the base URL."""
    env = server_env(database_url, data_dir, env_extra)
    subprocess.run([sys.executable, "-m", "spikeland", "seed"], env=env, check=True, capture_output=True)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "spikeland.app:create_app", "--factory"]
    command += ["--workers", str(processes), "--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_ok(proc, f"{base}/health", seconds=120)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def memory(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--worker", action="store_true", help="run the queued enhancements in the server's process"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="an experiment: N uvicorn worker processes on the app factory instead of `spikeland serve`",
    )
    parser.add_argument(
        "--max-active",
        type=int,
        help="the server's SPIKELAND_MAX_ACTIVE_REQUESTS (core.admission; 0: no line); default: its setting",
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--embedded", action="store_true", help="use the embedded server even if --server answers"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    png = small_png()
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        values = asyncio.run(prepare(url, args.clients))
        env = {**LIMITS, "SPIKELAND_WORKER_IN_PROCESS": "true" if args.worker else "false"}
        if args.max_active is not None:
            env["SPIKELAND_MAX_ACTIVE_REQUESTS"] = str(args.max_active)
        if args.processes > 1:  # no single pid to read the memory of
            with running_processes(url, Path(tmp) / "data", args.processes, env) as base:
                for client in values:
                    upload_one(base, client, png)
                result = load_process(base, kinds(png), values, args.duration)
            before = after = {"VmRSS": float("nan"), "VmHWM": float("nan")}
        else:
            with running_server(url, Path(tmp) / "data", extra_env=env) as (base, pid):
                for client in values:
                    upload_one(base, client, png)
                before = memory(pid)
                result = load_process(base, kinds(png), values, args.duration)
                after = memory(pid)
        verified = run_verify(url)

    worker = "jobs run in the server's process" if args.worker else "jobs queued, not run"
    served = f"{args.processes} uvicorn processes" if args.processes > 1 else "spikeland serve"
    line = "the setting's" if args.max_active is None else args.max_active
    print(f"database: {where}; {served}; {args.clients} clients for {args.duration:g} s; {worker}")
    print(f"line (max active requests): {line}")
    print(f"\n{'kind':<14} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>7}")
    for name, row in [
        *result["kinds"].items(),
        ("overall", {**result["overall"], "unexpected": result["unexpected"]}),
    ]:
        print(
            f"{name:<14} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['unexpected']:>7}"
        )
        for example in row.get("unexpected_examples", [])[:2]:
            print(f"{'':<14} {example[:120]}")
    peak = after["VmHWM"]
    print(
        f"\ntargets: p99 {result['overall']['p99_ms']:.1f} ms (< {TARGETS['p99_ms']:g}), "
        f"errors {result['unexpected']} (= 0), peak RSS {peak:.0f} MB (< {TARGETS['peak_rss_mb']:g}; "
        f"{before['VmRSS']:.0f} MB before the load, {after['VmRSS']:.0f} MB after)"
    )
    print(f"load generator CPU {result['loadgen_cpu']:.0%}; tokens verify (exit {verified['exit_code']})")
    print(f"machine load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    report = {
        "database": where,
        "duration_s": args.duration,
        "clients": args.clients,
        "worker_in_process": args.worker,
        "processes": args.processes,
        "max_active": args.max_active,
        "result": result,
        "server_memory_mb": {"rss_before": before["VmRSS"], "peak": peak, "rss_after": after["VmRSS"]},
        "targets": TARGETS,
        "verify": verified,
    }
    save_report("mixed", report, load_before)


if __name__ == "__main__":
    main()
