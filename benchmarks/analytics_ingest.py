"""Page-view ingest (issue 16): ``POST /api/v1/analytics/pageviews`` requests/s beside the app's
hello-world (``GET /api/v1``, no database) in the same rounds; the issue's target is at least 0.5.

Each load client has its own visitor session (made before the load) and sends page views of it over
one keep-alive connection (loadgen.py), so the figure is the ingest path — bounded body, validation,
the session's row lock, the previous page view's time on page, the insert, the commit — not waits on
one shared row. The per-IP analytics budget is lifted for the run (one address sends everything).

    .venv/bin/python benchmarks/analytics_ingest.py [--duration 3] [--rounds 3] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from auth import running_server
from ledger import fresh_database, save_report
from loadgen import kind, load_process

TARGET = 0.5
FLOOR = "GET /api/v1 (floor)"
INGEST = "POST /api/v1/analytics/pageviews"


def _sessions(base: str, count: int) -> list[dict[str, str]]:
    with httpx.Client(base_url=base) as client:
        made = [
            client.post("/api/v1/analytics/sessions", json={"landingPage": "/", "consent": False})
            for _ in range(count)
        ]
    return [{"sid": answer.json()["sessionId"]} for answer in made]


def _run(base: str, name: str, clients: list[dict[str, str]], duration: float) -> dict[str, Any]:
    if name == FLOOR:
        plan = {name: kind("GET", "/api/v1")}
    else:
        body = '{"sessionId": "{sid}", "path": "/page/{n}", "scrollDepth": 50}'
        headers = {"Content-Type": "application/json"}
        plan = {name: kind("POST", "/api/v1/analytics/pageviews", headers=headers, body=body, expect=(201,))}
    done = load_process(base, plan, clients, duration)
    result: dict[str, Any] = done["kinds"][name]
    if result["unexpected"]:
        raise RuntimeError(f"{name}: {result['unexpected_examples']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, args.embedded, Path(tmp)) as (url, where),
        running_server(
            url, Path(tmp) / "data", extra_env={"SPIKELAND_ANALYTICS_REQUESTS_PER_MINUTE": "1000000000"}
        ) as (base, _pid),
    ):
        clients = _sessions(base, args.clients)
        print(f"database: {where}; {args.rounds} rounds of {args.duration:g} s, {args.clients} clients")
        for name in (FLOOR, INGEST):  # warm up
            _run(base, name, clients, 0.5)
        runs: dict[str, list[dict[str, Any]]] = {FLOOR: [], INGEST: []}
        for round_ in range(args.rounds):
            for name in (FLOOR, INGEST) if round_ % 2 == 0 else (INGEST, FLOOR):
                runs[name].append(_run(base, name, clients, args.duration))
            floor, ingest = runs[FLOOR][-1]["rps"], runs[INGEST][-1]["rps"]
            print(f"  round {round_ + 1}: floor {floor:.0f}/s, ingest {ingest:.0f}/s")
    ratio = statistics.median(i["rps"] / f["rps"] for i, f in zip(runs[INGEST], runs[FLOOR], strict=True))
    rows = {
        name: {
            "rps": statistics.median(r["rps"] for r in rounds),
            "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        }
        for name, rounds in runs.items()
    }
    for name, row in rows.items():
        print(f"{name:<36} {row['rps']:>8.0f} req/s   p99 {row['p99_ms']:.2f} ms")
    verdict = "ok" if ratio >= TARGET else "MISS"
    print(f"ingest / floor: {ratio:.2f} (target >= {TARGET}: {verdict})")
    save_report(
        "analytics_ingest",
        {"rows": rows, "ratio": ratio, "target": TARGET, "clients": args.clients},
        load_before,
    )


if __name__ == "__main__":
    main()
