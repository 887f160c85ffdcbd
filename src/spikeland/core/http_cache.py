"""HTTP caching of reads: an ``ETag`` from the body, ``Cache-Control``, ``304`` on a match.

A route that opts in takes the ``IfNoneMatch`` header and returns
``respond(if_none_match, content, policy)`` instead of its model: the body
is serialised here (as FastAPI would: JSON by alias), its digest is the ETag, and a request whose
``If-None-Match`` names it gets ``304 Not Modified`` with no body. The digest is of the exact bytes
sent, so the ETag is strong. A client or a proxy revalidating saves the body's transfer; the
server still builds the answer unless the route keeps it (``TtlCache`` of ``Rendered``).

Only answers everyone sees may be ``PUBLIC`` (a shared cache keeps them for all); an answer that
depends on who asks uses ``PRIVATE``: the browser may keep it but revalidates every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Response
from pydantic_core import to_json
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

# Public reads whose staleness is harmless: the catalogue changes when an operator edits it, the
# featured gallery when an admin curates it.
PUBLIC_MINUTE = "public, max-age=60"
# Public reads of users' content (the gallery, public albums): an image made private may stay
# visible this long in a shared cache, so shorter.
PUBLIC_SHORT = "public, max-age=30"
# Personal answers: never in a shared cache, revalidated by the browser on every use.
PRIVATE = "private, no-cache"

# The validator a client revalidates with (an ETag it kept); any text: an unknown one just misses.
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=2000)]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Rendered:
    """A serialised answer and its ETag (worth keeping: a hit then costs no serialisation)."""

    body: bytes
    etag: str


def render(content: Any) -> Rendered:
    """``content``: a Pydantic model, a list of them, or plain JSON data."""
    return rendered(to_json(content, by_alias=True))


def rendered(body: bytes) -> Rendered:
    """A JSON body already rendered (``core.wire``), with its ETag."""
    return Rendered(body, f'"{blake2b(body, digest_size=16).hexdigest()}"')


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, as ``If-None-Match`` requires: ``W/`` is ignored."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def respond(
    if_none_match: str | None, content: Any, cache_control: str, *, vary: str | None = None
) -> Response:
    """The JSON answer with its ETag and ``cache_control``, or a bodiless 304 when it matches."""
    rendered = content if isinstance(content, Rendered) else render(content)
    headers = {"ETag": rendered.etag, "Cache-Control": cache_control}
    if vary is not None:
        headers["Vary"] = vary
    if matches(if_none_match, rendered.etag):
        # A 304 carries the headers the 200 would have (RFC 9110 15.4.5), and nothing else.
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


class TtlCache(Generic[K, V]):
    """Values kept ``ttl`` seconds in this process, for answers that may be that stale."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self._clock() + self.ttl, value)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class _Versioned(Generic[V]):
    version: int
    expires: float
    value: V


class VersionedCache(Generic[K, V]):
    """Answers kept ``ttl`` seconds in this process, dropped at once by a change made here.

    A change bumps ``version`` once its transaction has committed (``invalidate_after_commit``). A
    reader notes the version before it queries, and its answer is stored and served only while the
    version is unchanged, so a reader whose query ran before the commit cannot put the old rows back
    after the bump. Other processes keep their own cache: there a change shows after at most ``ttl``.
    """

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic, *, max_entries: int = 1000
    ) -> None:
        self.ttl = ttl
        self.version = 0
        self._clock = clock
        self._max_entries = max_entries  # keys made of query parameters must not grow without end
        self._entries: dict[K, _Versioned[V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != self.version or entry.expires <= self._clock():
            return None
        return entry.value

    def put(self, key: K, version: int, value: V) -> None:
        if version == self.version:
            if len(self._entries) >= self._max_entries and key not in self._entries:
                self._entries.clear()  # crude, and rare: a full cache starts again
            self._entries[key] = _Versioned(version, self._clock() + self.ttl, value)

    def invalidate(self) -> None:
        self.version += 1
        self._entries.clear()

    def invalidate_after_commit(self, session: AsyncSession) -> None:
        """Bump the version when ``session``'s transaction commits (never on a rollback)."""

        def committed(_: Session) -> None:
            self.invalidate()

        event.listen(session.sync_session, "after_commit", committed, once=True)
