"""Batched consumption on real PostgreSQL and NATS: a fetch applies in one transaction, all or nothing.

Each handler records the transaction it ran in (txid_current()), so the tests can tell a batch applied in
one transaction from events applied one by one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime.consumer import EventConsumer, Subscription
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

POISON = "SKU-POISON"


async def _publish(env: Any, event_ids: list[str], *, poison: str = "") -> None:
    for event_id in event_ids:
        event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id=event_id))
        event.level.sku = POISON if event_id == poison else f"SKU-{event_id}"
        subject = f"{env.schema}.stock.changed"
        await env.js.publish(subject, event.SerializeToString(), headers={"Nats-Msg-Id": event_id})


class Recorder:
    """A handler that inserts a row per event and remembers (event id, transaction id) of every call."""

    def __init__(self, *, fail_on: str = "") -> None:
        self.calls: list[tuple[str, int]] = []
        self.fail_on = fail_on

    async def __call__(self, event: events_pb2.StockChanged, uow: Any) -> None:
        txid = (await uow.session.execute(text("SELECT txid_current()"))).scalar()
        self.calls.append((event.meta.event_id, int(txid)))
        if event.level.sku == self.fail_on:
            raise ValueError("this event can never be applied")
        await uow.session.execute(
            text("INSERT INTO applied (event_id, txid) VALUES (:e, :t)"), {"e": event.meta.event_id, "t": txid}
        )


async def _table(env: Any) -> None:
    async with env.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE applied (n serial, event_id text NOT NULL, txid bigint NOT NULL)"))


async def _applied(env: Any) -> list[tuple[str, int]]:
    async with env.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT event_id, txid FROM applied ORDER BY n"))).all()
    return [(r[0], int(r[1])) for r in rows]


def _consumer(env: Any, name: str, handler: Any, **kwargs: Any) -> EventConsumer:
    return EventConsumer(
        env.js,
        env.uow,
        service="testsvc",
        name=name,
        stream="TESTSVC",
        subscriptions=[Subscription(f"{env.schema}.>", events_pb2.StockChanged, handler)],
        backoff=lambda n: 0.05,
        **kwargs,
    )


async def _run_until(consumer: EventConsumer, condition: Any, wait: float = 20.0) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        for _ in range(int(wait / 0.05)):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _dead_letters(env: Any, subject: str, wait: float = 2.0) -> list[Any]:
    sub = await env.js.pull_subscribe(subject, stream="DLQ")
    try:
        msgs = await sub.fetch(10, timeout=wait)
    except TimeoutError:
        msgs = []
    finally:
        await sub.unsubscribe()
    return msgs


async def test_a_fetched_batch_applies_in_one_transaction_in_stream_order(env: Any) -> None:
    await _table(env)
    ids = [f"e{i:02d}" for i in range(20)]
    recorder = Recorder()
    consumer = _consumer(env, "one-tx", recorder)
    await consumer.ensure()
    await _publish(env, ids)  # all waiting before the first fetch

    await _run_until(consumer, lambda: consumer.processed == 20)

    applied = await _applied(env)
    assert [e for e, _ in applied] == ids  # in stream order
    assert len({t for _, t in applied}) == 1  # one transaction for the whole fetch


async def test_poison_in_the_middle_of_a_batch_lets_the_others_apply_and_goes_to_the_dead_letters(env: Any) -> None:
    await _table(env)
    ids = [f"p{i:02d}" for i in range(10)]
    recorder = Recorder(fail_on=POISON)
    consumer = _consumer(env, "poison-mid", recorder, max_deliver=3)
    await consumer.ensure()
    await _publish(env, ids, poison="p04")

    task = asyncio.create_task(consumer.run())
    try:
        [dead] = await _dead_letters(env, consumer.dlq_subject, wait=15.0)
        await asyncio.sleep(0.5)  # a redelivery of anything would show now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # The first attempt was the whole batch in one transaction, stopped by the poison event...
    first_tx = recorder.calls[0][1]
    assert [e for e, t in recorder.calls if t == first_tx] == ids[:5]
    # ...rolled back, then the batch was applied one by one: every good event once, in stream order.
    applied = await _applied(env)
    assert [e for e, _ in applied] == [i for i in ids if i != "p04"]
    assert len({t for _, t in applied}) == 9
    assert first_tx not in {t for _, t in applied}
    assert dead.headers["Onepool-Original-Msg-Id"] == "p04"
    assert dead.headers["Onepool-Failures"] == "3"
    assert "can never be applied" in dead.headers["Onepool-Error"]
    # Tried in the batch (not counted: the batch cannot tell which event failed), then three times alone,
    # counted, and terminated after the third.
    assert [t == first_tx for e, t in recorder.calls if e == "p04"] == [True, False, False, False]


async def test_a_redelivered_batch_applies_nothing_twice(env: Any) -> None:
    """The batch commits but its acks are lost (a crash between commit and ack): JetStream delivers the whole
    batch again after ack_wait, together with new events and a replay of one event under a new message id;
    only the new events apply."""
    await _table(env)
    first = [f"r{i:02d}" for i in range(8)]
    recorder = Recorder()
    consumer = _consumer(env, "redeliver", recorder, ack_wait=1.0)
    await consumer.ensure()
    await _publish(env, first)

    sub = await env.js.pull_subscribe_bind(durable=consumer.durable, stream="TESTSVC")
    msgs = await sub.fetch(len(first), timeout=5)
    assert len(msgs) == len(first)

    async def lost_ack() -> None:
        return None

    for msg in msgs:
        msg.ack = lost_ack  # type: ignore[method-assign]
    await consumer._process_batch(msgs)
    await sub.unsubscribe()
    assert consumer.processed == len(first)
    assert len({t for _, t in await _applied(env)}) == 1  # one transaction

    replay = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id="r03"))
    replayed = {"Onepool-Event-Id": "r03", "Nats-Msg-Id": "x"}  # as `onepool dlq replay` publishes it
    await env.js.publish(f"{env.schema}.stock.changed", replay.SerializeToString(), headers=replayed)
    await _publish(env, ["r08", "r09"])
    await _run_until(consumer, lambda: consumer.processed == 10 and consumer.duplicates == len(first) + 1)

    applied = await _applied(env)
    assert [e for e, _ in applied] == [*first, "r08", "r09"]


async def test_a_database_failure_mid_batch_applies_nothing_of_it_and_dead_letters_nothing(env: Any) -> None:
    """The database connection dies while the fifth event of a batch is handled: the whole batch rolls back,
    is put back with the infrastructure's back-off (never counted towards dead-lettering) and is applied
    once, whole, when it comes back."""
    await _table(env)
    ids = [f"d{i:02d}" for i in range(10)]
    killed: list[str] = []

    class Killer(Recorder):
        async def __call__(self, event: events_pb2.StockChanged, uow: Any) -> None:
            await super().__call__(event, uow)
            if event.meta.event_id == "d04" and not killed:
                killed.append(event.meta.event_id)
                await uow.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    recorder = Killer()
    consumer = _consumer(env, "outage-mid", recorder, max_deliver=1, infra_backoff=lambda n: 0.2)
    await consumer.ensure()
    await _publish(env, ids)

    await _run_until(consumer, lambda: consumer.processed == 10)
    await asyncio.sleep(0.5)

    assert consumer.infra_failures == 1
    first_tx = recorder.calls[0][1]
    assert [e for e, t in recorder.calls if t == first_tx] == ids[:5]  # the batch, up to the failure
    applied = await _applied(env)
    assert [e for e, _ in applied] == ids  # each once, after the failure, in order
    assert first_tx not in {t for _, t in applied}  # nothing of the failed transaction stayed
    assert await _dead_letters(env, consumer.dlq_subject) == []  # max_deliver 1, and still no dead letter


async def test_runs_of_a_subscription_with_many_are_applied_together_in_order(env: Any) -> None:
    """`many` takes each run of its events that came one after another; other events keep their place."""
    seen: list[tuple[str, ...]] = []

    async def stock_many(events: list[events_pb2.StockChanged], uow: Any) -> None:
        seen.append(tuple(e.meta.event_id for e in events))

    async def stock_one(event: events_pb2.StockChanged, uow: Any) -> None:
        seen.append((event.meta.event_id,))

    async def location(event: events_pb2.LocationUpserted, uow: Any) -> None:
        seen.append((f"L:{event.meta.event_id}",))

    consumer = EventConsumer(
        env.js,
        env.uow,
        service="testsvc",
        name="runs",
        stream="TESTSVC",
        subscriptions=[
            Subscription(f"{env.schema}.stock.changed", events_pb2.StockChanged, stock_one, stock_many),
            Subscription(f"{env.schema}.location.upserted", events_pb2.LocationUpserted, location),
        ],
    )
    await consumer.ensure()
    await _publish(env, ["s1", "s2"])
    loc = events_pb2.LocationUpserted(meta=common_pb2.EventMeta(event_id="l1"))
    await env.js.publish(f"{env.schema}.location.upserted", loc.SerializeToString(), headers={"Nats-Msg-Id": "l1"})
    await _publish(env, ["s3", "s4", "s5"])

    await _run_until(consumer, lambda: consumer.processed == 6)

    assert seen == [("s1", "s2"), ("L:l1",), ("s3", "s4", "s5")]
