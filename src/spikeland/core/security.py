"""Passwords (bcrypt), secret digests (SHA-256) and encryption at rest (AES-256-GCM with key ids)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bcrypt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spikeland.settings import Settings

# bcrypt only reads the first 72 bytes of a password; bcrypt >= 5 refuses longer input. Rather than
# silently truncate (two passwords sharing 72 bytes would both work) or pre-hash (hashes made by
# the original platform would stop verifying), longer new passwords are refused at sign-up.
# Checking a password is another matter: the original (bcryptjs) accepted longer ones and hashed
# their first 72 bytes, so against its hashes a candidate is compared by its first 72 bytes too.
MAX_PASSWORD_BYTES = 72
# The prefix of a hash made by another bcrypt, which read the first 72 bytes of any password: the
# original's (bcryptjs writes $2a$; adoption marks its $2b$ ones so). Python's bcrypt writes $2b$.
LEGACY_PREFIX = "$2a$"


def password_fits(password: str) -> bool:
    return len(password.encode("utf-8")) <= MAX_PASSWORD_BYTES


def _hash_sync(password: str, cost: int) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")


async def hash_password(password: str, cost: int) -> str:
    """bcrypt hash, computed in a worker thread (cost 12 takes ~0.3 s; the event loop must not wait)."""
    if not password_fits(password):
        raise ValueError("password longer than 72 bytes")
    return await asyncio.to_thread(_hash_sync, password, cost)


_BCRYPT_HASH = re.compile(r"\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}")


def cost_of(password_hash: str | None) -> int | None:
    """The work factor of a bcrypt hash (``$2b$12$…`` → 12), None for anything else."""
    found = _BCRYPT_HASH.fullmatch(password_hash) if password_hash else None
    return int(found.group(1)) if found else None


def is_legacy_hash(password_hash: str | None) -> bool:
    """Made by the original platform's bcryptjs, which hashed the first 72 bytes of any password."""
    return password_hash is not None and password_hash.startswith(LEGACY_PREFIX)


@lru_cache(maxsize=8)
def _dummy_hash(cost: int) -> bytes:
    return _hash_sync(secrets.token_urlsafe(16), cost).encode("ascii")


def _verify_sync(password: str, password_hash: str | None, decoy_cost: int) -> bool:
    # Always spend one bcrypt comparison, so an unknown email costs what a wrong password costs.
    # A candidate over 72 bytes is refused against our hashes (never truncated: see above), and
    # compared by its first 72 against a legacy one, as bcryptjs hashed it when it was set.
    candidate = password.encode("utf-8")
    fits = len(candidate) <= MAX_PASSWORD_BYTES or is_legacy_hash(password_hash)
    stored_cost = cost_of(password_hash) if fits else None
    usable = password_hash if stored_cost is not None else None
    stored = usable.encode("ascii") if usable else _dummy_hash(decoy_cost)
    matched = bcrypt.checkpw(candidate[:MAX_PASSWORD_BYTES], stored) and usable is not None
    if not matched and stored_cost is not None and stored_cost < decoy_cost:
        # A hash cheaper than the decoy (cost 4 next to 12: 6 ms against 250) would tell a known
        # address from an unknown one by the time a wrong password takes: spend the decoy too,
        # until a successful sign-in rehashes it at the configured cost.
        bcrypt.checkpw(candidate[:MAX_PASSWORD_BYTES], _dummy_hash(decoy_cost))
    return matched


async def verify_password(password: str, password_hash: str | None, decoy_cost: int) -> bool:
    """Whether ``password`` matches; with no usable hash, a comparison at ``decoy_cost`` then False.

    ``decoy_cost`` should be the cost a real account's comparison takes (see
    ``identity.password_costs``), so that the time of a failure does not tell whether one exists.
    """
    return await asyncio.to_thread(_verify_sync, password, password_hash, decoy_cost)


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (session tokens, verification tokens, API keys)."""
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a secret, so a database leak leaks no usable secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


# ----------------------------------------------------------------------------- encryption at rest

_PREFIX = "enc:v1"


class DecryptionError(ValueError):
    """A ciphertext that no known key opens (wrong key, tampered, or not ours)."""


@dataclass(frozen=True)
class Keyring:
    """AES-256-GCM keys by id; ``current`` encrypts, every key decrypts, so keys can rotate.

    Ciphertext format: ``enc:v1:{kid}:{nonce b64url}:{ciphertext+tag b64url}``; the key id is
    bound as associated data, so a ciphertext cannot be replayed under another id.
    """

    keys: dict[str, bytes]
    current: str

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode("utf-8"), self.current.encode()
        )
        return ":".join((_PREFIX, self.current, _b64(nonce), _b64(sealed)))

    def decrypt(self, value: str) -> str:
        parts = value.split(":")
        if len(parts) != 5 or ":".join(parts[:2]) != _PREFIX:
            raise DecryptionError("not a Spikeland ciphertext")
        kid, nonce, sealed = parts[2], parts[3], parts[4]
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError(f"unknown key id {kid!r}")
        try:
            return AESGCM(key).decrypt(_unb64(nonce), _unb64(sealed), kid.encode()).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext does not open with its key") from exc

    def key_id_of(self, value: str) -> str | None:
        parts = value.split(":")
        return parts[2] if len(parts) == 5 and ":".join(parts[:2]) == _PREFIX else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_spec(kid: str) -> str:
    """A fresh ``kid:base64key`` entry for ``SPIKELAND_ENCRYPTION_KEYS``."""
    return f"{kid}:{_b64(AESGCM.generate_key(bit_length=256))}"


def parse_keys(spec: str) -> Keyring:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for entry in (e.strip() for e in spec.split(",") if e.strip()):
        kid, sep, encoded = entry.partition(":")
        if not sep or not kid or ":" in encoded:
            raise ValueError("each encryption key must be 'kid:base64key'")
        key = _unb64(encoded)
        if len(key) != 32:
            raise ValueError(f"encryption key {kid!r} is not 32 bytes")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ValueError("no encryption keys given")
    return Keyring(keys=keys, current=order[0])


def key_file(settings: Settings) -> Path:
    return settings.data_dir / "encryption-keys"


def load_keyring(settings: Settings) -> Keyring:
    """The configured keys; outside production, a key file in the data dir made on first use."""
    if settings.encryption_keys is not None:
        return parse_keys(settings.encryption_keys.get_secret_value())
    path = key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key_spec("local1") + "\n")
    return parse_keys(path.read_text().strip())
