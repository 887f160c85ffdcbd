"""API key owners remembered by the API process, so a key's requests skip one lookup each.

A busy API key otherwise costs a database round trip per request to find its owner (on the token
spend: one of six, ~9 % of the server's CPU per request, measured). Remembering the owner is safe
only if a key that ends is forgotten at once, in every process, whatever ended it; so:

- a trigger (migration 0005) sends ``NOTIFY spikeland_api_keys, '<key id>'`` for every change that
  can end a key (revoked, rotated, moved, deleted — a deleted user's keys too, operators' SQL
  too), delivered when that transaction commits; this process LISTENs and forgets the key; the
  routes that revoke keys or delete users also forget at once in their own process (so the
  caller's next request never races the notification);
- the cache is used only while that LISTEN connection is up: when it drops, everything is
  forgotten and lookups go to the database until it listens again;
- a lookup that started before a notification cannot store what it read (a generation count),
  so a slow request cannot put back a key that was just revoked;
- entries expire anyway after ``ttl`` seconds, and at most ``max_entries`` are kept.

A request that overlaps a revocation may still pass, as it could without the cache. Unknown or
inactive keys are never remembered (each such request asks the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

_log = logging.getLogger(__name__)

CHANNEL = "spikeland_api_keys"


@dataclass
class CachedKey:
    api_key_id: str
    user_id: str
    last_used: float  # epoch seconds of lastUsedAt as committed, for its write-every-5-minutes rule
    expires: float  # monotonic


class KeyCache:
    def __init__(self, dsn: str, ttl: float, max_entries: int = 10_000, retry_seconds: float = 2.0) -> None:
        self._dsn = dsn
        self._ttl = ttl
        self._max_entries = max_entries
        self._retry_seconds = retry_seconds
        self._entries: OrderedDict[str, CachedKey] = OrderedDict()  # by key digest, oldest first
        self._digests: dict[str, str] = {}  # key id -> digest
        self._generation = 0
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listening

    def generation(self) -> int:
        """Taken before a database lookup and handed to ``put`` with its result."""
        return self._generation

    def get(self, digest: str) -> CachedKey | None:
        if not self._listening:
            return None
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            self._drop_digest(digest)
            return None
        return entry

    def put(self, digest: str, api_key_id: str, user_id: str, last_used: float, generation: int) -> None:
        """Remember an active key read from the database; ignored if a key changed since ``generation``."""
        if not self._listening or generation != self._generation or self._ttl <= 0:
            return
        self._drop_digest(digest)
        self._entries[digest] = CachedKey(api_key_id, user_id, last_used, time.monotonic() + self._ttl)
        self._digests[api_key_id] = digest
        while len(self._entries) > self._max_entries:
            self._drop_digest(next(iter(self._entries)))

    def forget(self, api_key_id: str) -> None:
        self._generation += 1
        digest = self._digests.get(api_key_id)
        if digest is not None:
            self._drop_digest(digest)

    def forget_user(self, user_id: str) -> None:
        """Forget every key of a user (being deleted: its keys go by cascade)."""
        self._generation += 1
        for digest in [d for d, entry in self._entries.items() if entry.user_id == user_id]:
            self._drop_digest(digest)

    def _drop_digest(self, digest: str) -> None:
        entry = self._entries.pop(digest, None)
        if entry is not None and self._digests.get(entry.api_key_id) == digest:
            del self._digests[entry.api_key_id]

    def _forget_everything(self) -> None:
        self._listening = False
        self._generation += 1
        self._entries.clear()
        self._digests.clear()

    # ------------------------------------------------------------------ the LISTEN connection

    def start(self) -> None:
        """Listen in the background (reconnecting after a loss); the cache works only meanwhile."""
        if self._ttl > 0 and self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="spikeland-key-cache")

    async def _listen_forever(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5)
                self._lost.clear()
                connection.add_termination_listener(self._on_lost)
                await connection.add_listener(CHANNEL, self._on_notification)
                # A lookup that began before this point may have read a key whose revocation was
                # announced to nobody: it must not be stored.
                self._generation += 1
                self._listening = True
                await self._lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                _log.warning("API key cache: cannot listen (%s); keys are looked up every time", exc)
            finally:
                self._forget_everything()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(self._retry_seconds)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self.forget(payload)

    def _on_lost(self, _connection: object) -> None:
        self._forget_everything()
        self._lost.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._forget_everything()
