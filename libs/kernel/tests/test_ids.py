"""Buffered random UUIDs: as random as uuid4's, one system call per many ids, never shared with a fork."""

from __future__ import annotations

import os
import uuid

import pytest
from onepool_kernel import ids


def test_ids_are_version_4_uuids_and_distinct() -> None:
    made = [ids.new_uuid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made[:50] + made[-50:]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_the_random_source_is_read_once_per_many_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.urandom releases the interpreter lock (a system call): one per id let the relay thread take the lock
    from a request handler on every id it made (onepool_kernel.ids)."""
    reads: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        reads.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    ids._forget_buffer()
    for _ in range(512):
        ids.new_uuid()
    assert len(reads) == 2


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.new_uuid()  # the buffer holds ids the child must not hand out too
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read_end)
        os.write(write_end, ",".join(ids.new_uuid() for _ in range(10)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent = {ids.new_uuid() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent
