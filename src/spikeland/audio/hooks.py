"""Audio's reactions to identity events, registered by ``register()`` (called once at start by
``spikeland.routes.register_hooks``; importing this module registers nothing)."""

from __future__ import annotations

from spikeland.audio import service
from spikeland.identity import hooks as identity_hooks


def register() -> None:
    """Idempotent: the hook list ignores a second registration of the same function."""
    # A user's deletion removes their tracks' files, waveforms and mixdowns once it has committed.
    identity_hooks.on_user_delete(service.user_file_keys)
