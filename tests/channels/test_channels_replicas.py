"""Several channels replicas and restarts: the feed and the watchers stay right.

Replicas share the durable inventory consumer (each event is applied by one of them) and each fans
channels.stock.updated out to its own watchers, so a watcher on any replica sees every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import channels_pb2_grpc
from onepool_channels.entrypoints.bootstrap import build
from onepool_runtime.embedded import free_port
from onepool_runtime.testing.services import running_service

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "channels" / "migrations"


async def read_until(stream, sku: str, sellable: int) -> None:  # type: ignore[no-untyped-def]
    while True:
        message = await asyncio.wait_for(stream.read(), 10)
        assert message is not grpc.aio.EOF
        if message.sku == sku and message.sellable == sellable:
            return


async def test_watchers_on_every_replica_see_every_change(world, started) -> None:  # type: ignore[no-untyped-def]
    settings = started.settings("channels").model_copy(update={"grpc_port": free_port()})
    async with (
        running_service(settings, build, MIGRATIONS) as second,
        grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as conn,
    ):
        replica = channels_pb2_grpc.ChannelServiceStub(conn)
        sku = world.name("SKU")
        wh = await world.location("WH")
        await world.stock(wh, **{sku: 10})
        channel = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE)
        await world.listing(channel.id, sku)
        await world.settled(channel.id, sku, 10)
        request = cpb.WatchChannelStockRequest(channel_id=channel.id)
        streams = [
            world.channels.WatchChannelStock(request, metadata=world.admin),
            replica.WatchChannelStock(request, metadata=world.admin),
        ]
        for stream in streams:
            await read_until(stream, sku, 10)

        for i in range(1, 7):  # several events: the two replicas' consumers share them
            await world.stock(wh, **{sku: 1})
            for stream in streams:
                await read_until(stream, sku, 10 + i)
        for stream in streams:
            stream.cancel()
        got = await replica.GetChannelStock(cpb.GetChannelStockRequest(channel_id=channel.id), metadata=world.admin)
        assert [i.sellable for i in got.items] == [16]


async def test_stock_that_moved_while_channels_was_down_reaches_the_feed_after_restart(world, started, feed) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 5})
    channel = await world.channel("market", max_share_bps=5000)
    await world.listing(channel.id, sku)
    await world.settled(channel.id, sku, 2)

    await started.stop("channels")
    await world.stock(wh, **{sku: 15})  # 20 in the pool now; nobody is listening
    await started.start("channels")
    world.channels = started.stub("channels")

    await world.settled(channel.id, sku, 10)
    await asyncio.wait_for(feed.until(lambda: feed.latest(channel.id, sku) == 10), timeout=10)


async def test_two_replicas_feed_batches_never_deadlock(started) -> None:  # type: ignore[no-untyped-def]
    """Two replicas share the stock-feed consumer, and a batch applies its events one after another, each
    taking the locks of its SKU (and location) as it comes: not in one global order. Two batches holding
    what the other wants next deadlocked (PostgreSQL broke it after deadlock_timeout and the batch was
    retried: 51 times in one scale run). The feed's transactions are serialised first, so they queue."""
    from onepool_channels.service_layer import stock_feed
    from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork

    sessions = started.hosts["channels"].infra.sessions
    channel_id = f"CH-{uuid.uuid4().hex[:8]}"
    first, second = f"SKU-A-{uuid.uuid4().hex[:6]}", f"SKU-B-{uuid.uuid4().hex[:6]}"
    holding = [asyncio.Event(), asyncio.Event()]

    async def batch(me: int, skus: tuple[str, str]) -> None:
        """A consumer batch of two sales-count events, the second after the other batch took its first."""
        async with ChannelsUnitOfWork(sessions) as uow:
            await stock_feed.sales_changed(uow, channel_id, skus[0], 1, 1 + me)
            holding[me].set()
            with contextlib.suppress(TimeoutError):  # serialised: the other batch waits for this one to end
                await asyncio.wait_for(holding[1 - me].wait(), 2.0)
            await stock_feed.sales_changed(uow, channel_id, skus[1], 1, 3 + me)
            await uow.commit()

    results = await asyncio.gather(batch(0, (first, second)), batch(1, (second, first)), return_exceptions=True)
    assert [r for r in results if r is not None] == []  # no "deadlock detected"
