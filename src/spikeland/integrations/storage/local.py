"""Object storage on the local filesystem: one file per key under a root directory (the default,
``data_dir/storage``). Keys map to relative paths after :func:`check_key`, so none can leave the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from spikeland.integrations.storage import ObjectNotFound, StorageError, check_key, chunks

_CHUNK = 1024 * 1024


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        # The content type is not kept: callers know what they stored (the key carries the extension).
        path = self.path_of(key)
        await asyncio.to_thread(self._write, path, data)

    async def put_file(self, key: str, source: BinaryIO, content_type: str) -> None:
        path = self.path_of(key)
        await asyncio.to_thread(self._write_from, path, source)

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        return await asyncio.to_thread(self._read, path, key)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        handle = await asyncio.to_thread(self._open, path, key)
        return chunks(handle.read, handle.close)

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        await asyncio.to_thread(self._remove, path)

    async def exists(self, key: str) -> bool:
        path = self.path_of(key)
        return await asyncio.to_thread(path.is_file)

    def _write(self, path: Path, data: bytes) -> None:
        self._write_from(path, io.BytesIO(data))

    def _write_from(self, path: Path, source: BinaryIO) -> None:
        # Written under a temporary name in the same directory, flushed to disk and renamed over
        # the target: a reader sees the old object or the new one, never half of one.
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    source.seek(0)
                    shutil.copyfileobj(source, handle, _CHUNK)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            _sync_directory(path.parent)
        except OSError as exc:
            raise StorageError(f"local storage could not write {path.name}: {type(exc).__name__}") from exc

    @staticmethod
    def _read(path: Path, key: str) -> bytes:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"local storage could not read {path.name}: {type(exc).__name__}") from exc

    @staticmethod
    def _open(path: Path, key: str) -> BinaryIO:
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"local storage could not read {path.name}: {type(exc).__name__}") from exc

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            # A directory at that path is only a prefix of other keys, not an object.
            return
        except OSError as exc:
            raise StorageError(f"local storage could not delete {path.name}: {type(exc).__name__}") from exc


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry itself reaches the disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
