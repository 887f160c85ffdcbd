"""Time from `spikeland serve` to the first 200 on /health, cold (new data dir) and warm.

Cold: a new SPIKELAND_DATA_DIR, so the embedded PostgreSQL runs initdb, then migrate and seed.
Warm: the same data dir again (server files exist, schema at head, seed is a no-op).
Prints a table and writes benchmarks/results/startup.json.

    .venv/bin/python benchmarks/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def time_to_first_200(data_dir: Path, timeout: float = 120.0) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    env |= {"SPIKELAND_DATA_DIR": str(data_dir), "SPIKELAND_LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeland", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
        raise TimeoutError("no 200 from /health")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp:
            Path(tmp).chmod(0o755)
            data_dir = Path(tmp) / "data"
            cold.append(time_to_first_200(data_dir))
            warm.append(time_to_first_200(data_dir))
    rows = [("cold (initdb, migrate, seed)", cold), ("warm (existing data dir)", warm)]
    print(f"{'start':<30} {'min s':>7} {'median s':>9} {'max s':>7}   runs={args.runs}")
    for name, values in rows:
        ordered = sorted(values)
        print(f"{name:<30} {ordered[0]:>7.2f} {ordered[len(ordered) // 2]:>9.2f} {ordered[-1]:>7.2f}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.json").write_text(json.dumps({"cold_s": cold, "warm_s": warm}, indent=2))


if __name__ == "__main__":
    main()
