"""API key owners remembered by the API process, so a key's requests skip one lookup each.

A busy API key otherwise costs a database round trip per request to find its owner (on the token
spend one round trip of six; callgrind: 1.40 → 1.32 M instructions per request). Remembering the owner is safe
only if a key that ends is forgotten at once, in every process, whatever ended it; so:

- a trigger (migration 0005) sends ``NOTIFY spikeland_api_keys, '<key id>'`` for every change that
  can end a key (revoked, rotated, moved, deleted — a deleted user's keys too, operators' SQL
  too), delivered when that transaction commits; this process LISTENs and forgets the key; the
  services that revoke keys or delete users also forget at once in their own process
  (``forget_key``, ``forget_user_keys``: every cache of the process, whoever called the service —
  a route, the CLI, a job), so the caller's next request never races the notification;
- the cache is used only while that LISTEN connection is up and proven to hear: it notifies
  itself on connecting and every ``ttl/2`` s (≤ 30 s) and must hear each within 5 s (a
  transaction-pooling proxy can make LISTEN look fine and hear nothing); when it drops or goes
  deaf, everything is forgotten and lookups go to the database until it listens again;
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
import secrets
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

_log = logging.getLogger(__name__)

CHANNEL = "spikeland_api_keys"
PROBE = "probe:"  # prefix of the notifications this process sends itself
PROBE_TIMEOUT = 5.0
APPLICATION_NAME = "spikeland-key-cache"  # as pg_stat_activity shows the listening connection


def forget_key(api_key_id: str) -> None:
    """Forget a key in every cache of this process (a service that ends a key calls this)."""
    for cache in tuple(_live):
        cache.forget(api_key_id)


def forget_user_keys(user_id: str) -> None:
    """Forget every key of a user in every cache of this process (the user is being deleted)."""
    for cache in tuple(_live):
        cache.forget_user(user_id)


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
        self._probes: dict[str, asyncio.Event] = {}
        self._closing = False
        self._probe_every = max(1.0, min(30.0, ttl / 2))
        _live.add(self)

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
        while not self._closing:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=5, server_settings={"application_name": APPLICATION_NAME}
                )
                if self._closing:  # closed while connecting
                    return
                self._lost.clear()
                connection.add_termination_listener(self._on_lost)
                await connection.add_listener(CHANNEL, self._on_notification)
                await self._probe(connection)
                # A lookup that began before this point may have read a key whose revocation was
                # announced to nobody: it must not be stored.
                self._generation += 1
                self._listening = True
                while not self._lost.is_set() and not self._closing:
                    try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                        async with asyncio.timeout(self._probe_every):
                            await self._lost.wait()
                    except TimeoutError:
                        await self._probe(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                _log.warning("API key cache: cannot listen (%s); keys are looked up every time", exc)
            finally:
                self._forget_everything()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            if not self._closing:
                await asyncio.sleep(self._retry_seconds)

    async def _probe(self, connection: asyncpg.Connection) -> None:
        """Send a notification to ourselves and wait for it: LISTEN can look fine and hear nothing
        (a transaction-pooling proxy in between); then this raises TimeoutError and the cache
        stays off."""
        token = f"{PROBE}{secrets.token_hex(8)}"
        heard = asyncio.Event()
        self._probes[token] = heard
        try:
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, token)
            async with asyncio.timeout(PROBE_TIMEOUT):
                await heard.wait()
        finally:
            del self._probes[token]

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        heard = self._probes.get(payload)
        if heard is not None:
            heard.set()
        else:  # a key id (another process's probe only costs a forget of nothing)
            self.forget(payload)

    def _on_lost(self, _connection: object) -> None:
        self._forget_everything()
        self._lost.set()

    async def close(self) -> None:
        _live.discard(self)
        self._closing = True
        self._lost.set()  # ends the wait even if a cancellation were lost on the way
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._forget_everything()


# The caches of this process, for the services' forget calls: one per app (a test run makes many,
# hence weak references; a closed one leaves at once).
_live: weakref.WeakSet[KeyCache] = weakref.WeakSet()
