"""Key rotation: every secret at rest ends under the current key, whatever form it was stored in."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland import keys
from spikeland.analytics.models import MarketingAccount, MarketingPlatform
from spikeland.core.security import Keyring, load_keyring, new_key_spec, parse_keys
from spikeland.identity.models import Account
from spikeland.settings import Settings
from tests.support import make_user

LEGACY_KEY = bytes.fromhex("11" * 32)


def legacy_encrypt(plaintext: str, key: bytes = LEGACY_KEY) -> str:
    """What the original platform stored: ivHex:authTagHex:ciphertextHex (16-byte IV)."""
    iv = os.urandom(16)
    sealed = AESGCM(key).encrypt(iv, plaintext.encode(), None)
    return f"{iv.hex()}:{sealed[-16:].hex()}:{sealed[:-16].hex()}"


def rings(settings: Settings) -> tuple[Keyring, Keyring]:
    """The app's keyring (so rows other tests committed still open) and one with a new current key."""
    old = load_keyring(settings)
    new = parse_keys(new_key_spec("next"))
    return old, Keyring(keys={**old.keys, **new.keys}, current="next")


def test_reencrypt_each_kind_of_value(settings: Settings) -> None:
    old, new = rings(settings)
    stranger = parse_keys(new_key_spec("gone"))

    assert keys.reencrypt(new.encrypt("current"), new) is None
    moved = keys.reencrypt(old.encrypt("secret"), new)
    assert moved is not None and new.key_id_of(moved) == "next" and new.decrypt(moved) == "secret"
    plain = keys.reencrypt("ya29.plaintext-token", new)
    assert plain is not None and new.decrypt(plain) == "ya29.plaintext-token"

    legacy = legacy_encrypt("legacy secret")
    opened = keys.reencrypt(legacy, new, LEGACY_KEY)
    assert opened is not None and new.decrypt(opened) == "legacy secret"

    # Left alone (and still pending): nobody here can open them.
    assert keys.reencrypt(legacy, new) is None
    assert keys.reencrypt(legacy, new, bytes(32)) is None
    assert keys.reencrypt(stranger.encrypt("x"), new) is None
    assert keys.reencrypt("enc:v1:next:broken", new) is None


async def test_rotate_tokens_and_marketing_tokens(session: AsyncSession, settings: Settings) -> None:
    old, new = rings(settings)
    user = await make_user(session)
    account = Account(
        user_id=user.id,
        type="oidc",
        provider="google",
        provider_account_id=f"rot-{user.id}",
        access_token=old.encrypt("access"),
        refresh_token="plain-refresh",
        id_token=None,
    )
    stamp = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    marketing = [
        MarketingAccount(
            user_id=user.id,
            platform=platform,
            account_id=f"act-{n}",
            access_token=legacy_encrypt(f"fb-access-{n}"),
            refresh_token=f"fb-refresh-{n}" if n else None,
            updated_at=stamp,
        )
        for n, platform in enumerate(MarketingPlatform)
    ]
    session.add_all([account, *marketing])
    await session.flush()
    assert await keys.count_pending(session, new) >= 5

    batches: list[int] = []

    async def after_batch() -> None:
        batches.append(1)

    changed = await keys.rotate(session, new, legacy_key=LEGACY_KEY, batch_size=1, after_batch=after_batch)
    assert changed >= 5 and len(batches) >= 3  # one row per batch
    assert await keys.count_pending(session, new) == 0
    assert await keys.rotate(session, new, legacy_key=LEGACY_KEY) == 0  # idempotent

    row = (
        await session.execute(
            select(Account.access_token, Account.refresh_token, Account.id_token).where(
                Account.id == account.id
            )
        )
    ).one()
    assert [new.decrypt(v) for v in row[:2]] == ["access", "plain-refresh"] and row.id_token is None
    for n, item in enumerate(marketing):
        stored = (
            await session.execute(
                text(
                    'select "accessToken", "refreshToken", "updatedAt" from marketing_accounts where id = :i'
                ),
                {"i": item.id},
            )
        ).one()
        assert new.key_id_of(stored.accessToken) == "next"
        assert new.decrypt(stored.accessToken) == f"fb-access-{n}"
        assert (new.decrypt(stored.refreshToken) if n else stored.refreshToken) == (
            f"fb-refresh-{n}" if n else None
        )
        assert stored.updatedAt == stamp.replace(tzinfo=None)  # rotation is not an edit


async def test_values_nobody_can_open_stay_pending(session: AsyncSession, settings: Settings) -> None:
    _old, new = rings(settings)
    user = await make_user(session)
    legacy = legacy_encrypt("still legacy")
    session.add(
        MarketingAccount(
            user_id=user.id, platform=MarketingPlatform.FACEBOOK, account_id="pending", access_token=legacy
        )
    )
    await session.flush()
    before = await keys.count_pending(session, new)
    await keys.rotate(session, new)  # no legacy key configured
    assert await keys.count_pending(session, new) >= 1
    stored = (
        await session.execute(
            select(MarketingAccount.access_token).where(MarketingAccount.user_id == user.id)
        )
    ).scalar_one()
    assert stored == legacy and before >= 1


def test_generate_spec_and_legacy_key(settings: Settings) -> None:
    spec = keys.generate_spec()
    ring = parse_keys(spec)
    assert ring.current.startswith("k") and len(ring.keys[ring.current]) == 32
    assert parse_keys(keys.generate_spec("mine")).current == "mine"

    assert keys.legacy_key_of(settings) is None
    configured = settings.model_copy(update={"legacy_token_key": SecretStr("ab" * 32)})
    assert keys.legacy_key_of(configured) == bytes.fromhex("ab" * 32)
    with pytest.raises(ValueError):
        keys.legacy_key_of(settings.model_copy(update={"legacy_token_key": SecretStr("ab" * 16)}))
