"""``spikeland serve`` as a real process on a free loopback port, for tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_spikeland(database_url: str, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the app on ``database_url`` until the block ends; yields its base URL."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    environ |= {
        "SPIKELAND_DATABASE_URL": database_url,
        "SPIKELAND_DATA_DIR": str(data_dir),
        "SPIKELAND_ENVIRONMENT": "test",
        "SPIKELAND_LOG_LEVEL": "WARNING",
        "SPIKELAND_COOKIE_SECURE": "false",  # plain http on loopback
        "SPIKELAND_BCRYPT_COST": "4",
        "SPIKELAND_WORKER_IN_PROCESS": "false",
    } | (env or {})
    log = (data_dir / "server.log").open("wb")
    command = [sys.executable, "-m", "spikeland", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no 200 from /health")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
