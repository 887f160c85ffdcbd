"""Box providers: where a box's browser runs.

A box is a browser with persistent storage (its profile) and a remote-debugging endpoint, its
``connectionUrl``, that agents drive over the Chrome DevTools Protocol. The boxes domain calls a
``BoxProvider`` from its jobs; every method is idempotent, so a retried job finds the work done.

The **local provider** (default, ``local``) runs a headless Chromium per box on this machine. A
**remote provider** for cloud VMs implements the same protocol against its API:

- ``create(box_id, limits)``: provision a VM of the tier's size (``limits``) and a persistent
  volume for the profile (its id belongs in ``boxes.storageVolumeId``); no browser yet;
- ``start(box_id, limits)``: boot the VM with the volume attached, start Chromium with
  ``--remote-debugging-port`` behind an authenticated tunnel or private network, and return its
  DevTools URL (``http(s)://host:port``) once ``/json/version`` answers;
- ``stop``: shut the browser down cleanly (cookies flushed to the volume), then stop the VM (the
  volume stays); ``delete``: stop, then destroy the VM and the volume; ``clone``: snapshot the source
  volume into a new one for the new box; ``is_running``: the VM and the browser both answer;
  ``box_ids``: the boxes it holds VMs or volumes for (tagged with the box's id).

Errors are ``BoxProviderError`` (the job retries, then marks the box ERROR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from spikeland.settings import Settings


class BoxProviderError(Exception):
    """The provider could not do what was asked (the message says why)."""


class BrowserMissing(BoxProviderError):
    """No Chromium where the local provider looks: a permanent failure until it is installed."""


@dataclass(frozen=True)
class BoxLimits:
    """A tier's resources (``box_tiers``): vCPUs, RAM in MB, storage in GB."""

    cpu: int
    ram_mb: int
    storage_gb: int


class BoxProvider(Protocol):
    async def create(self, box_id: str, limits: BoxLimits) -> None:
        """Make the box's storage (an empty profile); nothing runs yet."""
        ...

    async def start(self, box_id: str, limits: BoxLimits) -> str:
        """Start the box's browser (or find it running); its DevTools URL."""
        ...

    async def stop(self, box_id: str) -> None:
        """Stop the browser; the profile stays."""
        ...

    async def delete(self, box_id: str) -> None:
        """Stop the browser and remove the profile."""
        ...

    async def clone(self, source_id: str, box_id: str) -> None:
        """Copy the source box's profile as the new box's (which must not be running)."""
        ...

    async def is_running(self, box_id: str) -> bool: ...

    async def box_ids(self) -> list[str]:
        """Every box the provider holds anything of (a browser, a profile)."""
        ...


def make_box_provider(settings: Settings) -> BoxProvider:
    """The local Chromium provider (the only one built in; a remote one implements the protocol)."""
    from spikeland.integrations.boxes.local import LocalBoxProvider

    return LocalBoxProvider(
        settings.data_dir / "boxes", settings.chromium, settings.box_start_timeout_seconds
    )
