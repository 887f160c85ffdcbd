"""The layering of docs/architecture.md holds: every import-linter contract in pyproject.toml is kept,
so a new cycle or an upward import fails the suite (and ``make lint``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    # lint-imports beside this interpreter: the venv the suite runs in has it (the dev extras).
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
