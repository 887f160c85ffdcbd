"""Encryption-key rotation: every secret at rest re-encrypted under the keyring's current key.

It reaches identity's OAuth tokens and analytics' marketing tokens, so it sits above the domains
(beside ``routes`` and ``jobs``), used by the ``spikeland keys`` commands only.

``spikeland keys generate`` prints a new ``kid:base64key`` entry (put it first in
``SPIKELAND_ENCRYPTION_KEYS``, keep the old ones after it); ``spikeland keys rotate`` then calls
``rotate``, after which the old keys can be dropped once ``count_pending`` is 0.

What a stored value can be, and what rotation does with it:

- ``enc:v1:{current}:...`` — already rotated: not touched (the query skips it).
- ``enc:v1:{other}:...`` — opened with that key and sealed with the current one. A key id the
  keyring does not know, or a value that does not open, is left as it is and stays pending.
- ``ivHex:authTagHex:ciphertextHex`` — the original platform's marketing-token format: opened with
  ``SPIKELAND_LEGACY_TOKEN_KEY`` when configured and sealed with the current key; without that key
  it stays as it is (pending), since sealing the ciphertext would only hide a value nobody can open.
- anything else — a plaintext token (the original stored tokens in clear when it had no key):
  sealed with the current key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, Table, and_, bindparam, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.analytics.models import MarketingAccount
from spikeland.core.security import DecryptionError, Keyring, new_key_spec
from spikeland.identity.models import Account
from spikeland.settings import Settings

_log = logging.getLogger(__name__)

# (table, encrypted columns, columns an UPDATE must leave alone despite an ORM onupdate)
TARGETS: tuple[tuple[Table, tuple[str, ...], tuple[str, ...]], ...] = (
    (cast(Table, Account.__table__), ("access_token", "refresh_token", "id_token"), ()),
    (cast(Table, MarketingAccount.__table__), ("accessToken", "refreshToken"), ("updatedAt",)),
)
_OURS = "enc:"
_LEGACY = re.compile(r"([0-9a-f]{32}):([0-9a-f]{32}):([0-9a-f]*)", re.IGNORECASE)


def generate_spec(kid: str | None = None) -> str:
    """A new ``kid:base64key`` entry; the default id is the UTC time, so ids sort by age."""
    return new_key_spec(kid or datetime.now(UTC).strftime("k%Y%m%d%H%M%S"))


def legacy_key_of(settings: Settings) -> bytes | None:
    """The original platform's TOKEN_ENCRYPTION_KEY (64 hex characters) as 32 bytes, if configured."""
    if settings.legacy_token_key is None:
        return None
    key = bytes.fromhex(settings.legacy_token_key.get_secret_value().strip())
    if len(key) != 32:
        raise ValueError("SPIKELAND_LEGACY_TOKEN_KEY must be 64 hex characters")
    return key


def open_legacy(value: str, key: bytes) -> str:
    """Decrypt ``ivHex:authTagHex:ciphertextHex`` (AES-256-GCM, 16-byte IV) as the original wrote it."""
    match = _LEGACY.fullmatch(value)
    if match is None:
        raise DecryptionError("not a legacy ciphertext")
    iv, tag, sealed = (bytes.fromhex(part) for part in match.groups())
    try:
        return AESGCM(key).decrypt(iv, sealed + tag, None).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("legacy ciphertext does not open with the legacy key") from exc


def reencrypt(value: str, keyring: Keyring, legacy_key: bytes | None = None) -> str | None:
    """``value`` sealed with the current key, or None when it is current or cannot be opened."""
    kid = keyring.key_id_of(value)
    if kid == keyring.current:
        return None
    try:
        if kid is not None:
            plaintext = keyring.decrypt(value)
        elif value.startswith(_OURS):  # ours, but malformed: never wrap it as if it were plaintext
            return None
        elif _LEGACY.fullmatch(value):
            if legacy_key is None:
                return None
            plaintext = open_legacy(value, legacy_key)
        else:
            plaintext = value
    except DecryptionError:
        return None
    return keyring.encrypt(plaintext)


def _stale(table: Table, column: str, keyring: Keyring) -> ColumnElement[bool]:
    col = table.c[column]
    return and_(col.is_not(None), not_(col.startswith(f"enc:v1:{keyring.current}:", autoescape=True)))


def _stale_value(value: str | None, keyring: Keyring) -> bool:
    return value is not None and keyring.key_id_of(value) != keyring.current


async def rotate(
    session: AsyncSession,
    keyring: Keyring,
    *,
    legacy_key: bytes | None = None,
    batch_size: int = 500,
    after_batch: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Re-encrypt every stored secret not under ``keyring.current``; returns how many values changed.

    Rows go in id order, ``batch_size`` at a time, locked while they are rewritten (a sign-in that
    refreshes tokens meanwhile waits rather than being overwritten). ``after_batch`` runs after each
    batch: the CLI passes ``session.commit`` so a large table is not one long transaction; the
    function itself never commits, and running it again resumes where it stopped.
    """
    changed = 0
    for table, columns, keep in TARGETS:
        changed += await _rotate_table(
            session, keyring, legacy_key, table, columns, keep, batch_size, after_batch
        )
    return changed


async def _rotate_table(
    session: AsyncSession,
    keyring: Keyring,
    legacy_key: bytes | None,
    table: Table,
    columns: tuple[str, ...],
    keep: tuple[str, ...],
    batch_size: int,
    after_batch: Callable[[], Awaitable[None]] | None,
) -> int:
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({table.c[c]: bindparam(f"new_{c}") for c in columns} | {table.c[k]: table.c[k] for k in keep})
    )
    changed = skipped = 0
    after = ""
    while True:
        rows = (
            await session.execute(
                select(table.c.id, *(table.c[c] for c in columns))
                .where(table.c.id > after, or_(*(_stale(table, c, keyring) for c in columns)))
                .order_by(table.c.id)
                .limit(batch_size)
                .with_for_update()
            )
        ).all()
        if not rows:
            break
        params: list[dict[str, Any]] = []
        for row in rows:
            values = {c: getattr(row, c) for c in columns}
            fresh = {
                c: reencrypt(v, keyring, legacy_key) if v is not None else None for c, v in values.items()
            }
            skipped += sum(1 for c, v in values.items() if fresh[c] is None and _stale_value(v, keyring))
            changed += sum(1 for v in fresh.values() if v is not None)
            if any(v is not None for v in fresh.values()):
                params.append({"row_id": row.id} | {f"new_{c}": fresh[c] or values[c] for c in columns})
        if params:
            await session.execute(statement, params)
        if after_batch is not None:
            await after_batch()
        after = rows[-1].id
    if skipped:
        # Counts only: the values themselves are secrets.
        _log.warning("%s: %d value(s) could not be opened and keep their old encryption", table.name, skipped)
    return changed


async def count_pending(session: AsyncSession, keyring: Keyring) -> int:
    """How many stored secrets are not under the current key (0 after a complete rotation)."""
    total = 0
    for table, columns, _keep in TARGETS:
        counts = [func.count().filter(_stale(table, c, keyring)) for c in columns]
        total += sum((await session.execute(select(*counts).select_from(table))).one())
    return total
