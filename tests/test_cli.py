import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from spikeland.db import migrate
from tests.conftest import migrated_database

# Slow: every test runs the CLI in a process of its own (a second or more of imports each).
pytestmark = pytest.mark.slow

HEAD = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused")).get_current_head() or ""


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spikeland", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_unreachable_database_fails_fast_with_one_line() -> None:
    result = run_cli(
        "db", "current", env={"SPIKELAND_DATABASE_URL": "postgresql://someone:pw@127.0.0.1:1/nowhere"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1" in lines[0] and "Traceback" not in result.stderr and "pw" not in lines[0]


def test_malformed_database_url_is_refused_clearly() -> None:
    result = run_cli("db", "current", env={"SPIKELAND_DATABASE_URL": "mysql://root@127.0.0.1/x"})
    assert result.returncode == 2
    assert "SPIKELAND_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_db_check_and_current_on_a_migrated_database(database_url: str) -> None:
    check = run_cli("db", "check", env={"SPIKELAND_DATABASE_URL": database_url})
    assert check.returncode == 0, check.stderr
    assert "agree" in check.stdout
    current = run_cli("db", "current", env={"SPIKELAND_DATABASE_URL": database_url})
    assert current.returncode == 0 and f"{HEAD} (head)" in current.stdout


def test_seed_on_its_own_is_idempotent(server_url: str) -> None:
    # A database of its own: the seed commits reference rows that other tests expect absent.
    with migrated_database(server_url, prefix="spikeland_seed_cli") as url:
        first = run_cli("seed", env={"SPIKELAND_DATABASE_URL": url})
        assert first.returncode == 0, first.stderr
        again = run_cli("seed", env={"SPIKELAND_DATABASE_URL": url})
        assert again.returncode == 0, again.stderr
        created = again.stdout.strip().splitlines()
        assert created and all(line.endswith(": 0 created") for line in created), again.stdout


def test_db_stats_prints_the_four_tables(database_url: str) -> None:
    result = run_cli("db", "stats", "--limit", "3", env={"SPIKELAND_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    for heading in ("Table sizes", "Row counts", "Index usage", "Unused indexes"):
        assert heading.lower() in result.stdout.lower()


def test_db_adopt_refuses_a_database_spikeland_already_manages(database_url: str) -> None:
    result = run_cli("db", "adopt", "--dry-run", env={"SPIKELAND_DATABASE_URL": database_url})
    assert result.returncode == 1
    assert HEAD in result.stderr


def test_bad_setting_is_one_clear_line() -> None:
    result = run_cli("db", "current", env={"SPIKELAND_PORT": "not-a-port"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "SPIKELAND_PORT" in result.stderr and "Traceback" not in result.stderr


def test_users_create_admin_creates_then_promotes(database_url: str, tmp_path: Path) -> None:
    env = {
        "SPIKELAND_DATABASE_URL": database_url,
        "SPIKELAND_BCRYPT_COST": "4",
        "SPIKELAND_DATA_DIR": str(tmp_path),
    }
    email = f"root-{secrets.token_hex(4)}@example.com"
    refused = run_cli("users", "create-admin", email, env=env)
    assert refused.returncode == 1 and "password" in refused.stderr.lower()
    created = subprocess.run(
        [sys.executable, "-m", "spikeland", "users", "create-admin", email, "--admin", "--password-stdin"],
        input="a good long password\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    assert f"{email} is ADMIN" in created.stdout
    promoted = run_cli("users", "create-admin", email, env=env)
    assert promoted.returncode == 0 and f"{email} is SUPER_ADMIN" in promoted.stdout


def test_keys_generate_and_rotate(database_url: str, tmp_path: Path) -> None:
    generated = run_cli("keys", "generate", "k2", env={})
    assert generated.returncode == 0 and generated.stdout.startswith("k2:")
    env = {
        "SPIKELAND_DATABASE_URL": database_url,
        "SPIKELAND_ENCRYPTION_KEYS": generated.stdout.strip(),
        "SPIKELAND_DATA_DIR": str(tmp_path),
    }
    rotated = run_cli("keys", "rotate", env=env)
    assert "under key k2" in rotated.stdout, rotated.stderr


def test_maintenance_runs_every_job_once(database_url: str, tmp_path: Path) -> None:
    result = run_cli(
        "maintenance", env={"SPIKELAND_DATABASE_URL": database_url, "SPIKELAND_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert "expired" in result.stdout.lower() or "purge" in result.stdout.lower()
