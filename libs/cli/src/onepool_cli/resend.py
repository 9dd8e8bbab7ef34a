"""`onepool outbox resend --since T`: publish again the events the outboxes still hold, after JetStream lost them.

Each service's outbox keeps its published rows `outbox_retention_hours` (24 h) before the relay purges them.
When JetStream loses its data (a volume lost, a stream deleted or purged by mistake), the events published in
that time are gone from the streams while their rows are still here; this re-publishes each chosen service's
rows published at or after T, in outbox order (seq, the order the relay published them), page by page (a page's
PubAcks before the next page, so the stream stores them in that order), through the relay's own publish
(`relay.publish_row`: the stored headers, Onepool-Event-Type among them, and Nats-Msg-Id = the event id).

What the server keeps is dropped: within the stream's duplicate window (messaging.DUPLICATE_WINDOW_SECONDS, 10
min) a message id it has seen is answered "duplicate" and not stored again, so T may be early and a repeated
resend adds nothing. Beyond the window an event the stream still holds is stored twice; every consumer's inbox
keeps the event ids it applied (15 days or more) and drops the copy. A stream created again (deleted, or its
node back without its state) has forgotten every id: all is stored again, which is what it lacks. A purged
stream has not: it still answers "duplicate" for the ids of its last 10 minutes, whose messages it no longer
holds. Those are counted apart ("forgotten": the PubAck names a sequence before the stream's first, or one in
a gap a subject purge or a deleted message left) and the command says to run again once the window has passed;
the server then stores them, and what the first run stored a second time (the inboxes drop the copies).

Rows are never changed: the relay goes on publishing the unpublished ones meanwhile. Failure modes: PostgreSQL
or NATS unreachable -> exit 1 with the reason; a chosen service's stream not on the server -> refused before
anything is published (its service creates it when it starts, or its relay at its next publish); a publish not
acknowledged in time -> counted as failed, the rest goes on, exit 1: running the command again sends what
failed and the server drops the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from onepool_runtime.db import check_schema_name, connecting_engine
from onepool_runtime.messaging import STREAMS
from onepool_runtime.relay import publish_row
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncEngine

PAGE = 500
ACK_SECONDS = 10.0  # a page's PubAcks, all together

# published_at has no index: one scan finds where the rows start, the pages then follow the primary key.
_FIRST = 'SELECT count(*), coalesce(min(seq), 0) FROM "{schema}".outbox WHERE published_at >= :since'
_PAGE = (
    'SELECT seq, id, subject, payload, headers FROM "{schema}".outbox '
    "WHERE seq >= :after AND published_at >= :since ORDER BY seq LIMIT :n"
)


@dataclass(frozen=True)
class Plan:
    service: str
    stream: str
    migrated: bool
    events: int = 0  # published at or after T, still in the outbox
    first_seq: int = 0
    stream_there: bool = True


@dataclass
class Outcome:
    service: str
    stored: int = 0  # the server stored it again
    duplicates: int = 0  # the server still holds it: dropped
    forgotten: int = 0  # the server remembers its id (duplicate window) but no longer holds it: dropped too
    failed: int = 0
    last_error: str = ""


class DatabaseFailed(Exception):
    """PostgreSQL failed while events were being re-sent (the cause is the driver's error)."""


async def read_plans(database_url: str, services: list[str], since: datetime) -> list[Plan]:
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    plans = []
    try:
        async with engine.connect() as conn:
            for service in services:
                schema = check_schema_name(service)
                if await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".outbox'}) is None:
                    plans.append(Plan(service, STREAMS[service], migrated=False))
                    continue
                count, first = (await conn.execute(text(_FIRST.format(schema=schema)), {"since": since})).one()
                plans.append(Plan(service, STREAMS[service], True, int(count), int(first)))
    finally:
        await engine.dispose()
    return plans


async def with_streams(js: JetStreamContext, plans: list[Plan]) -> list[Plan]:
    """The plans, each saying whether its stream is on the server."""
    found = []
    for p in plans:
        try:
            await js.stream_info(p.stream)
            there = True
        except NotFoundError:
            there = False
        found.append(Plan(p.service, p.stream, p.migrated, p.events, p.first_seq, there))
    return found


async def resend(
    nc: Client,
    database_url: str,
    plans: list[Plan],
    since: datetime,
    advance: Callable[[int], None] = lambda n: None,
) -> list[Outcome]:
    """Re-publish each plan's rows in seq order; `advance(n)` after each page (a progress bar)."""
    js = nc.jetstream()
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    outcomes = []
    try:
        for p in plans:
            if p.events:
                outcomes.append(await _one(js, engine, p, since, advance))
    finally:
        await engine.dispose()
    return outcomes


async def _one(
    js: JetStreamContext, engine: AsyncEngine, plan: Plan, since: datetime, advance: Callable[[int], None]
) -> Outcome:
    out = Outcome(plan.service)
    query = text(_PAGE.format(schema=check_schema_name(plan.service)))
    after = plan.first_seq
    while True:
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(query, {"after": after, "since": since, "n": PAGE})).all()
        except Exception as exc:  # named by the command (pg.reported), not taken for a NATS failure
            raise DatabaseFailed(str(exc)) from exc
        if not rows:
            return out
        # A purge keeps the ids of the duplicate window: a "duplicate" of a message before the stream's first
        # was not stored, and the stream does not have it (counted apart, to send again once the window passed).
        # A subject purged or messages deleted one by one leave gaps after the first: a duplicate there is
        # looked up (only while the stream has gaps).
        state = (await js.stream_info(plan.stream)).state
        first, gaps = state.first_seq, bool(state.num_deleted)
        futures = [await publish_row(js, r.id, r.subject, r.payload, _headers(r.headers)) for r in rows]
        done, pending = await asyncio.wait(futures, timeout=ACK_SECONDS)
        for fut in futures:
            if fut in done and fut.exception() is None:
                ack = fut.result()
                if ack.duplicate and (ack.seq < first or (gaps and not await _held(js, plan.stream, ack.seq))):
                    out.forgotten += 1
                elif ack.duplicate:
                    out.duplicates += 1
                else:
                    out.stored += 1
            else:
                out.failed += 1
                out.last_error = repr(fut.exception()) if fut in done else "no PubAck in time"
        for fut in pending:
            fut.cancel()
        advance(len(rows))
        after = rows[-1].seq + 1


async def _held(js: JetStreamContext, stream: str, seq: int) -> bool:
    """Whether the stream still holds the message at `seq` (a duplicate's PubAck names the one first stored)."""
    try:
        await js.get_msg(stream, seq=seq)
    except NotFoundError:
        return False
    return True


def _headers(stored: Any) -> dict[str, str] | None:
    return json.loads(stored) if isinstance(stored, str) else stored
