"""Long-lived server streams have their own admission budget (issue 9, item 6), against real channels and
inventory: watches beyond it are refused at once with retry advice, watches never take the unary calls'
slots, and a slot comes back when a watcher leaves."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb

from tests.overload.load import outcome_of
from tests.support.orders import eventually, uid

pytestmark = pytest.mark.asyncio

UNARY_LIMIT, STREAM_LIMIT = 2, 3
STEP = 10.0  # bound per awaited stream message (set-up latency, not a performance assertion)


@pytest.fixture(scope="module")
async def started(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory")
    await stack.start(
        "channels", max_concurrent_rpcs=UNARY_LIMIT, max_queued_rpcs=0, max_concurrent_streams=STREAM_LIMIT
    )
    return stack


async def _watched_channel(stack, admin) -> str:  # type: ignore[no-untyped-def]
    inventory, channels = stack.stub("inventory"), stack.stub("channels")
    sku, warehouse = uid("SKU"), uid("WH")
    await inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(id=warehouse, name="WH", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True)
        ),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("rcv"), location_id=warehouse, lines=[ipb.StockLine(sku=sku, quantity=5)]
        ),
        metadata=admin,
    )
    channel = (
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("web"), name="web", type=cpb.CHANNEL_TYPE_ONLINE_STORE, request_id=uid("req")
            ),
            metadata=admin,
        )
    ).channel
    await channels.UpsertListing(
        cpb.UpsertListingRequest(
            channel_id=channel.id,
            sku=sku,
            channel_sku=f"C-{sku}",
            price=common_pb2.Money(currency="CNY", amount_minor=100),
        ),
        metadata=admin,
    )
    return channel.id


async def test_watches_have_their_own_budget_and_never_take_unary_slots(started, admin) -> None:  # type: ignore[no-untyped-def]
    channels = started.stub("channels")
    gate = started.hosts["channels"].admission
    channel_id = await _watched_channel(started, admin)
    request = cpb.WatchChannelStockRequest(channel_id=channel_id)

    watches = [channels.WatchChannelStock(request, metadata=admin) for _ in range(STREAM_LIMIT)]
    for watch in watches:  # each is running: it has sent the channel's current numbers
        assert (await asyncio.wait_for(watch.read(), STEP)) is not grpc.aio.EOF
    assert gate.streams.in_flight == STREAM_LIMIT and gate.unary.in_flight == 0

    # More watches than unary slots are open, and unary calls are still served, several at once.
    replies = await asyncio.gather(
        *(channels.GetChannel(cpb.GetChannelRequest(channel_id=channel_id), metadata=admin) for _ in range(UNARY_LIMIT))
    )
    assert {r.channel.id for r in replies} == {channel_id}

    # One watch too many is refused at once, with retry advice.
    extra = channels.WatchChannelStock(request, metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await asyncio.wait_for(extra.read(), STEP)
    outcome = outcome_of("", 0.0, refused.value)
    assert outcome.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert outcome.retry_delay and outcome.reason == "OVERLOADED"

    # A watcher that leaves gives its slot back.
    watches.pop().cancel()
    await eventually(lambda: asyncio.sleep(0, gate.streams.in_flight), lambda n: n == STREAM_LIMIT - 1)
    again = channels.WatchChannelStock(request, metadata=admin)
    assert (await asyncio.wait_for(again.read(), STEP)) is not grpc.aio.EOF
    for watch in (*watches, again):
        watch.cancel()
