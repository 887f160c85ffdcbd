"""CUID v1 ids: unique, 25 characters, start with ``c``, sort in creation order within a process."""

from __future__ import annotations

import os
import string
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from spikeland.db.cuid import _base36, cuid

BASE36 = set(string.digits + string.ascii_lowercase)


def test_hundred_thousand_cuids() -> None:
    ids = [cuid() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 25 and i[0] == "c" and set(i) <= BASE36 for i in ids)
    assert ids == sorted(ids)


def test_cuid_starts_with_its_creation_time() -> None:
    before = int(time.time() * 1000)
    made = int(cuid()[1:9], 36)
    after = int(time.time() * 1000)
    # The clock part never runs backwards, so it may lead the wall clock slightly after a burst.
    assert before <= made <= after + 1000


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2_000), min_size=1, max_size=5))
def test_ids_made_with_pauses_stay_ordered(pauses_us: list[int]) -> None:
    ids = []
    for pause in pauses_us:
        ids.append(cuid())
        time.sleep(pause / 1_000_000)
        ids.append(cuid())
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_forked_child_has_its_own_fingerprint_and_random_stream() -> None:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(writer, cuid().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    theirs = os.read(reader, 25).decode()
    os.close(reader)
    os.close(writer)
    ours = cuid()  # the parent's next draw: the child's would equal it had it kept the parent's stream
    assert theirs[13:15] == _base36(pid, 2) and ours[13:15] == _base36(os.getpid(), 2)
    assert theirs[17:] != ours[17:]
