"""The original platform's bcryptjs hashes ($2a$) read the first 72 bytes of a longer password;
ours ($2b$) are of at most 72 bytes and refuse a longer candidate."""

import bcrypt

from spikeland.core.security import is_legacy_hash, verify_password

LONG = "a long passphrase that somebody typed into the original platform years ago!!"  # 77 bytes


def _bcryptjs(password: str, prefix: bytes) -> str:
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds=4, prefix=prefix)).decode()


async def test_a_legacy_hash_verifies_a_long_password_by_its_first_72_bytes() -> None:
    legacy = _bcryptjs(LONG, b"2a")
    assert is_legacy_hash(legacy)
    assert await verify_password(LONG, legacy, 4)
    assert await verify_password(LONG[:72] + "whatever", legacy, 4)  # as bcryptjs compared it
    assert not await verify_password(LONG[:71], legacy, 4)


async def test_our_hashes_still_refuse_a_longer_candidate() -> None:
    ours = _bcryptjs(LONG[:72], b"2b")
    assert not is_legacy_hash(ours)
    assert await verify_password(LONG[:72], ours, 4)
    assert not await verify_password(LONG, ours, 4)
