"""A load generator for any mix of HTTP requests, run as a separate process (reads.py, mixed.py).

ledger_http.py's client drives one fixed request; this one takes a *plan*: per client, the kinds of
request it may send (method, path, headers, body, the statuses that count as success, a weight) and
the values substituted into them (``{key}``, ``{image}``, ``{n}``: a number new for every request).
Each client is one keep-alive HTTP/1.1 connection on raw asyncio streams + uvloop (far cheaper per
request than httpx, so on a two-core machine the server keeps as much CPU as it can) and picks each
request's kind at random by weight. Results per kind: count, latencies, statuses, unexpected ones.

    load_process(base, plan, duration) -> report       # from a benchmark
    .venv/bin/python benchmarks/loadgen.py --load HOST PORT DURATION < plan.json   # what it runs
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop


def kind(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str = b"",
    expect: tuple[int, ...] = (200,),
    weight: float = 1.0,
) -> dict[str, Any]:
    """One kind of request of a plan; ``{name}`` in the path, headers and a text body is replaced
    by the client's value of that name (``{n}``: a number new for every request)."""
    text = body if isinstance(body, str) else None
    raw = base64.b64encode(body).decode() if isinstance(body, bytes) else ""
    return {
        "method": method,
        "path": path,
        "headers": headers or {},
        "text": text,
        "raw": raw,
        "expect": list(expect),
        "weight": weight,
    }


def _fill(template: str, values: dict[str, str], n: int) -> str:
    if "{" not in template:
        return template
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template.replace("{n}", str(n))


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, the server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if not chunked:
        return status, await reader.readexactly(length), close
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        parts.append(await reader.readexactly(size + 2))
        if size == 0:
            return status, b"".join(parts), close


async def _client(
    host: str, port: int, kinds: list[dict[str, Any]], values: dict[str, str], index: int, deadline: float
) -> dict[str, _Tally]:
    tallies = {k["name"]: _Tally() for k in kinds}
    chooser = random.Random(index)
    weights = [k["weight"] for k in kinds]
    bodies = [base64.b64decode(k["raw"]) for k in kinds]
    counter = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            which = chooser.choices(range(len(kinds)), weights)[0] if len(kinds) > 1 else 0
            spec, tally = kinds[which], tallies[kinds[which]["name"]]
            counter += 1
            n = index * 10_000_000 + counter
            body = _fill(spec["text"], values, n).encode() if spec["text"] is not None else bodies[which]
            head = f"{spec['method']} {_fill(spec['path'], values, n)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            for name, value in spec["headers"].items():
                head += f"{name}: {_fill(value, values, n)}\r\n"
            if body or spec["method"] in ("POST", "PUT", "PATCH"):
                head += f"Content-Length: {len(body)}\r\n"
            started = time.perf_counter()
            writer.write(head.encode() + b"\r\n" + body)
            status, answer, close = await _read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
            if status not in spec["expect"] and len(tally.unexpected) < 5:
                tally.unexpected.append(f"{status} {answer[:300]!r}")
            if close:  # e.g. after some errors: open a new connection as a browser would
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()
    return tallies


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share) - 1))] * 1000 if ordered else 0.0


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": len(ordered) / elapsed,
        "p50_ms": _percentile(ordered, 0.50),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
    }


async def _load(host: str, port: int, plan: dict[str, Any], duration: float) -> dict[str, Any]:
    started = time.perf_counter()
    cpu = time.process_time()
    clients = [
        _client(host, port, plan["kinds"], values, i, started + duration)
        for i, values in enumerate(plan["clients"])
    ]
    done = await asyncio.gather(*clients)
    elapsed = time.perf_counter() - started
    kinds: dict[str, Any] = {}
    for spec in plan["kinds"]:
        name = spec["name"]
        tallies = [client[name] for client in done]
        statuses: dict[str, int] = {}
        for tally in tallies:
            for code, count in tally.statuses.items():
                statuses[code] = statuses.get(code, 0) + count
        unexpected = sum(count for code, count in statuses.items() if int(code) not in spec["expect"])
        kinds[name] = {
            **summary([t for tally in tallies for t in tally.latencies], elapsed),
            "statuses": statuses,
            "unexpected": unexpected,
            "unexpected_examples": [e for tally in tallies for e in tally.unexpected][:5],
        }
    return {
        "elapsed_s": elapsed,
        "loadgen_cpu": (time.process_time() - cpu) / elapsed,
        "overall": summary(
            [t for client in done for tally in client.values() for t in tally.latencies], elapsed
        ),
        "unexpected": sum(k["unexpected"] for k in kinds.values()),
        "kinds": kinds,
    }


def load_process(
    base: str, kinds: dict[str, dict[str, Any]], clients: list[dict[str, str]], duration: float
) -> dict[str, Any]:
    """Run ``kinds`` (name -> ``kind(...)``) from ``len(clients)`` connections for ``duration``
    seconds in a separate process; ``clients`` holds each connection's substituted values."""
    host, port = base.removeprefix("http://").split(":")
    plan = {"kinds": [{"name": name, **spec} for name, spec in kinds.items()], "clients": clients}
    done = subprocess.run(
        [sys.executable, __file__, "--load", host, port, str(duration)],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "--load":
        sys.exit(__doc__)
    plan = json.loads(sys.stdin.read())
    print(json.dumps(uvloop.run(_load(sys.argv[2], int(sys.argv[3]), plan, float(sys.argv[4])))))
