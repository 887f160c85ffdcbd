"""``core.schemas.no_control``: refuses exactly Unicode's control characters (category Cc), less
the ones a field allows."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from spikeland.core.schemas import TEXT_WHITESPACE, no_control


def test_refuses_exactly_the_control_characters() -> None:
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        control = unicodedata.category(ch) == "Cc"
        try:
            no_control(f"a{ch}b")
        except ValueError:
            assert control, hex(code)
        else:
            assert not control, hex(code)


def test_allowed_ones_pass_and_others_still_refused() -> None:
    assert no_control("line\nnext\tcol\r", TEXT_WHITESPACE) == "line\nnext\tcol\r"
    with pytest.raises(ValueError):
        no_control("line\nbell\x07", TEXT_WHITESPACE)
    assert no_control("") == "" and no_control("café ☕") == "café ☕"
