"""The consumers' inbox: which events each consumer has applied, so that a redelivery has no effect.

`claim` records a whole batch of events in one statement and returns the ids not seen before, in the
consumer's transaction: the rows commit with the handlers' effects or not at all. Ids are inserted in sorted
order, so two replicas claiming overlapping batches wait for each other instead of deadlocking; a replica
that waits on another's uncommitted row finds it after the commit and skips that event.

`purge` deletes rows older than the retention, which must be longer than any redelivery can come: a stream
keeps a message for its max age (7 days, messaging.py) and a dead letter may be replayed for as long as the
DLQ stream keeps it (7 more days), so the default keeps 15 days (`ONEPOOL_INBOX_RETENTION_DAYS`). It
deletes in chunks, oldest first, each its own short transaction (retention.py); the consumer host runs it
periodically.

Failure modes: the database unreachable during a purge pass: the pass is logged and tried again at the
next interval; nothing else depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_runtime import retention

# Run on the asyncpg connection of the consumer's transaction (UnitOfWork.driver): one prepared statement,
# without SQLAlchemy's per-statement work, for every batch.
_CLAIM = (
    "INSERT INTO inbox (consumer, event_id, subject) "
    "SELECT $1::text, e, s FROM unnest($2::text[], $3::text[]) AS t(e, s) "
    "ORDER BY e ON CONFLICT DO NOTHING RETURNING event_id"
)
DAY = retention.DAY


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
    return await retention.purge_older_than(engine, "inbox", retention_seconds, chunk=chunk)
