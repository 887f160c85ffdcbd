"""The one cursor codec and keyset condition of every list (``core.pagination``): cursors made before
it still decode, anything else is 422 ``invalid_cursor``, and "after" follows mixed directions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from spikeland.core.errors import ValidationFailed
from spikeland.core.pagination import Asc, Desc, _after, decode_cursor, encode_cursor
from spikeland.gallery.featured import DISPLAY_ORDER
from spikeland.gallery.models import Album

MOMENT = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def _old(values: list[Any]) -> str:
    """A cursor as the three hand-written codecs this one replaced wrote it."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ([MOMENT, "c1"], [datetime, str]),  # newest first (createdAt, id)
        ([3, "c1"], [int, str]),  # albums (sortOrder, id)
        ([-2, MOMENT, "c1"], [int, datetime, str]),  # featured items (sortOrder, createdAt, id)
    ],
)
def test_cursors_keep_their_wire_format(values: list[Any], kinds: list[type]) -> None:
    old = _old([v.isoformat() if isinstance(v, datetime) else v for v in values])
    assert encode_cursor(values) == old
    assert decode_cursor(old, kinds) == tuple(values)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        _old(["2026-03-01T12:30:15", "c1"]),  # a moment without its offset
        _old([MOMENT.isoformat()]),  # too short
        _old([MOMENT.isoformat(), "c1", "c2"]),  # too long
        _old([MOMENT.isoformat(), 7]),  # an id that is not a string
        _old([True, MOMENT.isoformat()]),
        _old({"a": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_bad_cursor_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, [datetime, str])
    assert refused.value.code == "invalid_cursor" and refused.value.status_code == 422


def _sql(order: Any, values: list[Any]) -> str:
    return str(_after(order, values).compile(dialect=postgresql.dialect()))


def test_after_compares_each_run_of_one_direction_as_a_row() -> None:
    assert _sql((Desc(Album.created_at), Desc(Album.id)), [MOMENT, "c1"]) == (
        '(albums."createdAt", albums.id) < (%(param_1)s::TIMESTAMP WITHOUT TIME ZONE, %(param_2)s::VARCHAR)'
    )
    assert _sql((Asc(Album.sort_order), Asc(Album.id)), [1, "c1"]) == (
        '(albums."sortOrder", albums.id) > (%(param_1)s::INTEGER, %(param_2)s::VARCHAR)'
    )
    item = "featured_gallery_items"
    assert _sql(DISPLAY_ORDER, [1, MOMENT, "c1"]) == (
        f'{item}."sortOrder" > %(param_1)s::INTEGER OR {item}."sortOrder" = %(param_1)s::INTEGER'
        f' AND ({item}."createdAt", {item}.id) < '
        "(%(param_2)s::TIMESTAMP WITHOUT TIME ZONE, %(param_3)s::VARCHAR)"
    )
