"""Databases made for one test module: a template built once, fresh copies of it per test."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from tests.conftest import drop_database, with_database


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"


async def _clone(server_url: str, template: str, name: str) -> str:
    """CREATE DATABASE ... TEMPLATE, retried while the template's last backend is still exiting."""
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        for attempt in range(50):
            try:
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except asyncpg.ObjectInUseError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
    return with_database(server_url, name)


@contextmanager
def copy_of(server_url: str, template: str, prefix: str) -> Iterator[str]:
    """A fresh copy of the ``template`` database, dropped when the block ends; yields its URL."""
    name = unique_name(prefix)
    url = asyncio.run(_clone(server_url, template, name))
    try:
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))
