"""Instructions the server executes per request, counted by callgrind: a figure that does not move
with the machine's load, for comparing two versions of a hot path (the timing benchmarks on this
shared two-core machine move by ±10 % between runs).

The server is ``spikeland serve`` under ``valgrind --tool=callgrind`` with collection off until the
load starts; one load client (ledger_http.py's, one keep-alive connection) sends the target's
requests for ``--duration`` seconds, collection is dumped, and the instructions are divided by the
requests answered. Everything the process executes while collecting counts (the in-process worker's
idle polling included: a few thousand instructions a second, noise here).

    .venv/bin/python benchmarks/instructions.py [--targets spend,me,health,index] [--duration 20]

Read targets (``READS``: a 20-item list with the API key, the anonymous gallery, an image's detail,
the balance, the public merch catalogue) run on reads.py's data (its heavy user and public
gallery), sent by loadgen.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvloop
from auth import running_server
from ledger import fresh_database, make_bench_engine, save_report
from ledger_http import LAYERS, load_process, prepare
from loadgen import kind
from loadgen import load_process as plan_process
from reads import prepare as prepare_reads

# name -> (path, sends the heavy user's API key); ``{image}`` is the heavy user's newest image
READS: dict[str, tuple[str, bool]] = {
    "balance": ("/api/v1/tokens/balance", True),
    "image": ("/api/v1/images/{image}", True),
    "images": ("/api/v1/images?limit=20", True),
    "gallery": ("/api/v1/gallery/images?limit=20", False),
    "catalogue": ("/api/v1/merch/products?includeVariants=true", False),
}
CALLGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=no"]


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def _newest_dump(out: Path) -> Path:
    """The newest dump of ``out`` (``callgrind.out.N``)."""
    return max(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))


def _dumped(out: Path) -> int:
    """Instructions in the newest dump."""
    text = _newest_dump(out).read_text(errors="replace")
    found = re.search(r"^totals: (\d+)", text, re.M)
    if found is None:
        raise RuntimeError(f"no totals in {_newest_dump(out)}")
    return int(found.group(1))


def _load(base: str, pid: int, keys: list[str], values: dict[str, str], duration: float, target: str) -> int:
    """Requests answered by one client sending ``target`` for ``duration`` seconds."""
    if target not in READS:
        requests: int = load_process(base, pid, keys, duration, target)["requests"]
        return requests
    path, auth = READS[target]
    headers = {"Authorization": "Bearer {key}"} if auth else {}
    done = plan_process(base, {target: kind("GET", path, headers=headers)}, [values], duration)
    if done["unexpected"]:
        raise RuntimeError(f"{target}: {done['kinds'][target]['unexpected_examples']}")
    requests = done["kinds"][target]["requests"]
    return requests


def measure(url: str, tmp: Path, targets: list[str], duration: float, keep: Path | None) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        engine = make_bench_engine(url, 2)
        try:
            keys = runner.run(prepare(engine, 1))
        finally:
            runner.run(engine.dispose())
        values = runner.run(prepare_reads(url)) if set(targets) & set(READS) else {}
    out = tmp / "callgrind.out"
    wrapper = [*CALLGRIND, f"--callgrind-out-file={out}"]
    results: dict[str, Any] = {}
    env = {"SPIKELAND_WORKER_IN_PROCESS": "false"}  # the runner's polling would count too
    with running_server(url, tmp / "data", wrapper, env) as (base, pid):
        for target in targets:
            _load(base, pid, keys, values, 2, target)  # warm: caches, prepared statements
            _control("--zero", str(pid))
            _control("--instr=on", str(pid))
            requests = _load(base, pid, keys, values, duration, target)
            _control("--instr=off", str(pid))
            _control("--dump", str(pid))
            instructions = _dumped(out)
            if keep is not None:  # for callgrind_annotate
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(_newest_dump(out), keep / f"{target}.callgrind")
            results[target] = {
                "requests": requests,
                "instructions_per_request": instructions / requests,
            }
            per_request = instructions / requests / 1e6
            label = LAYERS.get(target) or f"GET {READS[target][0]}"
            print(
                f"  {label:<36} {requests:>6} requests {per_request:>7.3f} M instr/request",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", default="spend,me,health,index")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per target")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--keep", type=Path, help="copy each target's callgrind dump into this directory")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt install valgrind)")
    targets = args.targets.split(",")
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
    ):
        print(f"database: {where}; callgrind, one client, {args.duration:g} s per target", flush=True)
        results = measure(url, Path(tmp), targets, args.duration, args.keep)
    save_report("instructions", {"database": where, "duration_s": args.duration, "results": results})


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
