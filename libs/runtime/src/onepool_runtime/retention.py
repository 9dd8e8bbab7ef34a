"""Rows every service keeps for a while and then deletes: the consumers' inbox (a redelivered event must
still find its id, inbox.py) and the idempotency keys of mutating RPCs (a retried request must still find
its first answer, idempotency.py).

`purge_older_than` deletes one table's rows older than the retention, oldest first, in chunks of at most
`chunk` rows, each its own short transaction (no long snapshot, few row locks at a time). Each table has an
index on the timestamp it is purged by (migration `*_retention_indexes` of every service), so a chunk reads
the rows it deletes: without it, a purge that found little to delete read the whole table (the inbox keeps
15 days of events, the idempotency keys a month of requests, each with its answer).
`PeriodicPurge.run` is the service host's task for one table.

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


class PeriodicPurge:
    """Runs `purge` every `interval_seconds` (the first pass soon after start) and counts what it deleted."""

    def __init__(self, table: str, purge: Callable[[], Awaitable[int]], *, interval_seconds: float) -> None:
        self._table = table
        self._purge = purge
        self._interval = interval_seconds
        self.purged = 0

    async def run(self) -> None:
        await asyncio.sleep(min(60.0, self._interval))  # let the service start first
        while True:
            try:
                deleted = await self._purge()
                self.purged += deleted
                if deleted:
                    log.info("%s: purged %d rows past their retention", self._table, deleted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s purge failed; trying again in %.0fs: %r", self._table, self._interval, exc)
            await asyncio.sleep(self._interval)
