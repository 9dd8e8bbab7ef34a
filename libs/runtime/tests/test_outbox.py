"""The transactional outbox and its relay, against real PostgreSQL and JetStream."""

from __future__ import annotations

import asyncio

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime.relay import OutboxRelay
from sqlalchemy import text

pytestmark = pytest.mark.asyncio


class RelayKilled(Exception):
    pass


def _event(sku: str) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = sku
    event.level.on_hand = 5
    return event


async def _stream_messages(env, subject: str) -> list:  # type: ignore[no-untyped-def]
    sub = await env.js.pull_subscribe(subject, stream="TESTSVC")
    messages = []
    while True:
        try:
            batch = await sub.fetch(100, timeout=0.5)
        except TimeoutError:
            break
        for m in batch:
            await m.ack()
        messages.extend(batch)
    await sub.unsubscribe()
    return messages


def _relay(env, **kwargs) -> OutboxRelay:  # type: ignore[no-untyped-def]
    return OutboxRelay(env.engine, env.js, database_url=env.database_url, schema=env.schema, **kwargs)


async def test_committed_event_is_published_once_even_when_relay_dies_before_marking(env) -> None:  # type: ignore[no-untyped-def]
    subject = f"{env.schema}.stock.changed"
    async with env.uow() as uow:
        uow.publish(subject, _event("SKU-A"))
        await uow.commit()

    async def die(_ids: list[str]) -> None:
        raise RelayKilled("killed between PubAck and marking the row")

    with pytest.raises(RelayKilled):
        await _relay(env, after_publish=die).publish_pending()

    async with env.engine.connect() as conn:
        unpublished = (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
    assert unpublished == 1  # the mark was rolled back with the dead relay

    second = _relay(env)
    assert await second.publish_pending() == 1  # published again...
    assert await second.publish_pending() == 0

    messages = await _stream_messages(env, subject)
    assert len(messages) == 1  # ...and JetStream dropped the duplicate by Nats-Msg-Id
    received = events_pb2.StockChanged.FromString(messages[0].data)
    assert received.level.sku == "SKU-A"
    assert messages[0].headers["Nats-Msg-Id"] == received.meta.event_id
    assert received.meta.type == "onepool.inventory.v1.StockChanged"


async def test_rolled_back_transaction_publishes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    subject = f"{env.schema}.stock.changed"
    async with env.uow() as uow:
        uow.publish(subject, _event("SKU-ROLLBACK"))
        await uow.flush_events()  # written to the outbox table inside the transaction...
        await uow.rollback()  # ...and undone with it

    assert await _relay(env).publish_pending() == 0
    assert await _stream_messages(env, subject) == []


async def test_running_relay_publishes_within_moments_of_commit(env) -> None:  # type: ignore[no-untyped-def]
    """The relay LISTENs for commits, so it does not wait for its poll interval."""
    subject = f"{env.schema}.stock.changed"
    relay = _relay(env, poll_seconds=30.0)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)
        async with env.uow() as uow:
            for i in range(3):
                uow.publish(subject, _event(f"SKU-{i}"))
            await uow.commit()
        for _ in range(50):
            if relay.stats.published == 3:
                break
            await asyncio.sleep(0.1)
        assert relay.stats.published == 3
    finally:
        task.cancel()
    skus = [events_pb2.StockChanged.FromString(m.data).level.sku for m in await _stream_messages(env, subject)]
    assert skus == ["SKU-0", "SKU-1", "SKU-2"]  # commit order is publication order
