"""Interrupting ``spikeland serve`` (Ctrl-C of ``make run``, or SIGTERM from a supervisor) stops
the embedded PostgreSQL it started, also when an earlier user of that server was killed and so
never removed itself from the wheel's list of users."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# Slow: each test starts real embedded servers and `spikeland serve` processes.
pytestmark = pytest.mark.slow

SPIKELAND = Path(sys.executable).parent / "spikeland"
# Hang guards only: a healthy run takes a fraction of these; a server left running never goes.
STARTUP_LIMIT = 300.0
GONE_LIMIT = 60.0

HOLD = """
import sys, time
from pathlib import Path
from spikeland.db.embedded import start_embedded
start_embedded(Path(sys.argv[1]))
print("ready", flush=True)
time.sleep(3600)
"""


def postgres_of(data_dir: Path) -> list[int]:
    """Pids of the ``postgres`` processes whose command line names ``data_dir`` (the postmaster:
    its children retitle themselves, and die with it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if Path(os.fsdecode(args[0])).name == "postgres" and any(os.fsencode(data_dir) in a for a in args):
            found.append(int(entry.name))
    return found


def wait_until_gone(data_dir: Path) -> list[int]:
    deadline = time.monotonic() + GONE_LIMIT
    while (left := postgres_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIKELAND_")}
    return env | {"SPIKELAND_DATA_DIR": str(data_dir), "SPIKELAND_LOG_LEVEL": "WARNING"}


@pytest.fixture
def data_dir(server_dir: Path) -> Iterator[Path]:
    data_dir = server_dir / "data"
    yield data_dir
    for pid in postgres_of(data_dir):  # a failed test leaves no server behind
        os.kill(pid, signal.SIGQUIT)


def kill_a_user(data_dir: Path) -> None:
    """Start the server from a process that is then SIGKILLed: the server runs on, and the dead
    process stays in the list of its users."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)],
        env=environment(data_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    finally:
        holder.kill()
        holder.wait()
    assert postgres_of(data_dir), "the killed process's server should still run"


def serve_until_healthy(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [SPIKELAND, "serve", "--port", str(port)],
            env=environment(data_dir),
            cwd=data_dir.parent,  # no .env of the repository
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    pytest.fail(f"serve never answered /health:\n{log.read_text()}")


@pytest.mark.parametrize(
    ("signum", "after_a_killed_user"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "SIGINT-after-a-killed-user"],
)
def test_interrupted_serve_stops_its_server(data_dir: Path, signum: int, after_a_killed_user: bool) -> None:
    if after_a_killed_user:
        kill_a_user(data_dir)
    log = data_dir.parent / "serve.log"
    server = serve_until_healthy(data_dir, log)
    assert postgres_of(data_dir)

    server.send_signal(signum)
    try:
        server.wait(timeout=STARTUP_LIMIT)
    finally:
        server.kill()
    assert server.returncode >= 0, f"killed by signal {-server.returncode}, so no exit handler ran"
    assert wait_until_gone(data_dir) == [], log.read_text()


def test_stop_embedded_stops_the_server_before_its_directory_goes(data_dir: Path) -> None:
    """As the test suite's own server: stopped by ``stop_embedded`` before its temporary directory
    is deleted (at exit, with the list of users deleted, the wheel would leave it running)."""
    script = (
        "import shutil, sys\n"
        "from pathlib import Path\n"
        "from spikeland.db.embedded import start_embedded, stop_embedded\n"
        "start_embedded(Path(sys.argv[1]))\n"
        "stop_embedded(Path(sys.argv[1]))\n"
        "shutil.rmtree(sys.argv[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)],
        env=environment(data_dir),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert wait_until_gone(data_dir) == []
