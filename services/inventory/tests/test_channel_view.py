"""Inventory's channel view: what a channel may sell, fed by the channels service's events."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import metadata

pytestmark = pytest.mark.asyncio


async def publish_channel(js, channel: channels_pb2.Channel, *, created: bool = True) -> None:  # type: ignore[no-untyped-def]
    event_id = str(uuid.uuid4())
    if created:
        event = channel_events.ChannelCreated(meta=common_pb2.EventMeta(event_id=event_id), channel=channel)
        subject = "channels.channel.created"
    else:
        event = channel_events.ChannelUpdated(meta=common_pb2.EventMeta(event_id=event_id), channel=channel)
        subject = "channels.channel.updated"
    await js.publish(subject, event.SerializeToString(), headers={"Nats-Msg-Id": event_id})


async def availability(inventory, admin, sku: str, channel_id: str):  # type: ignore[no-untyped-def]
    for _ in range(100):
        try:
            reply = await inventory.GetAvailability(
                pb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=admin
            )
            return reply.items[0]
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.05)
    raise AssertionError("inventory never learned the channel")


async def test_channel_sees_only_its_locations_and_its_share(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2, pickup=True)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 70})
    await setup.stock(shop, **{sku: 30})

    market = setup.name("ch-market")
    await publish_channel(
        js, channels_pb2.Channel(id=market, version=1, allocation=channels_pb2.AllocationPolicy(max_share_bps=3000))
    )
    item = await availability(inventory, admin, sku, market)
    assert item.available == 30 and item.on_hand == 100

    shop_channel = setup.name("ch-shop")
    await publish_channel(
        js,
        channels_pb2.Channel(
            id=shop_channel, version=1, allocation=channels_pb2.AllocationPolicy(location_ids=[shop], buffer_units=5)
        ),
    )
    item = await availability(inventory, admin, sku, shop_channel)
    assert [b.location_id for b in item.by_location] == [shop]
    assert item.available == 25

    # The cap applies to reservations too: the marketplace cannot take more than it is shown.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 31), channel_id=market, hint=pb.SourcingHint(allow_split=True))
    assert "available 30" in caught.value.details()
    # The shop channel reserves from the shop only, even though the warehouse has more.
    reservation = await setup.reserve((sku, 20), channel_id=shop_channel, pin=shop)
    assert {a.location_id for a in reservation.allocations} == {shop}


async def test_newer_policy_wins_and_older_events_are_ignored(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 100})
    channel_id = setup.name("ch")
    await publish_channel(js, channels_pb2.Channel(id=channel_id, version=1))
    assert (await availability(inventory, admin, sku, channel_id)).available == 100
    await publish_channel(
        js,
        channels_pb2.Channel(id=channel_id, version=3, allocation=channels_pb2.AllocationPolicy(max_share_bps=5000)),
        created=False,
    )
    await publish_channel(
        js,
        channels_pb2.Channel(id=channel_id, version=2, allocation=channels_pb2.AllocationPolicy(max_share_bps=1000)),
        created=False,
    )
    for _ in range(100):
        if (await availability(inventory, admin, sku, channel_id)).available == 50:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # give the stale version 2 every chance to be (wrongly) applied
    assert (await availability(inventory, admin, sku, channel_id)).available == 50

    await publish_channel(
        js, channels_pb2.Channel(id=channel_id, version=4, status=channels_pb2.CHANNEL_STATUS_PAUSED), created=False
    )
    for _ in range(100):
        if (await availability(inventory, admin, sku, channel_id)).available == 0:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 1), channel_id=channel_id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_channel_sells_as_channels_says_it_does_not_as_its_status_reads(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    """Inventory reads channels' `selling` fact; the status is read only for events older than the fact."""
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    channel_id = setup.name("ch")
    active = channels_pb2.CHANNEL_STATUS_ACTIVE
    await publish_channel(js, channels_pb2.Channel(id=channel_id, version=1, status=active, selling=False))
    for _ in range(100):
        try:
            await inventory.GetAvailability(
                pb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=admin
            )
            break
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.05)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 1), channel_id=channel_id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    paused = channels_pb2.CHANNEL_STATUS_PAUSED
    await publish_channel(
        js, channels_pb2.Channel(id=channel_id, version=2, status=paused, selling=True), created=False
    )
    for _ in range(100):
        if (await availability(inventory, admin, sku, channel_id)).available == 10:
            break
        await asyncio.sleep(0.05)
    assert (await setup.reserve((sku, 1), channel_id=channel_id)).allocations[0].quantity == 1

    # An event from before the fact: PAUSED stops the channel, as it always did.
    await publish_channel(js, channels_pb2.Channel(id=channel_id, version=3, status=paused), created=False)
    for _ in range(100):
        if (await availability(inventory, admin, sku, channel_id)).available == 0:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 1), channel_id=channel_id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_channel_reserves_in_its_own_view_whether_it_names_its_channel_or_not(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    await setup.stock(shop, **{sku: 5})
    channel = setup.name("ch-shop-only")
    await publish_channel(
        inventory_host.infra.js,
        channels_pb2.Channel(
            id=channel,
            version=1,
            allocation=channels_pb2.AllocationPolicy(location_ids=[shop]),
        ),
    )
    assert (await availability(inventory, admin, sku, channel)).available == 5
    md = metadata("channel", channel_id=channel)
    unnamed = pb.ReserveRequest(request_id=setup.name("r"), lines=[pb.ReserveLine(sku=sku, quantity=1)])
    first = (await inventory.Reserve(unnamed, metadata=md)).reservation
    assert [a.location_id for a in first.allocations] == [shop]  # the channel's view, not the whole pool
    # Naming its own channel is the same request: replayed, not reserved twice, and not a reused id.
    named = pb.ReserveRequest(channel_id=channel)
    named.MergeFrom(unnamed)
    again = (await inventory.Reserve(named, metadata=md)).reservation
    assert again == first
    assert (await availability(inventory, admin, sku, channel)).available == 4


async def test_a_channel_is_told_only_the_units_at_locations_that_ship_yet_pickup_still_sells_the_rest(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    """Audit R item 2: a pickup-only store's units were counted, yet a SHIP order (every imported one) takes
    nothing there: the marketplace was offered units every import of which was rejected."""
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    store = await setup.location("STORE", type_=pb.LOCATION_TYPE_STORE, ships=False, pickup=True)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    await setup.stock(store, **{sku: 10})
    channel = setup.name("ch")
    await publish_channel(js, channels_pb2.Channel(id=channel, version=1))
    item = await availability(inventory, admin, sku, channel)
    assert (item.available, item.exposed, item.on_hand) == (5, 5, 15)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 6), channel_id=channel, hint=pb.SourcingHint(allow_split=True))
    assert "available 5" in caught.value.details()
    # A pickup order at the store is bounded over every location the channel sells from, so it still sells.
    pickup = pb.SourcingHint(mode=pb.SOURCING_MODE_PICKUP, pickup_location_id=store)
    reservation = await setup.reserve((sku, 8), channel_id=channel, hint=pickup)
    assert [(a.location_id, a.quantity) for a in reservation.allocations] == [(store, 8)]
    assert (await availability(inventory, admin, sku, channel)).available == 5
