"""The HTTP cache helper: ETags from the body, If-None-Match's weak comparison, the TTL cache."""

from __future__ import annotations

from pydantic import BaseModel, Field

from spikeland.core.http_cache import TtlCache, matches, render


class Item(BaseModel):
    item_id: str = Field(serialization_alias="itemId")


def test_the_etag_is_the_body_s_and_the_body_is_json_by_alias() -> None:
    first, again = render([Item(item_id="a")]), render([Item(item_id="a")])
    assert first.body == b'[{"itemId":"a"}]'
    assert first.etag == again.etag and first.etag.startswith('"') and first.etag.endswith('"')
    assert render([Item(item_id="b")]).etag != first.etag


def test_if_none_match_compares_weakly_and_lists() -> None:
    etag = render({"a": 1}).etag
    assert matches(etag, etag)
    assert matches(f"W/{etag}", etag)
    assert matches(f'"other", {etag}', etag)
    assert matches("*", etag)
    assert not matches(None, etag) and not matches("", etag) and not matches('"other"', etag)


def test_ttl_cache_forgets_after_its_ttl() -> None:
    now = [0.0]
    cache: TtlCache[int, str] = TtlCache(10, clock=lambda: now[0])
    cache.put(20, "page")
    now[0] = 9.9
    assert cache.get(20) == "page" and cache.get(50) is None
    now[0] = 10.0
    assert cache.get(20) is None
    cache.put(20, "page")
    cache.clear()
    assert cache.get(20) is None
