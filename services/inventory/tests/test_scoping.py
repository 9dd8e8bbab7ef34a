"""Dealers, stores and channels see and change only their own part of the pool, whatever they put in a request."""

from __future__ import annotations

import grpc
import pytest
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import metadata

from .test_channel_view import availability, publish_channel

pytestmark = pytest.mark.asyncio


async def _denied(call, request, md) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, caught.value.details()


async def test_a_dealer_touches_only_its_own_locations(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, other = setup.name("D"), setup.name("D")
    mine = await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer)
    theirs = await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=other)
    brand = await setup.location("WH")
    sku = setup.name("SKU")
    md = metadata("dealer", dealer_id=dealer)

    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id=setup.name("r"), location_id=mine, lines=[pb.StockLine(sku=sku, quantity=3)]),
        metadata=md,
    )
    for location_id in (theirs, brand):
        await _denied(
            inventory.ReceiveStock,
            pb.ReceiveStockRequest(
                request_id=setup.name("r"), location_id=location_id, lines=[pb.StockLine(sku=sku, quantity=1)]
            ),
            md,
        )
        await _denied(inventory.ListMovements, pb.ListMovementsRequest(location_id=location_id), md)
    listed = await inventory.ListLocations(pb.ListLocationsRequest(owner_dealer_id=other), metadata=md)
    assert [loc.id for loc in listed.locations] == []
    listed = await inventory.ListLocations(pb.ListLocationsRequest(), metadata=md)
    assert [loc.id for loc in listed.locations] == [mine]
    await setup.stock(brand, **{sku: 50})
    [item] = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=md)).items
    assert (item.on_hand, [b.location_id for b in item.by_location]) == (3, [mine])
    # Role table: a dealer may not create locations or reserve.
    await _denied(
        inventory.UpsertLocation,
        pb.UpsertLocationRequest(location=pb.Location(id=setup.name("X"), name="x", type=1)),
        md,
    )


async def test_a_store_acts_only_at_its_location(inventory, setup) -> None:  # type: ignore[no-untyped-def]
    shop, other = await setup.location("SHOP", type_=2), await setup.location("SHOP", type_=2)
    md = metadata("store", location_id=shop)
    await inventory.AdjustStock(
        pb.AdjustStockRequest(request_id=setup.name("a"), location_id=shop, sku="FOUND-1", delta=2, reason="count"),
        metadata=md,
    )
    await _denied(
        inventory.AdjustStock,
        pb.AdjustStockRequest(request_id=setup.name("a"), location_id=other, sku="FOUND-1", delta=2, reason="count"),
        md,
    )
    moves = await inventory.ListMovements(pb.ListMovementsRequest(location_id=shop), metadata=md)
    assert [m.delta for m in moves.movements] == [2]


async def test_a_store_reads_no_other_dealers_channel(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    """A channel's view carries its sales counters: a store may look through the channels the dealer owning it
    may (a brand channel, that dealer's own), never another dealer's."""
    js = inventory_host.infra.js
    x, y = setup.name("D"), setup.name("D")
    shop_x = await setup.location("SHOP-X", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=x)
    brand_shop = await setup.location("SHOP", type_=pb.LOCATION_TYPE_STORE)
    sku = setup.name("SKU")
    channels = {owner: setup.name("ch") for owner in (x, y, "")}
    for owner, channel_id in channels.items():
        await publish_channel(js, channels_pb2.Channel(id=channel_id, version=1, owner_dealer_id=owner))
        await availability(inventory, admin, sku, channel_id)

    async def read(location_id: str, channel_id: str) -> pb.GetAvailabilityResponse:
        request = pb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id)
        return await inventory.GetAvailability(request, metadata=metadata("store", location_id=location_id))

    await read(shop_x, channels[x])
    await read(shop_x, channels[""])
    await read(brand_shop, channels[""])
    for location_id, channel_id in ((shop_x, channels[y]), (brand_shop, channels[x])):
        await _denied(
            inventory.GetAvailability,
            pb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id),
            metadata("store", location_id=location_id),
        )


async def test_a_dealer_releases_dedicated_stock_only_at_its_own_locations(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    """The brand may set a brand warehouse's units aside for a dealer's channel; only the brand gives them back."""
    js = inventory_host.infra.js
    dealer = setup.name("D")
    wh = await setup.location("WH")
    shop = await setup.location("SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    await setup.stock(shop, **{sku: 10})
    channel_id = setup.name("ch")
    await publish_channel(js, channels_pb2.Channel(id=channel_id, version=1, owner_dealer_id=dealer))
    await availability(inventory, admin, sku, channel_id)
    md = metadata("dealer", dealer_id=dealer)

    async def dedicate(location_id: str, token) -> pb.ChannelAllocation:  # type: ignore[no-untyped-def]
        request = pb.CreateChannelAllocationRequest(
            request_id=setup.name("a"), channel_id=channel_id, location_id=location_id, sku=sku, quantity=5
        )
        return (await inventory.CreateChannelAllocation(request, metadata=token)).allocation

    brands = await dedicate(wh, admin)
    await _denied(inventory.ReleaseChannelAllocation, pb.ReleaseChannelAllocationRequest(allocation_id=brands.id), md)
    own = await dedicate(shop, md)
    released = await inventory.ReleaseChannelAllocation(
        pb.ReleaseChannelAllocationRequest(allocation_id=own.id), metadata=md
    )
    assert released.allocation.status == pb.CHANNEL_ALLOCATION_STATUS_RELEASED
    listed = await inventory.ListChannelAllocations(
        pb.ListChannelAllocationsRequest(channel_id=channel_id, include_closed=True), metadata=admin
    )
    assert {(a.location_id, a.status, a.remaining) for a in listed.allocations} == {
        (wh, pb.CHANNEL_ALLOCATION_STATUS_ACTIVE, 5),
        (shop, pb.CHANNEL_ALLOCATION_STATUS_RELEASED, 0),
    }


async def test_a_channel_sees_only_its_own_view(inventory, setup) -> None:  # type: ignore[no-untyped-def]
    md = metadata("channel", channel_id="CH-OWN")
    await _denied(inventory.GetAvailability, pb.GetAvailabilityRequest(skus=["A"], channel_id="CH-OTHER"), md)
    await _denied(
        inventory.Reserve,
        pb.ReserveRequest(
            request_id=setup.name("r"), channel_id="CH-OTHER", lines=[pb.ReserveLine(sku="A", quantity=1)]
        ),
        md,
    )
    # Asking without a channel id still answers in the caller's own channel (unknown to inventory here).
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=["A"]), metadata=md)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "CH-OWN" in caught.value.details()


async def test_request_ids_are_per_caller_so_no_one_replays_anothers_answer(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh, sku = await setup.location(), setup.name("SKU")
    request = pb.ReceiveStockRequest(request_id="shared-id", location_id=wh, lines=[pb.StockLine(sku=sku, quantity=1)])
    dealer_a, dealer_b = setup.name("D"), setup.name("D")
    shop_a = await setup.location("A", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer_a)
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id="shared-id", location_id=shop_a, lines=[pb.StockLine(sku=sku, quantity=2)]),
        metadata=metadata("dealer", dealer_id=dealer_a),
    )
    # The same request_id from the brand is a different request, evaluated on its own.
    reply = await inventory.ReceiveStock(request, metadata=admin)
    assert reply.levels[0].location_id == wh and reply.levels[0].on_hand == 1
    # Dealer B asking with A's exact request learns nothing about A: it is refused by scope, not replayed.
    await _denied(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(request_id="shared-id", location_id=shop_a, lines=[pb.StockLine(sku=sku, quantity=2)]),
        metadata("dealer", dealer_id=dealer_b),
    )
