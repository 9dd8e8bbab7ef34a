"""Rows every service keeps for a while and then deletes: the consumers' inbox (a redelivered event must
still find its id, inbox.py) and the idempotency keys of mutating RPCs (a retried request must still find
its first answer, idempotency.py).

`purge_older_than` deletes one table's rows older than the retention, oldest first, in chunks of at most
`chunk` rows, each its own short transaction (no long snapshot, few row locks at a time). Each table has an
index on the timestamp it is purged by (migration `*_retention_indexes` of every service), so a chunk reads
the rows it deletes: without it, a purge that found little to delete read the whole table (the inbox keeps
15 days of events, the idempotency keys a month of requests, each with its answer).
`PeriodicPurge.run` is the service host's task for one table.

`SeqPurge` purges an outbox-like table instead, whose rows come in `seq` order (its primary key) and are done
with later (published, sent): a chunk reads the oldest rows by that key, deletes those done with before the
cut-off, and the purge ends at the first row written after it. It needs no index of its own and reads about
what it deletes (the event outbox's relay, relay.py; orders' stock requests).

Failure modes: the database unreachable during a pass: the pass is logged and tried again at the next
interval; nothing else waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_runtime.db import driver_transaction

log = logging.getLogger(__name__)

DAY = 86400.0
# What each purged table is purged by (the column its retention index covers).
AGE_COLUMNS = {"inbox": "processed_at", "idempotency_keys": "created_at"}


def purge_statement(table: str) -> str:
    """The statement that deletes a chunk of `table` ($1: the retention in seconds, $2: the chunk)."""
    column = AGE_COLUMNS[table]  # names from this module, never from a caller's input
    return (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} "
        f"WHERE {column} < now() - make_interval(secs => $1) ORDER BY {column} LIMIT $2))"
    )


async def purge_older_than(engine: AsyncEngine, table: str, retention_seconds: float, *, chunk: int = 10_000) -> int:
    """Delete `table`'s rows older than `retention_seconds`, a chunk per transaction; returns how many."""
    statement, total = purge_statement(table), 0
    while True:
        async with driver_transaction(engine) as conn:
            status = await conn.execute(statement, retention_seconds, chunk)  # "DELETE <rows>"
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < chunk:
            return total


def seq_purge_statements(table: str, done: str, written: str) -> tuple[str, str]:
    """`SeqPurge`'s two statements: the next chunk after seq $1 (at most $2 rows, cut-off $3 seconds ago),
    each row with whether it is `gone` (done with before the cut-off) and `young` (written after it); and the
    delete of the gone rows' seqs. Names come from the code, never from a caller's input."""
    cut = "now() - make_interval(secs => $3)"
    return (
        f"SELECT seq, {done} < {cut} AS gone, {written} >= {cut} AS young FROM {table} "
        "WHERE seq > $1 ORDER BY seq LIMIT $2",
        f"DELETE FROM {table} WHERE seq = ANY($1::bigint[])",
    )


class SeqPurge:
    """The purge of one outbox-like table (module doc), a chunk per `step`, keeping its place between steps."""

    def __init__(self, table: str, *, done: str, written: str, retention_seconds: float, chunk: int = 2000) -> None:
        self._head, self._delete = seq_purge_statements(table, done, written)
        self._retention = retention_seconds
        self._chunk = chunk
        self._after = 0  # the last seq the previous chunk looked at
        self.purged = 0

    async def step(self, engine: AsyncEngine) -> bool:
        """Delete one chunk. True while there is more to look at; False when the purge reached rows younger
        than the cut-off (or the end of the table), and the next one starts again from the oldest row."""
        try:
            async with driver_transaction(engine) as conn:
                head = await conn.fetch(self._head, self._after, self._chunk, self._retention)
                gone = [r["seq"] for r in head if r["gone"]]
                if gone:
                    await conn.execute(self._delete, gone)
        except BaseException:
            self._after = 0
            raise
        self.purged += len(gone)
        if len(head) < self._chunk or any(r["young"] for r in head):
            self._after = 0
            return False
        self._after = head[-1]["seq"]
        return True

    async def run(self, engine: AsyncEngine) -> int:
        """A whole purge; returns how many rows it deleted."""
        before = self.purged
        while await self.step(engine):
            pass
        return self.purged - before


class PeriodicPurge:
    """Runs `purge` every `interval_seconds` (the first pass soon after start) and counts what it deleted."""

    def __init__(self, table: str, purge: Callable[[], Awaitable[int]], *, interval_seconds: float) -> None:
        self._table = table
        self._purge = purge
        self._interval = interval_seconds
        self.purged = 0

    async def once(self) -> int:
        """One pass; returns how many rows it deleted."""
        deleted = await self._purge()
        self.purged += deleted
        if deleted:
            log.info("%s: purged %d rows past their retention", self._table, deleted)
        return deleted

    async def run(self) -> None:
        await asyncio.sleep(min(60.0, self._interval))  # let the service start first
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s purge failed; trying again in %.0fs: %r", self._table, self._interval, exc)
            await asyncio.sleep(self._interval)
