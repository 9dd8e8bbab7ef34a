"""WatchChannelStock: a connector's live view of its channel's sellable numbers."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import channels_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.testing.services import metadata

pytestmark = pytest.mark.asyncio
STEP = 10.0  # bound per awaited stream message (set-up latency, not a performance assertion)


async def next_of(stream, sku: str | None = None) -> cpb.WatchChannelStockResponse:  # type: ignore[no-untyped-def]
    """The next message on the stream (for `sku`, skipping others)."""
    while True:
        message = await asyncio.wait_for(stream.read(), STEP)
        assert message is not grpc.aio.EOF
        if sku is None or message.sku == sku:
            return message


async def test_a_watcher_gets_current_numbers_first_then_every_change_as_stock_moves(world) -> None:  # type: ignore[no-untyped-def]
    a, b = world.name("SKU"), world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{a: 10, b: 20})
    channel = await world.channel("douyin", type_=cpb.CHANNEL_TYPE_SOCIAL_COMMERCE, max_share_bps=5000)
    await world.listing(channel.id, a, channel_sku="DY-A")
    await world.listing(channel.id, b, channel_sku="DY-B")
    await world.settled(channel.id, a, 5)
    await world.settled(channel.id, b, 10)

    stream = world.channels.WatchChannelStock(
        cpb.WatchChannelStockRequest(channel_id=channel.id), metadata=metadata("channel", channel_id=channel.id)
    )
    first = [await next_of(stream), await next_of(stream)]
    assert sorted((m.sku, m.channel_sku, m.sellable) for m in first) == sorted([(a, "DY-A", 5), (b, "DY-B", 10)])

    await world.stock(wh, **{a: 10})
    moved = await next_of(stream, a)
    assert (moved.channel_id, moved.sellable, moved.channel_sku) == (channel.id, 10, "DY-A")
    assert moved.version > next(m.version for m in first if m.sku == a)

    await world.inventory.Reserve(
        ipb.ReserveRequest(
            request_id=world.name("res"), order_id=world.name("o"), lines=[ipb.ReserveLine(sku=b, quantity=6)]
        ),
        metadata=world.admin,
    )
    assert (await next_of(stream, b)).sellable == 7
    stream.cancel()


async def test_disconnecting_watchers_do_not_disturb_the_service_or_other_watchers(world, started) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 8})
    channel = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE)
    await world.listing(channel.id, sku)
    await world.settled(channel.id, sku, 8)
    hub = started.hosts["channels"].parts.components["stock_watch_hub"]
    request = cpb.WatchChannelStockRequest(channel_id=channel.id)

    staying = world.channels.WatchChannelStock(request, metadata=world.admin)
    cancelled = world.channels.WatchChannelStock(request, metadata=world.admin)
    # A client that vanishes without cancelling: its whole connection closes.
    vanishing = grpc.aio.insecure_channel(f"127.0.0.1:{started.ports['channels']}")
    abrupt = channels_pb2_grpc.ChannelServiceStub(vanishing).WatchChannelStock(request, metadata=world.admin)
    for stream in (staying, cancelled, abrupt):
        assert (await next_of(stream)).sellable == 8
    await world.eventually(lambda: asyncio.sleep(0, hub.watchers), lambda n: n >= 3)

    cancelled.cancel()
    await vanishing.close(grace=None)
    await world.eventually(lambda: asyncio.sleep(0, hub.watchers), lambda n: n == 1)

    await world.stock(wh, **{sku: 1})
    assert (await next_of(staying, sku)).sellable == 9
    assert await world.sellable(channel.id, sku) == 9
    again = world.channels.WatchChannelStock(request, metadata=world.admin)
    assert (await next_of(again)).sellable == 9
    staying.cancel()
    again.cancel()
    await world.eventually(lambda: asyncio.sleep(0, hub.watchers), lambda n: n == 0)


async def test_watching_another_or_an_unknown_channel_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = await world.channel("mine"), await world.channel("theirs")
    token = metadata("channel", channel_id=mine.id)
    for channel_id, code, meta in (
        (theirs.id, grpc.StatusCode.PERMISSION_DENIED, token),
        ("no-such-channel", grpc.StatusCode.NOT_FOUND, world.admin),
        ("", grpc.StatusCode.INVALID_ARGUMENT, world.admin),
    ):
        stream = world.channels.WatchChannelStock(cpb.WatchChannelStockRequest(channel_id=channel_id), metadata=meta)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stream.read()
        assert exc.value.code() == code
