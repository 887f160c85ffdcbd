"""Fixtures of the database tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory for an embedded server's data. As root the server runs as its own user, so the
    directory must be reachable by it: not under ``tmp_path``, whose root pytest makes private
    (0700) again whenever another pytest run starts on the machine."""
    with tempfile.TemporaryDirectory(prefix="spikeland-embedded-") as tmp:
        Path(tmp).chmod(0o755)
        yield Path(tmp)
