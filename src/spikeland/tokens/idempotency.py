"""Clients' Idempotency-Keys on the ledger: per user, one key names one request.

A movement made under a key is stored with the key as its ``sourceId`` (``idem:{key}``) and the
SHA-256 of the request's canonical JSON in its metadata under ``requestFingerprint``. A repeat
finds the user's first movement with that source id whatever its type (the same index lookup,
after the balance lock as every replay check) and compares fingerprints: the same request gets
the first result, another request under the same key is refused (422 ``idempotency_key_reused``)
rather than applied, or answered with a movement it did not ask for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from spikeland.core.errors import SpikelandError
from spikeland.tokens.ledger import Movement
from spikeland.tokens.models import TokenTransactionType

FINGERPRINT_KEY = "requestFingerprint"


class IdempotencyKeyReused(SpikelandError):
    status_code = 422
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used for a different request.")


def idempotency_source(key: str | None) -> str | None:
    """The ledger's source id for a client's Idempotency-Key (scoped to the user by the ledger)."""
    return f"idem:{key}" if key else None


def fingerprint(kind: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 of ``kind`` and ``fields`` as canonical JSON (sorted keys, ASCII: a lone surrogate
    in a client's text still encodes)."""
    canonical = json.dumps({"kind": kind, **fields}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def stamped(metadata: dict[str, Any] | None, request_fingerprint: str | None) -> dict[str, Any] | None:
    """``metadata`` with the fingerprint recorded (unchanged without one)."""
    if request_fingerprint is None:
        return metadata
    return {**(metadata or {}), FINGERPRINT_KEY: request_fingerprint}


def check_same_request(previous: Movement, type_: TokenTransactionType, request_fingerprint: str) -> None:
    """Refuse a repeat of a key whose first movement was made for another request."""
    stored = (previous.metadata or {}).get(FINGERPRINT_KEY)
    # A movement written before fingerprints were recorded: the type was all a repeat compared.
    same = stored == request_fingerprint if stored is not None else previous.type == type_
    if not same:
        raise IdempotencyKeyReused()
