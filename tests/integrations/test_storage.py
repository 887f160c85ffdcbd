"""The storage adapters: the local filesystem and S3 (boto3) against a real moto server on loopback,
both through the same tests of the interface."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from spikeland.integrations.storage import (
    ObjectNotFound,
    Storage,
    StorageError,
    enhanced_key,
    make_storage,
    original_key,
)
from spikeland.integrations.storage.local import LocalStorage
from spikeland.integrations.storage.s3 import S3Storage
from spikeland.settings import Settings

BUCKET = "spikeland-test"
KEY_ID = "test-key-id"
SECRET = "test-secret-key-do-not-leak"


def _settings(data_dir: Path, **extra: Any) -> Settings:
    return Settings(database_url="postgresql://x@127.0.0.1/x", data_dir=data_dir, **extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there until someone binds it


def _s3_settings(data_dir: Path, endpoint: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "s3_bucket": BUCKET,
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": KEY_ID,
        "s3_secret_access_key": SecretStr(SECRET),
    }
    return _settings(data_dir, **{**values, **extra})


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server in its own process on a free loopback port, with the test bucket made."""
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start listening") from None
                time.sleep(0.1)
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return make_storage(_settings(tmp_path))
    endpoint = request.getfixturevalue("moto_endpoint")
    return make_storage(_s3_settings(tmp_path, endpoint))


def _key() -> str:
    return original_key(f"c{secrets.token_hex(12)}", f"c{secrets.token_hex(12)}", "png")


async def test_make_storage_picks_by_the_bucket_setting(storage: Storage) -> None:
    assert isinstance(storage, S3Storage if storage.name == "s3" else LocalStorage)


async def test_binary_data_round_trips(storage: Storage) -> None:
    key = _key()
    data = bytes(range(256)) * 1000 + b"\x00\r\n\xff"
    await storage.put(key, data, "image/png")
    assert await storage.get(key) == data
    assert await storage.exists(key)


async def test_a_file_is_stored_in_pieces(storage: Storage) -> None:
    """put_file reads from the file's start, whatever its position: 9 MB (above boto3's multipart
    threshold) comes back byte for byte."""
    data = os.urandom(9 * 1024 * 1024)
    with tempfile.TemporaryFile() as source:
        source.write(data)  # left at its end: put_file seeks
        await storage.put_file("big/file.bin", source, "application/octet-stream")
    assert await storage.get("big/file.bin") == data
    # ... and is read back in pieces (1 MB each), the same bytes.
    pieces = [piece async for piece in await storage.open("big/file.bin")]
    assert len(pieces) == 9 and b"".join(pieces) == data


async def test_put_overwrites(storage: Storage) -> None:
    key = enhanced_key(f"c{secrets.token_hex(12)}", f"c{secrets.token_hex(12)}")
    await storage.put(key, b"first version", "image/jpeg")
    await storage.put(key, b"second", "image/jpeg")
    assert await storage.get(key) == b"second"


async def test_empty_objects_are_objects(storage: Storage) -> None:
    key = _key()
    await storage.put(key, b"", "application/octet-stream")
    assert await storage.exists(key)
    assert await storage.get(key) == b""


async def test_missing_object(storage: Storage) -> None:
    key = _key()
    with pytest.raises(ObjectNotFound):
        await storage.get(key)
    with pytest.raises(ObjectNotFound):
        await storage.open(key)  # before any piece: a download can still answer 404
    assert not await storage.exists(key)


async def test_delete_is_idempotent(storage: Storage) -> None:
    key = _key()
    await storage.put(key, b"x", "image/png")
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(ObjectNotFound):
        await storage.get(key)
    await storage.delete(key)  # already gone: no error
    await storage.delete(_key())  # never there: no error


async def test_keys_are_independent(storage: Storage) -> None:
    first, second = _key(), _key()
    await storage.put(first, b"one", "image/png")
    await storage.put(second, b"two", "image/png")
    await storage.delete(first)
    assert await storage.get(second) == b"two"


BAD_KEYS = [
    "",
    "../escape",
    "users/../../etc/passwd",
    "users/./x",
    "/etc/passwd",
    "users//x",
    "users/x/",
    "users\\x",
    "..",
    "users/.hidden",
    "users/x y",
    "users/\x00",
    "users/é",
    "a" * 1025,
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        await storage.put(key, b"x", "image/png")
    with pytest.raises(ValueError):
        await storage.get(key)
    with pytest.raises(ValueError):
        await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.delete(key)


def _names(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


async def test_local_files_stay_under_the_root_with_no_leftovers(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")
    key = _key()
    await storage.put(key, b"first", "image/png")
    await storage.put(key, b"second", "image/png")
    target = storage.path_of(key)
    assert target.read_bytes() == b"second"
    assert target.is_relative_to(tmp_path / "storage")
    assert _names(target.parent) == [target.name]  # no temporary files left behind
    for key in ["../outside", "users/../../outside"]:
        with pytest.raises(ValueError):
            await storage.put(key, b"x", "image/png")
    assert _names(tmp_path) == ["storage"]


async def test_local_prefix_of_other_keys_is_no_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")
    await storage.put("users/a/b", b"x", "image/png")
    assert not await storage.exists("users/a")
    with pytest.raises(ObjectNotFound):
        await storage.get("users/a")
    await storage.delete("users/a")
    with pytest.raises(ObjectNotFound):
        await storage.get("users/a/b/c")  # a path through a file
    assert await storage.get("users/a/b") == b"x"


async def test_s3_object_carries_its_content_type(moto_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage(_s3_settings(tmp_path, moto_endpoint))
    key = _key()
    await storage.put(key, b"\x89PNG", "image/png")
    head = storage._client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/png"


async def test_s3_missing_bucket_is_a_storage_error(moto_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage(_s3_settings(tmp_path, moto_endpoint, s3_bucket="no-such-bucket"))
    with pytest.raises(StorageError) as refused:
        await storage.get(_key())
    assert "NoSuchBucket" in str(refused.value)


async def test_s3_unreachable_endpoint_is_a_storage_error(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    storage = S3Storage(_s3_settings(tmp_path, endpoint, storage_timeout_seconds=1))
    for attempt in (storage.put(_key(), b"x", "image/png"), storage.get(_key())):
        with pytest.raises(StorageError) as failed:
            await attempt
        assert SECRET not in str(failed.value)
        assert KEY_ID not in str(failed.value)


def test_s3_public_url(tmp_path: Path) -> None:
    key = _key()
    plain = S3Storage(_s3_settings(tmp_path, "http://127.0.0.1:9"))
    assert plain.public_url(key) is None
    public = S3Storage(_s3_settings(tmp_path, "http://127.0.0.1:9", s3_public_url="https://cdn.example.com/"))
    assert public.public_url(key) == f"https://cdn.example.com/{key}"
