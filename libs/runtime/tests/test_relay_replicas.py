"""Several relays on one outbox (a service's replicas): every event is published exactly once.

Each replica runs a relay and every replica's commits wake its own, so passes often run together: they
claim different rows (FOR UPDATE SKIP LOCKED) and share the work. Order across relays is not promised
(nor across the replicas of a consumer): consumers keep the newest version per key (docs/architecture.md)."""

from __future__ import annotations

import asyncio

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_contracts.events import subject_of
from onepool_runtime import db, messaging
from onepool_runtime.relay import OutboxRelay
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

SUBJECT = subject_of(events_pb2.StockChanged)
EVENTS = 400


@pytest.fixture(autouse=True)
async def inventory_stream(env):  # type: ignore[no-untyped-def]
    await messaging.ensure_service_stream(env.js, "inventory")
    yield
    await env.js.delete_stream(messaging.STREAMS["inventory"])


def _event(n: int) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = f"SKU-{n:05d}"
    event.level.on_hand = n
    return event


async def _published(env) -> list[int]:  # type: ignore[no-untyped-def]
    sub = await env.js.pull_subscribe(SUBJECT, stream=messaging.STREAMS["inventory"])
    seen: list[int] = []
    while True:
        try:
            batch = await sub.fetch(200, timeout=0.5)
        except TimeoutError:
            break
        for m in batch:
            await m.ack()
            seen.append(events_pb2.StockChanged.FromString(m.data).level.on_hand)
    await sub.unsubscribe()
    return seen


async def test_two_relays_publish_every_event_once_in_commit_order(env) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, EVENTS, 50):  # eight commits, as callers on either replica would make them
        async with env.uow() as uow:
            for n in range(start, start + 50):
                uow.publish(_event(n))
            await uow.commit()

    engines = [db.create_engine(env.database_url, env.schema) for _ in range(2)]
    relays = [OutboxRelay(e, env.js, schema=env.schema, batch_size=10) for e in engines]
    try:

        async def drain(relay: OutboxRelay) -> None:
            idle = 0
            while idle < 3:  # the other relay may hold the rest for a moment
                idle = 0 if await relay.publish_pending() else idle + 1

        await asyncio.wait_for(asyncio.gather(*(drain(r) for r in relays)), 60)
        async with env.engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
        assert left == 0
    finally:
        for e in engines:
            await e.dispose()

    seen = await _published(env)
    assert sorted(seen) == list(range(EVENTS))  # every event once: no row published by both relays
    assert sum(r.stats.published for r in relays) == EVENTS
    assert all(r.stats.published for r in relays)  # both took part
