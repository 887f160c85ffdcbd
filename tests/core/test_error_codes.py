"""The error-code table in docs/errors.md is the one the code produces."""

from __future__ import annotations

from pathlib import Path

from spikeland.core import error_codes

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_the_committed_table_is_current() -> None:
    assert DOC.read_text() == error_codes.render(), "run: python -m spikeland.core.error_codes"


def test_every_code_has_a_status_and_a_source() -> None:
    table = error_codes.collect()
    handlers = {"validation_error", "internal_error", "database_unavailable", "csrf_origin_mismatch"}
    assert handlers <= set(table)
    assert all(places and all(400 <= status < 600 for status, _ in places) for places in table.values())
