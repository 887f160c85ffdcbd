"""Instructions the server executes per request, counted by callgrind: a figure that does not move
with the machine's load, for comparing two versions of a hot path (the timing benchmarks on this
shared two-core machine move by ±10 % between runs).

The server is ``spikeland serve`` under ``valgrind --tool=callgrind`` with collection off until the
load starts; one load client (ledger_http.py's, one keep-alive connection) sends the target's
requests for ``--duration`` seconds, collection is dumped, and the instructions are divided by the
requests answered. Everything the process executes while collecting counts (the in-process worker's
idle polling included: a few thousand instructions a second, noise here).

    .venv/bin/python benchmarks/instructions.py [--targets spend,me,health,index] [--duration 20]
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


def measure(url: str, tmp: Path, targets: list[str], duration: float, keep: Path | None) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        engine = make_bench_engine(url, 2)
        try:
            keys = runner.run(prepare(engine, 1))
        finally:
            runner.run(engine.dispose())
    out = tmp / "callgrind.out"
    wrapper = [*CALLGRIND, f"--callgrind-out-file={out}"]
    results: dict[str, Any] = {}
    env = {"SPIKELAND_WORKER_IN_PROCESS": "false"}  # the runner's polling would count too
    with running_server(url, tmp / "data", wrapper, env) as (base, pid):
        for target in targets:
            load_process(base, pid, keys, 2, target)  # warm: caches, prepared statements
            _control("--zero", str(pid))
            _control("--instr=on", str(pid))
            requests = load_process(base, pid, keys, duration, target)["requests"]
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
            print(
                f"  {LAYERS[target]:<36} {requests:>6} requests {per_request:>7.3f} M instr/request",
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
