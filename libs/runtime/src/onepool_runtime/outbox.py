"""The transactional outbox: integration events are rows written in the same transaction as the change.

Only the relay (relay.py) publishes them to NATS. A rolled-back transaction leaves no row, so nothing is
ever published for a change that did not happen. Each event's subject comes from the event registry
(onepool_contracts.events, generated from the protos' subject options), so callers pass messages only.

Failure modes: a message that is not a registered event raises LookupError before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf.message import Message
from onepool_contracts.events import subject_of
from opentelemetry import propagate
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_runtime.tables import outbox

EVENT_TYPE_HEADER = "Onepool-Event-Type"
MSG_ID_HEADER = "Nats-Msg-Id"


def new_event_id() -> str:
    return str(uuid.uuid4())


def notify_channel(schema: str) -> str:
    return f"onepool_outbox_{schema}"


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


async def add_events(session: AsyncSession, source: str, events: Iterable[Message]) -> list[str]:
    """Write events to the outbox, each on its registered subject, inside the caller's open transaction and
    wake the relay on commit."""
    rows: list[dict[str, object]] = []
    for message in events:
        subject = subject_of(message)
        event_id = stamp(message, source)
        headers: dict[str, str] = {EVENT_TYPE_HEADER: message.DESCRIPTOR.full_name}
        # The trace context of the request that caused the event travels with it (one trace per order).
        propagate.inject(headers)
        rows.append({"id": event_id, "subject": subject, "payload": message.SerializeToString(), "headers": headers})
    if not rows:
        return []
    await session.execute(insert(outbox), rows)
    # NOTIFY is transactional: the relay is woken only if this transaction commits. The schema is the
    # session's search_path, so the channel is derived server-side.
    await session.execute(text("SELECT pg_notify('onepool_outbox_' || current_schema(), '')"))
    return [str(r["id"]) for r in rows]
