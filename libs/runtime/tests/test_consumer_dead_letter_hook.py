"""A subscription's on_dead_letter hook keeps what a service must not lose with an event that is dead-lettered:
it runs in a transaction of its own (the handler's rolled back), before the dead letter; an outage in it puts
the event back; any other failure of it does not keep the event from the dead-letter subject."""

from __future__ import annotations

import asyncio

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime.consumer import EventConsumer, PermanentError, Subscription
from sqlalchemy import text

pytestmark = pytest.mark.asyncio


async def _publish(env, event_id: str) -> None:  # type: ignore[no-untyped-def]
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id=event_id))
    await env.js.publish(f"{env.schema}.stock.changed", event.SerializeToString(), headers={"Nats-Msg-Id": event_id})


async def _dead_letters(env, consumer: EventConsumer, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The original event ids of the first `count` dead letters, while the consumer runs."""
    task = asyncio.create_task(consumer.run())
    sub = await env.js.pull_subscribe(consumer.dlq_subject, stream="DLQ")
    try:
        ids: list[str] = []
        while len(ids) < count:
            for msg in await sub.fetch(count - len(ids), timeout=10):
                ids.append(msg.headers["Onepool-Original-Msg-Id"])
        return ids
    finally:
        await sub.unsubscribe()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _rows(env, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with env.engine.connect() as conn:
        return list((await conn.execute(text(f"SELECT event_id FROM {table} ORDER BY event_id"))).scalars())


async def test_the_hook_keeps_what_it_records_of_an_event_that_is_dead_lettered(env) -> None:  # type: ignore[no-untyped-def]
    async with env.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE applied (event_id text)"))
        await conn.execute(text("CREATE TABLE kept (event_id text)"))
    hook_calls: list[str] = []

    async def handler(event, uow) -> None:  # type: ignore[no-untyped-def]
        await uow.session.execute(text("INSERT INTO applied VALUES (:e)"), {"e": event.meta.event_id})
        if event.meta.event_id in ("evt-bad", "evt-broken-hook"):
            raise PermanentError("never settles")
        if event.meta.event_id == "evt-poison":
            raise ValueError("a bug")

    async def keep(event, uow) -> None:  # type: ignore[no-untyped-def]
        hook_calls.append(event.meta.event_id)
        if event.meta.event_id == "evt-poison" and hook_calls.count("evt-poison") == 1:
            raise ConnectionError("database blinked")  # the infrastructure: the event is put back
        if event.meta.event_id == "evt-broken-hook":
            raise RuntimeError("the hook's own bug")
        await uow.session.execute(text("INSERT INTO kept VALUES (:e)"), {"e": event.meta.event_id})

    consumer = EventConsumer(
        env.js,
        env.uow,
        service="testsvc",
        name="hooked",
        stream="TESTSVC",
        subscriptions=[Subscription(f"{env.schema}.>", events_pb2.StockChanged, handler, on_dead_letter=keep)],
        backoff=lambda n: 0.05,
        infra_backoff=lambda n: 0.05,
        max_deliver=2,
        apply_batches=False,
    )
    for event_id in ("evt-bad", "evt-good", "evt-poison", "evt-broken-hook"):
        await _publish(env, event_id)
    dead = await _dead_letters(env, consumer, 3)
    assert sorted(dead) == ["evt-bad", "evt-broken-hook", "evt-poison"]
    assert await _rows(env, "applied") == ["evt-good"]  # the failed handlers' writes rolled back
    assert await _rows(env, "kept") == ["evt-bad", "evt-poison"]
    # once per dead letter, and once more for the outage in it; never for an event that applied
    assert sorted(hook_calls) == ["evt-bad", "evt-broken-hook", "evt-poison", "evt-poison"]
    assert consumer.processed == 1
