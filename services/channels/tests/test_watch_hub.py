"""The watch hub's fan-out, overflow and resynchronisation, with a fake NATS client."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import pytest
from onepool.channels.v1 import events_pb2 as ev
from onepool_channels.entrypoints.watch import StockWatchHub

pytestmark = pytest.mark.asyncio


@dataclass
class FakeMsg:
    data: bytes


class FakeSub:
    async def unsubscribe(self) -> None:
        pass


class FakeNats:
    def __init__(self) -> None:
        self.stats = {"reconnects": 0}
        self.cb: Any = None
        self.subscribed = asyncio.Event()

    async def subscribe(self, subject: str, cb: Any) -> FakeSub:
        self.cb = cb
        self.subscribed.set()
        return FakeSub()

    async def publish(self, channel_id: str, sku: str, sellable: int, version: int) -> None:
        update = ev.ChannelStockUpdated(channel_id=channel_id, sku=sku, sellable=sellable, version=version)
        await self.cb(FakeMsg(update.SerializeToString()))


@contextlib.asynccontextmanager
async def running(hub: StockWatchHub, nc: FakeNats):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(hub.run())
    await nc.subscribed.wait()
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_updates_reach_only_the_watchers_of_their_channel() -> None:
    nc = FakeNats()
    hub = StockWatchHub(nc, reconnect_check_seconds=0.01)  # type: ignore[arg-type]
    async with running(hub, nc), hub.watch("A") as a, hub.watch("B") as b:
        await nc.publish("A", "SKU", 5, 1)
        await nc.publish("C", "SKU", 9, 1)
        got = await a.next()
        assert got is not None and (got.channel_id, got.sellable) == ("A", 5)
        assert b._queue.empty()
    assert hub.watchers == 0


async def test_a_watcher_that_falls_behind_is_told_to_resnapshot() -> None:
    nc = FakeNats()
    hub = StockWatchHub(nc, queue_size=3)  # type: ignore[arg-type]
    async with running(hub, nc), hub.watch("A") as a:
        for version in range(1, 10):
            await nc.publish("A", "SKU", version, version)
        items = []
        while not a._queue.empty():
            items.append(await a.next())
        assert None in items  # the backlog was replaced by "resnapshot"
        assert len(items) <= 3


async def test_a_reconnect_or_a_new_subscription_resynchronises_every_watcher() -> None:
    nc = FakeNats()
    hub = StockWatchHub(nc, reconnect_check_seconds=0.01)  # type: ignore[arg-type]
    async with hub.watch("A") as a, running(hub, nc):
        assert await asyncio.wait_for(a.next(), 1) is None  # subscribed after the watcher registered
        nc.stats["reconnects"] += 1
        assert await asyncio.wait_for(a.next(), 1) is None
