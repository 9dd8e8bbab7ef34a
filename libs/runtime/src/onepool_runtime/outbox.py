"""The transactional outbox: integration events are rows written in the same transaction as the change.

Only the relay (relay.py) publishes them to NATS. A rolled-back transaction leaves no row, so nothing is
ever published for a change that did not happen. Each event's subject comes from the event registry
(onepool_contracts.events, generated from the protos' subject options), so callers pass messages only.

Waking the relay: when a transaction that wrote outbox rows commits, the relays of this process that publish
from the same connection pool are woken at once (`on_commit`, through SQLAlchemy's after_commit event), so
an event leaves within a relay pass of its commit. No NOTIFY: PostgreSQL serialises the commits of every
transaction that notified in a database on one lock held through the WAL flush, which made each writing
transaction wait for the others. Rows written by another process (a replica whose relay is gone, a tool)
are found by the relay's poll.

Hot paths that run their transaction on asyncpg directly (`db.driver_transaction`, inventory's Reserve
batches) write the same rows with `add_events_on` (one statement for any number of events) and call `wake`
after their commit.

Failure modes: a message that is not a registered event raises LookupError before anything is written.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from google.protobuf.message import Message
from onepool_contracts.events import subject_of
from onepool_kernel.ids import new_uuid
from opentelemetry import propagate
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from onepool_runtime.tables import outbox

EVENT_TYPE_HEADER = "Onepool-Event-Type"
MSG_ID_HEADER = "Nats-Msg-Id"


def new_event_id() -> str:
    return new_uuid()  # buffered: no system call per event (onepool_kernel.ids)


_WROTE = "onepool_outbox_written"  # in the session's info while its transaction holds new outbox rows
_on_commit: weakref.WeakKeyDictionary[Any, list[Callable[[], None]]] = weakref.WeakKeyDictionary()


def on_commit(engine: AsyncEngine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` (in the committing task, so it must not block) after every commit of a transaction that
    wrote outbox rows through a session on this engine's pool. Returns the function that stops it."""
    pool = engine.sync_engine.pool
    _on_commit.setdefault(pool, []).append(wake)

    def stop() -> None:
        callbacks = _on_commit.get(pool, [])
        if wake in callbacks:
            callbacks.remove(wake)

    return stop


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop(_WROTE, False) and session.bind is not None:
        for wake in list(_on_commit.get(session.bind.engine.pool, ())):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WROTE, None)


def stamp(message: Message, source: str) -> str:
    """Fill the event's meta (id, time, source, type) unless the caller set them; return the event id."""
    meta = message.meta  # type: ignore[attr-defined]
    if not meta.event_id:
        meta.event_id = new_event_id()
    if not meta.occurred_at.seconds:
        meta.occurred_at.FromDatetime(datetime.now(UTC))
    if not meta.source:
        meta.source = source
    meta.type = message.DESCRIPTOR.full_name
    return str(meta.event_id)


# One statement for any number of events, on an asyncpg connection inside the writing transaction (the one
# under a unit of work's session, `UnitOfWork.driver`, or a driver transaction's own).
_INSERT = (
    "INSERT INTO outbox (id, subject, payload, headers) "
    "SELECT e.id, e.subject, e.payload, e.headers::jsonb "
    "FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) "
    "WITH ORDINALITY AS e(id, subject, payload, headers, n) "
    "ORDER BY e.n"
)


def _rows(source: str, events: Iterable[Message]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for message in events:
        subject = subject_of(message)
        event_id = stamp(message, source)
        headers: dict[str, str] = {EVENT_TYPE_HEADER: message.DESCRIPTOR.full_name}
        # The trace context of the request that caused the event travels with it (one trace per order).
        propagate.inject(headers)
        rows.append({"id": event_id, "subject": subject, "payload": message.SerializeToString(), "headers": headers})
    return rows


# The four arrays `_INSERT` takes ($1..$4): event ids, subjects, payloads and headers (JSON text).
Columns = tuple[list[str], list[str], list[bytes], list[str]]


def columns(source: str, events: Iterable[Message]) -> Columns:
    """The events as outbox columns, in `_INSERT`'s form: for a statement that writes them together with the
    change they announce (`UnitOfWork.outbox_columns`), as unnest($1::text[], $2::text[], $3::bytea[],
    $4::text[]) WITH ORDINALITY, inserted in that order."""
    rows = _rows(source, events)
    return (
        [r["id"] for r in rows],
        [r["subject"] for r in rows],
        [r["payload"] for r in rows],
        [json.dumps(r["headers"]) for r in rows],
    )


def mark_written(session: AsyncSession) -> None:
    """The session's transaction wrote outbox rows (in a statement of its own making): wake the relays when
    it commits."""
    session.info[_WROTE] = True


async def _insert(driver: Any, rows: list[dict[str, Any]]) -> None:
    await driver.execute(
        _INSERT,
        [r["id"] for r in rows],
        [r["subject"] for r in rows],
        [r["payload"] for r in rows],
        [json.dumps(r["headers"]) for r in rows],
    )


async def add_events(session: AsyncSession, source: str, events: Iterable[Message], *, driver: Any = None) -> list[str]:
    """Write events to the outbox, each on its registered subject, inside the caller's open transaction; the
    relay is woken when it commits (module doc). `driver`: the asyncpg connection of that same transaction
    (`UnitOfWork.driver()`), which writes them in one statement without SQLAlchemy's per-row work."""
    rows = _rows(source, events)
    if not rows:
        return []
    if driver is not None:
        await _insert(driver, rows)
    else:
        await session.execute(insert(outbox), rows)
    session.info[_WROTE] = True
    return [str(r["id"]) for r in rows]


async def add_events_on(conn: asyncpg.Connection, source: str, events: Iterable[Message]) -> list[str]:
    """`add_events` inside a transaction the caller runs on asyncpg directly, without a session
    (`db.driver_transaction`); the caller calls `wake` after its commit."""
    rows = _rows(source, events)
    if rows:
        await _insert(conn, rows)
    return [str(r["id"]) for r in rows]


def wake(engine: AsyncEngine) -> None:
    """Wake the relays publishing from this engine's pool (after a commit that wrote outbox rows)."""
    for callback in list(_on_commit.get(engine.sync_engine.pool, ())):
        callback()
