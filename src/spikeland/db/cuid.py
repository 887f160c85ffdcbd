"""CUID v1 identifiers, as Prisma's ``cuid()`` makes them.

Written here rather than taken from PyPI: the ``cuid`` packages there are unmaintained and
not time-ordered within a millisecond. A CUID is ``c`` + timestamp (ms, base36, 8) +
counter (base36, 4) + fingerprint (4) + random (8) = 25 characters. The timestamp never goes
backwards and the counter increases, so ids made in one process sort in creation order.

The random block comes from a generator seeded from the OS at start and after every fork, as
CUIDs' own reference implementation uses a non-cryptographic source: ids are not secrets (share
tokens, keys and sessions come from ``secrets``), and reading the OS's source for every id cost
a system call per row on the hot paths (measured with callgrind on the token spend).
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = 36
_COUNTER_SPACE = _BASE**4
_RANDOM_SPACE = _BASE**8
# Every two-digit base-36 string, by value: a 4-digit block is two lookups (ids are made on the hot
# paths; the digit-by-digit loop cost more than the rest of making one).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_PAIR_SPACE = _BASE**2


def _base36(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, _BASE)
        digits.append(_ALPHABET[rem])
    text = "".join(reversed(digits)) or "0"
    return text.rjust(width, "0")[-width:]


def _block4(number: int) -> str:
    high, low = divmod(number % _COUNTER_SPACE, _PAIR_SPACE)
    return _PAIRS[high] + _PAIRS[low]


def _block8(number: int) -> str:
    high, low = divmod(number % _RANDOM_SPACE, _COUNTER_SPACE)
    return _block4(high) + _block4(low)


def _fingerprint() -> str:
    pid = _base36(os.getpid(), 2)
    host = socket.gethostname()
    host_sum = sum(ord(ch) for ch in host) + len(host) + _BASE
    return pid + _base36(host_sum, 2)


class _CuidGenerator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._reset()
        # A forked child gets its own fingerprint and random stream, so two processes never collide.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._random = random.Random(os.urandom(16))
        self._counter = self._random.randrange(_COUNTER_SPACE)
        self._fingerprint = _fingerprint()

    def __call__(self) -> str:
        with self._lock:
            now_ms = max(int(time.time() * 1000), self._last_ms)
            self._counter += 1
            if self._counter >= _COUNTER_SPACE:
                # Wrapping the counter would break ordering, so move to the next millisecond.
                self._counter = 0
                now_ms += 1
            self._last_ms = now_ms
            counter = self._counter
            fingerprint = self._fingerprint
            noise = self._random.randrange(_RANDOM_SPACE)
        return "c" + _block8(now_ms) + _block4(counter) + fingerprint + _block8(noise)


cuid = _CuidGenerator()
