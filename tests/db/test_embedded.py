"""The embedded server keeps its data across restarts: each process below starts it and,
on exit, stops it (the wheel's cleanup), so the second process really starts it again."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Slow: two processes each start and stop a real embedded server.
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import asyncpg
    from spikeland.db.embedded import start_embedded

    async def main(url, action):
        conn = await asyncpg.connect(url)
        if action == "write":
            await conn.execute("CREATE TABLE kept (value text)")
            await conn.execute("INSERT INTO kept VALUES ('still here')")
        else:
            print(await conn.fetchval("SELECT value FROM kept"))
        await conn.close()

    asyncio.run(main(start_embedded(Path(sys.argv[1])), sys.argv[2]))
    """
)


def run(data_dir: Path, action: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), action], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_data_survives_a_restart(server_dir: Path) -> None:
    data_dir = server_dir / "data"
    run(data_dir, "write")
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "server should stop with its last process"
    assert run(data_dir, "read") == "still here"
