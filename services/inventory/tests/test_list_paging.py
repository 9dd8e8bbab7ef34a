"""Listing the estate without reading all of it: ListLocations by id and by page, ListChannelAllocations past the
thousand rows it used to cut silently (channels' rebuild read only the first 1,000 active allocations)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.entrypoints import requests as inventory_requests
from onepool_runtime.testing.services import metadata

from .test_channel_rules import new_channel
from .test_channel_view import availability

pytestmark = pytest.mark.asyncio


async def _pages(call, request, md, key=lambda item: item.id) -> list[list[Any]]:  # type: ignore[no-untyped-def]
    """`key` of every item of every page (their ids unless said), following next_page_token to the end."""
    pages = []
    while True:
        reply = await call(request, metadata=md)
        for field in ("locations", "allocations", "levels"):
            if hasattr(reply, field):
                items = getattr(reply, field)
        pages.append([key(item) for item in items])
        if not reply.next_page_token:
            return pages
        request.page_token = reply.next_page_token


async def test_locations_page_in_id_order_and_are_found_by_id(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    region = setup.name("region")
    ids = sorted([await setup.location("WH", region=region) for _ in range(5)])

    pages = await _pages(inventory.ListLocations, pb.ListLocationsRequest(region=region, page_size=2), admin)
    assert pages == [ids[0:2], ids[2:4], ids[4:]]
    # Without page_size: every match in one reply, as before paging existed.
    whole = await inventory.ListLocations(pb.ListLocationsRequest(region=region), metadata=admin)
    assert ([loc.id for loc in whole.locations], whole.next_page_token) == (ids, "")

    wanted = pb.ListLocationsRequest(location_ids=[ids[3], "NO-SUCH-LOCATION", ids[1], ids[3]])
    found = await inventory.ListLocations(wanted, metadata=admin)
    assert [loc.id for loc in found.locations] == [ids[1], ids[3]]
    wanted.type = pb.LOCATION_TYPE_STORE  # the filters combine
    assert not (await inventory.ListLocations(wanted, metadata=admin)).locations


async def test_dealers_and_stores_page_and_look_up_only_their_own_locations(inventory, setup) -> None:  # type: ignore[no-untyped-def]
    dealer = setup.name("D")
    mine = sorted([await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer) for _ in range(3)])
    theirs = await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=setup.name("D"))
    brand = await setup.location("WH")
    as_dealer = metadata("dealer", dealer_id=dealer)

    assert await _pages(inventory.ListLocations, pb.ListLocationsRequest(page_size=1), as_dealer) == [
        [mine[0]],
        [mine[1]],
        [mine[2]],
    ]
    asked = pb.ListLocationsRequest(location_ids=[theirs, mine[1], brand])
    assert [loc.id for loc in (await inventory.ListLocations(asked, metadata=as_dealer)).locations] == [mine[1]]

    shop = await setup.location("SHOP", type_=pb.LOCATION_TYPE_STORE)
    as_store = metadata("store", location_id=shop)
    asked = pb.ListLocationsRequest(location_ids=[brand, shop, theirs], page_size=10)
    assert await _pages(inventory.ListLocations, asked, as_store) == [[shop]]
    asked = pb.ListLocationsRequest(location_ids=[brand])
    assert not (await inventory.ListLocations(asked, metadata=as_store)).locations


def _lengths(total: int, page_size: int) -> list[int]:
    return [min(page_size, total - start) for start in range(0, total, page_size)]


async def allocations_page_past_the_cap(
    inventory: Any, admin: Any, setup: Any, host: Any, check_invariants: Any, cap: int, page_size: int
) -> None:
    """Five SKUs with `cap` // 5 + 1 allocations each: five past what one reply holds."""
    per_sku = cap // 5 + 1
    total = 5 * per_sku
    channel = await new_channel(setup, host.infra.js, inventory, admin)
    wh = await setup.location("WH")
    skus = [setup.name("SKU") for _ in range(5)]
    await setup.stock(wh, **dict.fromkeys(skus, per_sku))
    await availability(inventory, admin, skus[0], channel)
    gate = asyncio.Semaphore(16)

    async def allocate(sku: str) -> str:
        async with gate:
            request = pb.CreateChannelAllocationRequest(
                request_id=setup.name("alloc"), channel_id=channel, location_id=wh, sku=sku, quantity=1
            )
            return (await inventory.CreateChannelAllocation(request, metadata=admin)).allocation.id

    created = await asyncio.gather(*(allocate(sku) for sku in skus for _ in range(per_sku)))
    assert len(set(created)) == total

    first = await inventory.ListChannelAllocations(pb.ListChannelAllocationsRequest(channel_id=channel), metadata=admin)
    assert len(first.allocations) == cap and first.next_page_token  # the old reply, now with a way on
    everything = await _pages(
        inventory.ListChannelAllocations, pb.ListChannelAllocationsRequest(channel_id=channel), admin
    )
    assert [len(page) for page in everything] == [cap, total - cap]
    listed = [a for page in everything for a in page]
    assert sorted(listed) == sorted(created)

    paged = await _pages(
        inventory.ListChannelAllocations,
        pb.ListChannelAllocationsRequest(channel_id=channel, page_size=page_size),
        admin,
    )
    assert [len(page) for page in paged] == _lengths(total, page_size)
    assert [a for page in paged for a in page] == listed  # one order: (channel, sku, created, id)

    one_sku = await _pages(
        inventory.ListChannelAllocations,
        pb.ListChannelAllocationsRequest(channel_id=channel, sku=skus[2], page_size=page_size),
        admin,
    )
    assert [len(page) for page in one_sku] == _lengths(per_sku, page_size)
    await check_invariants()


async def test_channel_allocations_page_past_the_cap_a_reply_used_to_stop_at(
    inventory, admin, setup, inventory_host, check_invariants, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """`make test`: the reply cap lowered from 1,000 to 10 (the service runs in this process), 15 allocations."""
    monkeypatch.setattr(inventory_requests, "ALLOCATIONS_PAGE", 10)
    await allocations_page_past_the_cap(inventory, admin, setup, inventory_host, check_invariants, cap=10, page_size=2)


@pytest.mark.slow
async def test_channel_allocations_page_past_the_thousand_a_reply_used_to_stop_at(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """`make test-long`: at the real cap, 1,005 allocations."""
    await allocations_page_past_the_cap(
        inventory, admin, setup, inventory_host, check_invariants, cap=1000, page_size=400
    )


async def test_a_dealer_lists_the_stock_levels_of_its_own_location_only(inventory, setup) -> None:  # type: ignore[no-untyped-def]
    dealer = setup.name("D")
    shop = await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer)
    skus = sorted(setup.name("SKU") for _ in range(3))
    await setup.stock(shop, **{sku: 2 for sku in skus})
    as_dealer = metadata("dealer", dealer_id=dealer)
    asked = pb.ListStockLevelsRequest(location_id=shop, page_size=2)
    pages = await _pages(inventory.ListStockLevels, asked, as_dealer, key=lambda lvl: (lvl.sku, lvl.on_hand))
    assert pages == [[(skus[0], 2), (skus[1], 2)], [(skus[2], 2)]]
    with pytest.raises(grpc.aio.AioRpcError) as unnamed:
        await inventory.ListStockLevels(pb.ListStockLevelsRequest(), metadata=as_dealer)
    assert unnamed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
