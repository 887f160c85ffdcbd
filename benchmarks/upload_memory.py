"""Server memory while it decodes uploads: ``spikeland serve`` receives N maximum-size uploads at
once (7999x7999 PNGs, ~243 KB each: under the 64 MP cap, 256 MB each once decoded) and the
server's resident memory is read from ``/proc/<pid>/status`` before (VmRSS) and after (VmHWM, the
peak; VmRSS) — the figure an attacker moves."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from auth import running_server
from ledger import fresh_database, save_report
from PIL import Image

SIDE = 7999


def big_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (200, 120, 40)).save(out, "PNG", compress_level=9)
    return out.getvalue()


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return fields


async def upload_all(base: str, data: bytes, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        account = {"email": f"mem-{secrets.token_hex(4)}@example.com", "password": "long enough"}
        for step in ("signup", "login"):
            response = await client.post(f"/api/v1/auth/{step}", json=account)
            assert response.status_code in (200, 201, 202), response.text
        files = [{"file": (f"big-{i}.png", data, "image/png")} for i in range(count)]
        responses = await asyncio.gather(*(client.post("/api/v1/images", files=f) for f in files))
        return [r.status_code for r in responses]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=8, help="concurrent maximum-size uploads")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--decode-memory-mb", type=int, help="SPIKELAND_DECODE_MEMORY_MB for the server")
    parser.add_argument("--label", default="upload_memory", help="name of the JSON report")
    args = parser.parse_args()
    data = big_png()
    env = {} if args.decode_memory_mb is None else {"SPIKELAND_DECODE_MEMORY_MB": str(args.decode_memory_mb)}
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp,
        fresh_database(args.server, False, Path(tmp)) as (url, where),
        running_server(url, Path(tmp) / "data", extra_env=env) as (base, pid),
    ):
        before = memory_mb(pid)
        started = time.monotonic()
        statuses = asyncio.run(upload_all(base, data, args.uploads))
        seconds = time.monotonic() - started
        after = memory_mb(pid)
    report: dict[str, Any] = {
        "database": where,
        "uploads": args.uploads,
        "upload_bytes": len(data),
        "pixels": SIDE * SIDE,
        "statuses": statuses,
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before["VmRSS"], 1),
        "peak_rss_mb": round(after["VmHWM"], 1),
        "rss_after_mb": round(after["VmRSS"], 1),
        "decode_memory_mb": args.decode_memory_mb,
    }
    print(f"{args.uploads} concurrent {SIDE}x{SIDE} PNG uploads ({len(data) / 1024:.0f} KB each): {statuses}")
    print(f"{'RSS before':<14} {'peak (VmHWM)':>14} {'RSS after':>12} {'seconds':>9}")
    print(f"{before['VmRSS']:>11.0f} MB {after['VmHWM']:>11.0f} MB {after['VmRSS']:>9.0f} MB {seconds:>9.1f}")
    save_report(args.label, report, load_before)


if __name__ == "__main__":
    main()
