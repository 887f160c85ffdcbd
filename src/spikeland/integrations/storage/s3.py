"""Object storage on an S3-compatible service (Cloudflare R2, AWS S3, MinIO) through boto3.

boto3 is synchronous, so every call runs in a worker thread; one client (thread-safe) serves them all.
Errors never carry the credentials: only the operation, the key and the service's error code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from spikeland.core.admission import outside
from spikeland.integrations.storage import ObjectNotFound, StorageError, check_key, chunks
from spikeland.settings import Settings

_T = TypeVar("_T")
# GetObject answers NoSuchKey; HeadObject has no body, so only its status says "404".
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Storage:
    name = "s3"

    def __init__(self, settings: Settings) -> None:
        if not settings.s3_bucket:
            raise ValueError("S3Storage needs settings.s3_bucket")
        self.bucket = settings.s3_bucket
        self._public_url = settings.s3_public_url.rstrip("/") if settings.s3_public_url else None
        timeout = settings.storage_timeout_seconds
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"mode": "standard", "max_attempts": 3},
            signature_version="s3v4",
            # R2 and most self-hosted stores have no per-bucket host names.
            s3={"addressing_style": "path"} if settings.s3_endpoint_url else {},
        )
        secret = settings.s3_secret_access_key
        # A fresh session per storage: boto3's default session is shared and not thread-safe.
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
            config=config,
        )

    def public_url(self, key: str) -> str | None:
        """Where the object can be fetched without signing, when the bucket is public (R2 domain)."""
        if self._public_url is None:
            return None
        return f"{self._public_url}/{check_key(key)}"

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        await self._call(
            "put",
            key,
            lambda: self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type),
        )

    async def put_file(self, key: str, source: BinaryIO, content_type: str) -> None:
        check_key(key)

        def upload() -> None:
            source.seek(0)
            # boto3's managed transfer: multipart above its threshold, each part read as it goes.
            self._client.upload_fileobj(source, self.bucket, key, ExtraArgs={"ContentType": content_type})

        await self._call("put", key, upload)

    async def get(self, key: str) -> bytes:
        check_key(key)

        def read() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                data: bytes = body.read()
            return data

        try:
            return await self._call("get", key, read)
        except _Missing as exc:
            raise ObjectNotFound(key) from exc.__cause__

    async def open(self, key: str) -> AsyncIterator[bytes]:
        check_key(key)
        try:
            response = await self._call(
                "get", key, lambda: self._client.get_object(Bucket=self.bucket, Key=key)
            )
        except _Missing as exc:
            raise ObjectNotFound(key) from exc.__cause__
        body = response["Body"]
        # A read failing midway (connection reset) surfaces as the stream's error: the download
        # breaks off, as it would from the service itself.
        return chunks(body.read, body.close)

    async def delete(self, key: str) -> None:
        # DeleteObject succeeds for a key that is not there: idempotent as the interface asks.
        check_key(key)
        await self._call("delete", key, lambda: self._client.delete_object(Bucket=self.bucket, Key=key))

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await self._call("exists", key, lambda: self._client.head_object(Bucket=self.bucket, Key=key))
        except _Missing:
            return False
        return True

    async def _call(self, operation: str, key: str, call: Callable[[], _T]) -> _T:
        try:
            async with outside():  # a network call: the request's slot goes to others meanwhile
                return await asyncio.to_thread(call)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "unknown"))
            if code in _MISSING:
                raise _Missing from exc
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise StorageError(f"S3 {operation} {key} refused: {code} (HTTP {status})") from exc
        except BotoCoreError as exc:
            # Connection refused, timeouts, missing credentials: the message may name the endpoint,
            # so only the kind of failure is passed on.
            raise StorageError(f"S3 {operation} {key} failed: {type(exc).__name__}") from exc


class _Missing(Exception):
    """Internal: the service said the key is not there (each operation decides what that means)."""
