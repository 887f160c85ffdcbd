"""CSV exports that a spreadsheet opens safely: nested values as JSON, and a text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first) quoted
with a leading apostrophe — exported values are often users' input (campaign names, metadata)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` as CSV with a header (``columns``, else the first row's keys; none: empty)."""
    out = io.StringIO()
    fields = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fields:
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()
