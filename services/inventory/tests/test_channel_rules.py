"""The three channel rules in inventory's reservation, through gRPC on real PostgreSQL and NATS (issue 12 item 1):
the exposure ratio (max_share_bps), the sales cap (a listing's sales_cap_units) and dedicated stock
(CreateChannelAllocation). Channel policies and listings arrive as channels' events, published here."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import error_info, metadata
from sqlalchemy import text

from .test_channel_view import availability, publish_channel

pytestmark = pytest.mark.asyncio


async def publish_listing(js, channel_id: str, sku: str, cap: int, version: int = 1) -> None:  # type: ignore[no-untyped-def]
    event_id = str(uuid.uuid4())
    event = channel_events.ListingUpserted(
        meta=common_pb2.EventMeta(event_id=event_id),
        listing=channels_pb2.Listing(channel_id=channel_id, sku=sku, active=True, sales_cap_units=cap, version=version),
    )
    await js.publish("channels.listing.upserted", event.SerializeToString(), headers={"Nats-Msg-Id": event_id})


async def until(probe, check, within: float = 10.0):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        assert loop.time() < deadline, f"never held; last value {value}"
        await asyncio.sleep(0.05)


async def new_channel(setup, js, inventory, admin, *, share: int = 0, **policy) -> str:  # type: ignore[no-untyped-def]
    channel_id = setup.name("ch")
    allocation = channels_pb2.AllocationPolicy(max_share_bps=share, **policy)
    await publish_channel(js, channels_pb2.Channel(id=channel_id, version=1, allocation=allocation))
    return channel_id


Outcomes = tuple[list[pb.Reservation], list[grpc.aio.AioRpcError]]


async def reserve_many(setup, sku: str, channel_id: str, n: int) -> Outcomes:  # type: ignore[no-untyped-def]
    async def one(i: int) -> pb.Reservation | grpc.aio.AioRpcError:
        try:
            return await setup.reserve((sku, 1), channel_id=channel_id)
        except grpc.aio.AioRpcError as exc:
            return exc

    results = await asyncio.gather(*(one(i) for i in range(n)))
    ok = [r for r in results if isinstance(r, pb.Reservation)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    for exc in refused:
        assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
        assert error_info(exc).reason == "INSUFFICIENT_STOCK"
    return ok, refused


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


async def test_30_percent_share_sells_on_and_on_one_by_one_but_a_sales_cap_holds_under_50_concurrent_orders(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 100})
    douyin = await new_channel(setup, js, inventory, admin, share=3000)
    await availability(inventory, admin, sku, douyin)

    # The exposure ratio alone is recomputed on what is left: one by one, 40 sales go through.
    for _ in range(40):
        await setup.reserve((sku, 1), channel_id=douyin)
    item = await availability(inventory, admin, sku, douyin)
    assert (item.exposed, item.available, item.sales_counted) == (18, 18, 40)  # 30% of the 60 left

    # A sales cap of 50 (40 already counted): of 50 concurrent orders exactly 10 pass, never one more.
    await publish_listing(js, douyin, sku, cap=50)
    item = await until(lambda: availability(inventory, admin, sku, douyin), lambda i: i.sales_cap_units == 50)
    assert (item.available, item.sales_counted) == (10, 40)
    ok, refused = await reserve_many(setup, sku, douyin, 50)
    assert (len(ok), len(refused)) == (10, 40)
    assert "available 0" in refused[0].details()
    item = await availability(inventory, admin, sku, douyin)
    assert (item.available, item.sales_counted, item.exposed) == (0, 50, 15)  # 30% of the 50 left, but capped

    # Released reservations stop counting; committed and fulfilled ones keep counting.
    await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=ok[0].id), metadata=admin)
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=ok[1].id), metadata=admin)
    await inventory.FulfillReservation(
        pb.FulfillReservationRequest(reservation_id=ok[1].id, location_id=wh), metadata=admin
    )
    item = await availability(inventory, admin, sku, douyin)
    assert (item.available, item.sales_counted) == (1, 49)
    # Without a channel (the brand's back office) the cap does not apply: the pool still has its units.
    pool = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items[0]
    assert pool.available == 51  # 100 - 1 shipped - 48 still reserved
    await check_invariants()


async def test_a_lower_cap_from_an_older_listing_event_is_ignored(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    channel = await new_channel(setup, js, inventory, admin)
    await availability(inventory, admin, sku, channel)
    await publish_listing(js, channel, sku, cap=7, version=3)
    await until(lambda: availability(inventory, admin, sku, channel), lambda i: i.sales_cap_units == 7)
    await publish_listing(js, channel, sku, cap=2, version=2)
    await publish_listing(js, channel, sku, cap=0, version=4)  # 0: no cap any more
    item = await until(lambda: availability(inventory, admin, sku, channel), lambda i: i.sales_cap_units == 0)
    assert item.available == 10


async def test_dedicated_stock_is_sold_only_by_its_channel_under_50_concurrent_orders_each(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 40})
    campaign, other = (await new_channel(setup, js, inventory, admin), await new_channel(setup, js, inventory, admin))
    await availability(inventory, admin, sku, campaign)
    await availability(inventory, admin, sku, other)

    created = await inventory.CreateChannelAllocation(
        pb.CreateChannelAllocationRequest(
            request_id=setup.name("alloc"), channel_id=campaign, location_id=wh, sku=sku, quantity=20
        ),
        metadata=admin,
    )
    allocation = created.allocation
    assert (allocation.quantity, allocation.remaining) == (20, 20)
    assert allocation.status == pb.CHANNEL_ALLOCATION_STATUS_ACTIVE
    item = await availability(inventory, admin, sku, other)
    assert (item.available, item.dedicated, item.by_location[0].dedicated) == (20, 0, 0)
    item = await availability(inventory, admin, sku, campaign)
    assert (item.available, item.exposed, item.dedicated) == (40, 20, 20)

    # 50 concurrent orders on the other channel: only the 20 shared units.
    ok, _ = await reserve_many(setup, sku, other, 50)
    assert len(ok) == 20
    # 50 concurrent orders on the campaign channel: exactly its 20 dedicated units.
    ok, _ = await reserve_many(setup, sku, campaign, 50)
    assert len(ok) == 20
    [listed] = (
        await inventory.ListChannelAllocations(pb.ListChannelAllocationsRequest(channel_id=campaign), metadata=admin)
    ).allocations
    assert (listed.id, listed.remaining) == (allocation.id, 0)
    levels = await check_invariants()
    assert levels[(sku, wh)] == (40, 40)


async def test_what_is_left_of_dedicated_stock_returns_to_the_pool_when_released_or_at_ends_at(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location("WH")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 30})
    campaign = await new_channel(setup, js, inventory, admin)
    await availability(inventory, admin, sku, campaign)

    async def dedicate(quantity: int, ends_at: datetime | None = None) -> pb.ChannelAllocation:
        request = pb.CreateChannelAllocationRequest(
            request_id=setup.name("alloc"), channel_id=campaign, location_id=wh, sku=sku, quantity=quantity
        )
        if ends_at is not None:
            request.ends_at.CopyFrom(ts(ends_at))
        first = await inventory.CreateChannelAllocation(request, metadata=admin)
        again = await inventory.CreateChannelAllocation(request, metadata=admin)  # idempotent by request_id
        assert again == first
        return first.allocation

    async def pool() -> int:
        reply = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)
        return reply.items[0].available

    released = await dedicate(10)
    # Ends when the test says (below), not by a clock: on a loaded machine 2 s passed before the asserts.
    ending = await dedicate(10, ends_at=datetime.now(UTC) + timedelta(hours=1))
    assert await pool() == 10
    await setup.reserve((sku, 4), channel_id=campaign)  # from the allocation ending first
    assert await pool() == 10

    # Beyond the shared pool: refused, and nothing changes.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.CreateChannelAllocation(
            pb.CreateChannelAllocationRequest(
                request_id=setup.name("alloc"), channel_id=campaign, location_id=wh, sku=sku, quantity=11
            ),
            metadata=admin,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "available 10" in caught.value.details()

    reply = await inventory.ReleaseChannelAllocation(
        pb.ReleaseChannelAllocationRequest(allocation_id=released.id), metadata=admin
    )
    assert (reply.allocation.status, reply.allocation.returned) == (pb.CHANNEL_ALLOCATION_STATUS_RELEASED, 10)
    assert await pool() == 20
    again = await inventory.ReleaseChannelAllocation(
        pb.ReleaseChannelAllocationRequest(allocation_id=released.id), metadata=admin
    )
    assert again.allocation.returned == 10 and await pool() == 20

    # The sweeper ends the other one at ends_at: its 6 units left go back.
    async with inventory_host.infra.engine.begin() as conn:
        await conn.execute(
            text("UPDATE channel_allocations SET ends_at = now() - interval '1 second' WHERE id = :id"),
            {"id": ending.id},
        )
    await until(pool, lambda n: n == 26)
    [ended] = (
        await inventory.ListChannelAllocations(
            pb.ListChannelAllocationsRequest(channel_id=campaign, sku=sku, include_closed=True), metadata=admin
        )
    ).allocations[1:]
    assert (ended.id, ended.status, ended.remaining, ended.returned) == (
        ending.id,
        pb.CHANNEL_ALLOCATION_STATUS_ENDED,
        0,
        6,
    )
    levels = await check_invariants()
    assert levels[(sku, wh)] == (30, 4)


async def test_dedicated_stock_ends_when_its_channel_may_no_longer_sell_from_its_location(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    await setup.stock(shop, **{sku: 10})
    campaign = setup.name("ch")

    async def policy(version: int, *location_ids: str) -> None:
        allocation = channels_pb2.AllocationPolicy(location_ids=list(location_ids))
        channel = channels_pb2.Channel(id=campaign, version=version, allocation=allocation)
        await publish_channel(js, channel, created=version == 1)

    async def allocations() -> dict[str, pb.ChannelAllocation]:
        reply = await inventory.ListChannelAllocations(
            pb.ListChannelAllocationsRequest(channel_id=campaign, include_closed=True), metadata=admin
        )
        return {a.location_id: a for a in reply.allocations}

    async def pool(location_id: str) -> int:
        reply = await inventory.GetAvailability(
            pb.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=admin
        )
        return reply.items[0].available

    await policy(1, wh, shop)
    await availability(inventory, admin, sku, campaign)
    for location_id in (wh, shop):
        await inventory.CreateChannelAllocation(
            pb.CreateChannelAllocationRequest(
                request_id=setup.name("alloc"), channel_id=campaign, location_id=location_id, sku=sku, quantity=6
            ),
            metadata=admin,
        )
    await setup.reserve((sku, 2), channel_id=campaign, pin=wh)
    assert (await pool(wh), await pool(shop)) == (4, 4)

    # The channel stops selling from the warehouse: its 4 dedicated units left there could be sold by nobody,
    # so the allocation ends and they return to the shared pool. The shop's stays.
    await policy(2, shop)
    ended = await until(allocations, lambda a: a[wh].status == pb.CHANNEL_ALLOCATION_STATUS_ENDED)
    assert (ended[wh].remaining, ended[wh].returned) == (0, 4)
    assert ended[shop].status == pb.CHANNEL_ALLOCATION_STATUS_ACTIVE
    assert (await pool(wh), await pool(shop)) == (8, 4)

    # A disabled shop keeps its allocation (it is closed for now, not gone from the channel); enabled again,
    # it still has it. Once the channel names only the warehouse, the shop's ends too.
    async def upsert_shop(**fields: object) -> None:
        location = pb.Location(id=shop, name="SHOP", type=2, ships=True, **fields)  # type: ignore[arg-type]
        await inventory.UpsertLocation(pb.UpsertLocationRequest(location=location), metadata=admin)

    await upsert_shop(disabled=True)
    assert (await allocations())[shop].status == pb.CHANNEL_ALLOCATION_STATUS_ACTIVE
    await upsert_shop()
    assert (await allocations())[shop].status == pb.CHANNEL_ALLOCATION_STATUS_ACTIVE
    await policy(3)  # no locations named: every location, so the warehouse's ended allocation stays ended
    await policy(4, wh)
    after = await until(allocations, lambda a: a[shop].status == pb.CHANNEL_ALLOCATION_STATUS_ENDED)
    assert after[wh].status == pb.CHANNEL_ALLOCATION_STATUS_ENDED and await pool(shop) == 10
    levels = await check_invariants()
    assert levels[(sku, wh)] == (10, 2)


async def test_channel_allocation_refusals_change_nothing(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    only_shop = await new_channel(setup, js, inventory, admin, location_ids=[shop])
    await availability(inventory, admin, sku, only_shop)

    async def refused(request: pb.CreateChannelAllocationRequest, token=admin):  # type: ignore[no-untyped-def]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await inventory.CreateChannelAllocation(request, metadata=token)
        return caught.value

    base = {"request_id": setup.name("r"), "channel_id": only_shop, "location_id": wh, "sku": sku, "quantity": 1}
    assert (await refused(pb.CreateChannelAllocationRequest(**base))).code() == grpc.StatusCode.FAILED_PRECONDITION
    bad = await refused(pb.CreateChannelAllocationRequest(**{**base, "quantity": 0, "sku": ""}))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "quantity" in bad.details() and "sku" in bad.details()
    past = pb.CreateChannelAllocationRequest(**{**base, "location_id": shop})
    past.ends_at.CopyFrom(ts(datetime.now(UTC) - timedelta(minutes=1)))
    assert (await refused(past)).code() == grpc.StatusCode.INVALID_ARGUMENT
    unknown = await refused(pb.CreateChannelAllocationRequest(**{**base, "channel_id": "no-such-channel"}))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    # A dealer may not set stock aside for a brand channel, nor a channel token at all.
    dealer = await refused(pb.CreateChannelAllocationRequest(**base), metadata("dealer", dealer_id="D-1"))
    assert dealer.code() == grpc.StatusCode.PERMISSION_DENIED
    channel = await refused(pb.CreateChannelAllocationRequest(**base), metadata("channel", channel_id=only_shop))
    assert channel.code() == grpc.StatusCode.PERMISSION_DENIED
    pool = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items[0]
    assert (pool.available, pool.by_location[0].dedicated) == (5, 0)


async def test_list_stock_levels_pages_through_every_level_once(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location("WH")
    skus = [setup.name("SKU") for _ in range(7)]
    await setup.stock(wh, **dict.fromkeys(skus, 3))
    seen, token = [], ""
    while True:
        page = await inventory.ListStockLevels(
            pb.ListStockLevelsRequest(location_id=wh, page_size=3, page_token=token), metadata=admin
        )
        seen.extend((lvl.sku, lvl.on_hand, lvl.available) for lvl in page.levels)
        token = page.next_page_token
        if not token:
            break
    assert seen == [(sku, 3, 3) for sku in sorted(skus)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.ListStockLevels(pb.ListStockLevelsRequest(page_token="bm90LWpzb24"), metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Every level is the services' read (a dealer or store lists one of its own locations: test_list_paging).
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.ListStockLevels(pb.ListStockLevelsRequest(), metadata=metadata("channel", channel_id="C-1"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_units_in_transit_show_as_inbound_at_their_destination_and_are_never_sellable(
    inventory, admin, setup
) -> None:  # type: ignore[no-untyped-def]
    wh, dealer_wh = await setup.location("WH"), await setup.location("DWH", type_=3, owner="D-9")
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 80})
    transfer = (
        await inventory.TransferStock(
            pb.TransferStockRequest(
                request_id=setup.name("t"),
                from_location_id=wh,
                to_location_id=dealer_wh,
                lines=[pb.StockLine(sku=sku, quantity=50)],
            ),
            metadata=admin,
        )
    ).transfer

    async def item() -> pb.Availability:
        return (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items[0]

    during = await item()
    assert (during.available, during.inbound) == (30, 50)
    assert {(b.location_id, b.available, b.inbound) for b in during.by_location} == {(wh, 30, 0), (dealer_wh, 0, 50)}
    await inventory.ReceiveTransfer(pb.ReceiveTransferRequest(transfer_id=transfer.id), metadata=admin)
    after = await item()
    assert (after.available, after.inbound) == (80, 0)


async def test_a_refused_reserve_leaves_no_sales_counter_behind(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    # The batch creates a (channel, sku) counter to lock it; when every request on it is refused, it goes again.
    wh, sku = await setup.location("WH"), setup.name("SKU")
    await setup.stock(wh, **{sku: 1})
    channel = await new_channel(setup, inventory_host.infra.js, inventory, admin)
    await availability(inventory, admin, sku, channel)

    async def counters() -> list[tuple[int, int]]:
        async with inventory_host.infra.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT counted, version FROM channel_sales WHERE channel_id = :c AND sku = :s"),
                {"c": channel, "s": sku},
            )
            return [tuple(r) for r in rows]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await setup.reserve((sku, 5), channel_id=channel)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await counters() == []
    await setup.reserve((sku, 1), channel_id=channel)
    assert [counted for counted, _ in await counters()] == [1]


async def test_dedicated_stock_at_one_warehouse_never_opens_the_shared_pool_at_another(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    """Audit R item 1: a channel seeing none of the shared pool, with 10 dedicated units at B, had orders filled
    from A's shared units (A ranks first), so its 10 stayed shown and it could drain the pool 10 at a time."""
    js = inventory_host.infra.js
    a, b = await setup.location("A-WH", priority=10), await setup.location("B-WH")
    sku = setup.name("SKU")
    await setup.stock(a, **{sku: 100})
    await setup.stock(b, **{sku: 10})
    campaign = await new_channel(setup, js, inventory, admin, share=1)  # 1bp of 110 = 0 units of the shared pool
    other = await new_channel(setup, js, inventory, admin)
    await availability(inventory, admin, sku, campaign)
    await availability(inventory, admin, sku, other)
    await inventory.CreateChannelAllocation(
        pb.CreateChannelAllocationRequest(
            request_id=setup.name("alloc"), channel_id=campaign, location_id=b, sku=sku, quantity=10
        ),
        metadata=admin,
    )
    item = await availability(inventory, admin, sku, campaign)
    assert (item.available, item.exposed, item.dedicated) == (10, 0, 10)

    # Pinned to A, the line could only take shared units: refused, nothing changes.
    with pytest.raises(grpc.aio.AioRpcError) as pinned:
        await setup.reserve((sku, 1), channel_id=campaign, pin=a)
    assert error_info(pinned.value).reason == "INSUFFICIENT_STOCK"
    # Five orders of 10: the first takes the dedicated units at B, the other four are refused.
    first = await setup.reserve((sku, 10), channel_id=campaign)
    assert [(x.location_id, x.quantity) for x in first.allocations] == [(b, 10)]
    for _ in range(4):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await setup.reserve((sku, 10), channel_id=campaign)
        assert error_info(refused.value).reason == "INSUFFICIENT_STOCK"
    assert (await availability(inventory, admin, sku, other)).available == 100

    # With a share of the pool too, an order one place can fill takes the dedicated units before shared ones.
    half = await new_channel(setup, js, inventory, admin, share=5000)
    await availability(inventory, admin, sku, half)
    await setup.stock(b, **{sku: 10})
    await inventory.CreateChannelAllocation(
        pb.CreateChannelAllocationRequest(
            request_id=setup.name("alloc"), channel_id=half, location_id=b, sku=sku, quantity=5
        ),
        metadata=admin,
    )
    taken = await setup.reserve((sku, 5), channel_id=half)
    assert [(x.location_id, x.quantity) for x in taken.allocations] == [(b, 5)]
    [allocation] = (
        await inventory.ListChannelAllocations(pb.ListChannelAllocationsRequest(channel_id=half), metadata=admin)
    ).allocations
    assert allocation.remaining == 0
