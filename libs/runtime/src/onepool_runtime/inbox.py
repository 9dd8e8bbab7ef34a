"""The consumers' inbox: which events each consumer has applied, so that a redelivery has no effect.

`claim` records a whole batch of events in one statement and returns the ids not seen before, in the
consumer's transaction: the rows commit with the handlers' effects or not at all. Ids are inserted in sorted
order, so two replicas claiming overlapping batches wait for each other instead of deadlocking; a replica
that waits on another's uncommitted row finds it after the commit and skips that event.

`purge` deletes rows older than the retention, which must be longer than any redelivery can come: a stream
keeps a message for its max age (7 days, messaging.py) and a dead letter may be replayed for as long as the
DLQ stream keeps it (7 more days), so the default keeps 15 days (`ONEPOOL_INBOX_RETENTION_DAYS`). It
deletes in chunks, each its own short transaction, so it never holds many row locks or a long snapshot.
`InboxPurge.run` is the consumer host's periodic task.

Failure modes: the database unreachable during a purge pass: the pass is logged and tried again at the
next interval; nothing else depends on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Run on the asyncpg connection of the consumer's transaction (UnitOfWork.driver): one prepared statement,
# without SQLAlchemy's per-statement work, for every batch.
_CLAIM = (
    "INSERT INTO inbox (consumer, event_id, subject) "
    "SELECT $1::text, e, s FROM unnest($2::text[], $3::text[]) AS t(e, s) "
    "ORDER BY e ON CONFLICT DO NOTHING RETURNING event_id"
)
_PURGE = text(
    "DELETE FROM inbox WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(secs => :secs) LIMIT :limit))"
)
DAY = 86400.0


async def claim(driver: Any, consumer: str, events: Iterable[tuple[str, str]]) -> set[str]:
    """Record (event id, subject) pairs for `consumer`, on the asyncpg connection `driver` inside the
    consumer's transaction; returns the ids recorded now (not seen before).

    Each id may appear once (the caller drops repeats within a batch)."""
    pairs = sorted(events)
    if not pairs:
        return set()
    rows = await driver.fetch(_CLAIM, consumer, [p[0] for p in pairs], [p[1] for p in pairs])
    return {r[0] for r in rows}


async def purge(engine: AsyncEngine, retention_seconds: float, *, chunk: int = 10_000) -> int:
    """Delete inbox rows (of every consumer of this schema) older than `retention_seconds`; returns how many."""
    total = 0
    while True:
        async with engine.begin() as conn:
            deleted = (await conn.execute(_PURGE, {"secs": retention_seconds, "limit": chunk})).rowcount
        total += deleted
        if deleted < chunk:
            return total


class InboxPurge:
    """Purges the inbox every `interval_seconds` (the first pass soon after start)."""

    def __init__(self, engine: AsyncEngine, *, retention_seconds: float, interval_seconds: float) -> None:
        self._engine = engine
        self._retention = retention_seconds
        self._interval = interval_seconds
        self.purged = 0

    async def run(self) -> None:
        await asyncio.sleep(min(60.0, self._interval))  # let the service start first
        while True:
            try:
                deleted = await purge(self._engine, self._retention)
                self.purged += deleted
                if deleted:
                    log.info("inbox: purged %d rows older than %.1f days", deleted, self._retention / DAY)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inbox purge failed; trying again in %.0fs: %r", self._interval, exc)
            await asyncio.sleep(self._interval)
