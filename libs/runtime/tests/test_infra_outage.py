"""Outages of PostgreSQL and NATS while the outbox relay and a consumer run (issue 9, item 1).

A failure of the infrastructure must never dead-letter an event: the consumer keeps it and backs off until
the database answers again, and the relay keeps publishing afterwards without losing or duplicating. Each
test runs its OWN PostgreSQL / nats-server (the session's are shared with every other test), crashes it with
an immediate shutdown (SIGQUIT, what `pg_ctl stop -m immediate` sends) or a stop, and checks from the
database and the streams that every event was applied exactly once and nothing reached the DLQ stream.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import db, infra, messaging
from onepool_runtime.consumer import DLQ_STREAM, EventConsumer, Subscription
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from onepool_runtime.relay import OutboxRelay
from onepool_runtime.tables import metadata
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.asyncio

# Each test has its own nats-server, so the real stream and subject of StockChanged are free to use.
STREAM = "INVENTORY"


@dataclass
class Rig:
    engine: AsyncEngine
    database_url: str
    schema: str
    nc: Client
    js: JetStreamContext

    @property
    def subject(self) -> str:
        return "inventory.stock.changed"

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="outage")


async def _rig(database_url: str, nats_url: str) -> Rig:
    schema = f"out_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("CREATE TABLE applied (event_id text NOT NULL, at timestamptz DEFAULT now())"))
    nc = await messaging.connect(nats_url, "outage-tests")
    js = nc.jetstream()
    await messaging.ensure_stream(js, STREAM, ["inventory.>"])
    await messaging.ensure_stream(js, DLQ_STREAM, ["dlq.>"])
    return Rig(engine, database_url, schema, nc, js)


async def _record(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
    await uow.session.execute(text("INSERT INTO applied (event_id) VALUES (:e)"), {"e": event.meta.event_id})


def _consumer(rig: Rig) -> EventConsumer:
    # Production settings (max_deliver 5 and the default back-offs): today's 3-second restart is the case.
    return EventConsumer(
        rig.js,
        rig.uow,
        service="outage",
        name=f"c{uuid.uuid4().hex[:6]}",
        stream=STREAM,
        subscriptions=[Subscription.of(events_pb2.StockChanged, _record)],
        ack_wait=5.0,
    )


def _event(sku: str) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = sku
    return event


async def _write_through_outbox(rig: Rig, n: int, tag: str) -> None:
    """n events, each committed in its own transaction through the outbox (retried while the database is
    coming back: a write that fails commits nothing, and the outbox is the record of what was written)."""
    for i in range(n):
        while True:
            try:
                async with rig.uow() as uow:
                    uow.publish(_event(f"{tag}-{i}"))
                    await uow.commit()
                break
            except Exception as exc:
                if not infra.is_infrastructure(exc):
                    raise  # a mistake in the test must fail it, not spin until the timeout
                await asyncio.sleep(0.2)


async def _publish_directly(rig: Rig, n: int, tag: str) -> None:
    """Events another service's relay publishes meanwhile: they reach the consumer while our database is down."""
    for i in range(n):
        event = _event(f"{tag}-{i}")
        event.meta.event_id = f"{tag}-{i}-{uuid.uuid4().hex[:6]}"
        await rig.js.publish(rig.subject, event.SerializeToString(), headers={"Nats-Msg-Id": event.meta.event_id})


async def _wait_for(condition: Callable[[], Awaitable[bool]], wait: float, what: str) -> None:
    for _ in range(int(wait / 0.25)):
        try:
            if await condition():
                return
        except AssertionError:
            raise
        except Exception:  # the database is still coming back
            pass
        await asyncio.sleep(0.25)
    raise AssertionError(f"not reached within {wait}s: {what}")


async def _applied(rig: Rig) -> dict[str, int]:
    async with rig.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT event_id, count(*) FROM applied GROUP BY event_id"))).all()
    return {r[0]: r[1] for r in rows}


async def _outbox_ids(rig: Rig) -> tuple[set[str], int]:
    async with rig.engine.connect() as conn:
        ids = set((await conn.execute(text("SELECT id FROM outbox"))).scalars())
        unpublished = (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
    return ids, int(unpublished or 0)


async def _stream_count(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


@pytest.fixture
async def running(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Start the relay and consumers as background tasks; cancel them at the end."""
    tasks: list[asyncio.Task[None]] = []

    async def start(*fns: Callable[[], Awaitable[None]]) -> None:
        tasks.extend(asyncio.create_task(fn()) for fn in fns)  # type: ignore[arg-type]

    yield start
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_postgres_immediate_restart_dead_letters_nothing_and_applies_every_event_once(
    tmp_path: Path,
    running,  # type: ignore[no-untyped-def]
) -> None:
    # Our own (the session's is shared), and not under pytest's tmp_path, which pytest keeps private to its
    # user while PostgreSQL runs as another.
    base = Path(tempfile.mkdtemp(prefix="onepool-outage-"))
    pg = EmbeddedPostgres(base / "pg", durable=True)
    await asyncio.to_thread(pg.start)
    nats = EmbeddedNats(tmp_path / "nats")
    nats.start()
    rig = await _rig(pg.url, nats.url)
    try:
        consumer = _consumer(rig)
        relay = OutboxRelay(rig.engine, rig.js, database_url=rig.database_url, schema=rig.schema, poll_seconds=0.2)
        await running(relay.run, consumer.run)

        await _write_through_outbox(rig, 20, "before")
        await _wait_for(lambda: _has(rig, 20), 30, "20 events applied before the outage")

        await asyncio.to_thread(pg.stop_immediate)
        await _publish_directly(rig, 30, "during")  # the consumer works on them against a dead database
        await asyncio.sleep(4.0)
        loop = asyncio.get_running_loop()
        restarted = loop.time()
        await asyncio.to_thread(pg.start)  # crash recovery: "the database system is starting up" first
        await _write_through_outbox(rig, 20, "after")

        await _wait_for(lambda: _has(rig, 70), 60, "all 70 events applied after the restart")
        print(  # a figure for docs/reliability.md, never asserted
            f"postgres outage: {consumer.infra_failures} deliveries failed on the infrastructure, 0 dead letters, "
            f"all 70 events applied {loop.time() - restarted:.1f}s after the restart began"
        )
        await _wait_for(lambda: _no_unpublished(rig), 30, "outbox drained")
        await asyncio.sleep(1.0)  # anything still to be redelivered would show now

        applied = await _applied(rig)
        outbox_ids, unpublished = await _outbox_ids(rig)
        assert unpublished == 0
        assert len(outbox_ids) == 40
        assert outbox_ids <= set(applied)  # every committed outbox event reached the consumer...
        assert len(applied) == 70
        assert {n for n in applied.values()} == {1}  # ...and every event was applied exactly once
        assert await _stream_count(rig.js, DLQ_STREAM) == 0  # nothing dead-lettered
        assert await _stream_count(rig.js, STREAM) == 70  # the relay published nothing twice
    finally:
        await rig.nc.close()
        await rig.engine.dispose()
        nats.stop()
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(base, ignore_errors=True)


async def test_nats_restart_loses_and_duplicates_nothing(
    tmp_path: Path,
    database_url: str,
    running,  # type: ignore[no-untyped-def]
) -> None:
    nats = EmbeddedNats(tmp_path / "nats")
    nats.start()
    rig = await _rig(database_url, nats.url)
    try:
        consumer = _consumer(rig)
        relay = OutboxRelay(rig.engine, rig.js, database_url=rig.database_url, schema=rig.schema, poll_seconds=0.2)
        await running(relay.run, consumer.run)

        await _write_through_outbox(rig, 20, "before")
        await _wait_for(lambda: _has(rig, 20), 30, "20 events applied before the outage")
        await asyncio.to_thread(nats.stop)
        await _write_through_outbox(rig, 20, "during")  # committed; the relay cannot publish them yet
        await asyncio.sleep(2.0)
        await asyncio.to_thread(nats.start)  # same port, same store directory
        await _write_through_outbox(rig, 20, "after")

        await _wait_for(lambda: _has(rig, 60), 60, "all 60 events applied after the restart")
        await _wait_for(lambda: _no_unpublished(rig), 30, "outbox drained")
        await asyncio.sleep(1.0)

        applied = await _applied(rig)
        outbox_ids, _ = await _outbox_ids(rig)
        assert set(applied) == outbox_ids and len(outbox_ids) == 60
        assert {n for n in applied.values()} == {1}
        assert await _stream_count(rig.js, DLQ_STREAM) == 0
        assert await _stream_count(rig.js, STREAM) == 60
    finally:
        await rig.nc.close()
        await rig.engine.dispose()
        nats.stop()


async def _has(rig: Rig, n: int) -> bool:
    assert await _stream_count(rig.js, DLQ_STREAM) == 0, "an event was dead-lettered"
    return len(await _applied(rig)) >= n


async def _no_unpublished(rig: Rig) -> bool:
    return (await _outbox_ids(rig))[1] == 0
