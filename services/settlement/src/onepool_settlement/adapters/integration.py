"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place settlement's domain objects become its published contract."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.settlement.v1 import events_pb2 as ev

from onepool_settlement.adapters import mappers
from onepool_settlement.domain import events as de


def translate(event: object) -> Iterable[Message]:
    match event:
        case de.EntryPosted(entry=entry, lines=lines):
            yield ev.EntryPosted(
                entry_id=entry.id,
                order_id=entry.order_id,
                rule=entry.rule.value,
                currency=entry.currency,
                source_event_id=entry.source.event_id,
                lines=[mappers.line_to_proto(ln) for ln in lines],
            )
        case de.StatementGenerated(statement=st):
            # Without lines: a busy party's statement can exceed a NATS message; GetStatement has them.
            yield ev.StatementGenerated(statement=mappers.statement_to_proto(st, with_lines=False))
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
