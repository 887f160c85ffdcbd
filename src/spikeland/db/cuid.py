"""CUID v1 identifiers, as Prisma's ``cuid()`` makes them.

Written here rather than taken from PyPI: the ``cuid`` packages there are unmaintained and
not time-ordered within a millisecond. A CUID is ``c`` + timestamp (ms, base36, 8) +
counter (base36, 4) + fingerprint (4) + random (8) = 25 characters. The timestamp never goes
backwards and the counter increases, so ids made in one process sort in creation order.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = 36
_COUNTER_SPACE = _BASE**4
_RANDOM_SPACE = _BASE**8


def _base36(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, _BASE)
        digits.append(_ALPHABET[rem])
    text = "".join(reversed(digits)) or "0"
    return text.rjust(width, "0")[-width:]


def _fingerprint() -> str:
    pid = _base36(os.getpid(), 2)
    host = socket.gethostname()
    host_sum = sum(ord(ch) for ch in host) + len(host) + _BASE
    return pid + _base36(host_sum, 2)


class _CuidGenerator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = secrets.randbelow(_COUNTER_SPACE)
        self._pid = os.getpid()
        self._fingerprint = _fingerprint()

    def __call__(self) -> str:
        with self._lock:
            if os.getpid() != self._pid:  # forked: new fingerprint, so two processes never collide
                self._pid, self._fingerprint = os.getpid(), _fingerprint()
            now_ms = max(int(time.time() * 1000), self._last_ms)
            self._counter += 1
            if self._counter >= _COUNTER_SPACE:
                # Wrapping the counter would break ordering, so move to the next millisecond.
                self._counter = 0
                now_ms += 1
            self._last_ms = now_ms
            counter = self._counter
            fingerprint = self._fingerprint
        return (
            "c"
            + _base36(now_ms, 8)
            + _base36(counter, 4)
            + fingerprint
            + _base36(secrets.randbelow(_RANDOM_SPACE), 8)
        )


cuid = _CuidGenerator()
