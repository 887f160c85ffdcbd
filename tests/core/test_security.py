import pytest

from spikeland.core.security import (
    DecryptionError,
    digest,
    hash_password,
    new_key_spec,
    parse_keys,
    verify_password,
)


async def test_bcrypt_round_trip_and_cost() -> None:
    hashed = await hash_password("correct horse", 4)
    assert hashed.startswith("$2b$04$")
    assert await verify_password("correct horse", hashed, 4)
    assert not await verify_password("correct horsE", hashed, 4)
    assert not await verify_password("anything", None, 4)  # unknown user: a comparison, then no


async def test_passwords_over_72_bytes_are_refused_not_truncated() -> None:
    with pytest.raises(ValueError):
        await hash_password("é" * 37, 4)  # 74 bytes
    hashed = await hash_password("é" * 36, 4)  # exactly 72
    assert not await verify_password("é" * 36 + "x", hashed, 4)


def test_digest_is_sha256_hex() -> None:
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_keyring_encrypts_with_the_current_key_and_opens_older_ones() -> None:
    old_spec = new_key_spec("old")
    sealed = parse_keys(old_spec).encrypt("gho_secret")
    assert sealed.startswith("enc:v1:old:") and "gho_secret" not in sealed
    rotated = parse_keys(new_key_spec("new") + "," + old_spec)
    assert rotated.current == "new" and rotated.decrypt(sealed) == "gho_secret"
    assert rotated.encrypt("gho_secret").startswith("enc:v1:new:")
    with pytest.raises(DecryptionError):
        parse_keys(new_key_spec("new")).decrypt(sealed)  # "old" is no longer in this ring


def test_tampering_and_key_id_swaps_are_detected() -> None:
    spec_a, spec_b = new_key_spec("a"), new_key_spec("b")
    ring = parse_keys(spec_a + "," + spec_b)
    sealed = ring.encrypt("refresh-token")
    assert ring.decrypt(sealed) == "refresh-token"
    prefix, version, kid, nonce, body = sealed.split(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt(":".join((prefix, version, kid, nonce, flipped)))
    with pytest.raises(DecryptionError):  # the key id is bound as associated data
        parse_keys(spec_b.replace("b:", "a:", 1) + "," + spec_a.replace("a:", "b:", 1)).decrypt(sealed)
    with pytest.raises(ValueError):
        parse_keys("k1:c2hvcnQ")  # not 32 bytes
