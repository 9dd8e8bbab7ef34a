"""Flow 8, dealer replenishment, across the real inventory, channels and dealers services: a dealer is
registered with its own DEALER channel, gets a store in the pool, orders stock from a brand warehouse at its
tier's wholesale price within its credit, and the stock moves (in transit, then received) into its store.
A dealer token sees and changes only its own dealer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import grpc
import nats
import pytest
from onepool.channels.v1 import channels_pb2 as ch
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.dealers.v1 import events_pb2 as dealer_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import error_info, field_violations, metadata

pytestmark = pytest.mark.asyncio


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def channel_locations(inventory, channel_id: str, sku: str, md) -> set[str]:  # type: ignore[no-untyped-def]
    """The locations a channel sells `sku` from; empty until inventory has heard of the channel."""
    try:
        reply = await inventory.GetAvailability(
            inv.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=md
        )
    except grpc.aio.AioRpcError as error:
        # Inventory learns a dealer's channel from channels' event, a moment after the dealer is registered.
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return set()
        raise
    return {b.location_id for b in reply.items[0].by_location}


async def refused(call, request, md, code: grpc.StatusCode) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == code, caught.value.details()
    return caught.value


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    return stack


@pytest.fixture(scope="module")
async def brand_warehouse(services, admin) -> str:  # type: ignore[no-untyped-def]
    inventory = services.stub("inventory")
    warehouse = name("WH")
    await inventory.UpsertLocation(
        inv.UpsertLocationRequest(
            location=inv.Location(id=warehouse, name="Brand DC", type=inv.LOCATION_TYPE_WAREHOUSE)
        ),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        inv.ReceiveStockRequest(
            request_id=name("rcv"),
            location_id=warehouse,
            lines=[inv.StockLine(sku="TEA-1", quantity=100), inv.StockLine(sku="CUP-1", quantity=50)],
        ),
        metadata=admin,
    )
    return warehouse


async def register(dealers, admin, tier: int = pb.DEALER_TIER_GOLD, limit: int = 100_000) -> pb.Dealer:  # type: ignore[no-untyped-def]
    reply = await dealers.RegisterDealer(
        pb.RegisterDealerRequest(
            request_id=name("reg"), name="Hangzhou Dealer", tier=tier, credit_limit=cny(limit), region="CN-ZJ"
        ),
        metadata=admin,
    )
    return reply.dealer


async def add_store(dealers, admin, dealer_id: str) -> str:  # type: ignore[no-untyped-def]
    store = name("DS")
    reply = await dealers.AddDealerLocation(
        pb.AddDealerLocationRequest(
            dealer_id=dealer_id,
            location=inv.Location(id=store, name="West Lake shop", type=inv.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )
    assert reply.location.owner_dealer_id == dealer_id
    return store


async def on_hand(inventory, admin, sku: str, location_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(on_hand, available) of one SKU at one location."""
    [item] = (
        await inventory.GetAvailability(
            inv.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=admin
        )
    ).items
    return (item.on_hand, item.available)


async def test_flow_8_dealer_replenishment_end_to_end(services, admin, brand_warehouse) -> None:  # type: ignore[no-untyped-def]
    dealers, channels, inventory = services.stub("dealers"), services.stub("channels"), services.stub("inventory")

    # Registering creates the dealer's own DEALER channel, selling from the brand's pool.
    dealer = await register(dealers, admin)
    assert dealer.status == pb.DEALER_STATUS_ACTIVE and dealer.channel_id
    channel = (await channels.GetChannel(ch.GetChannelRequest(channel_id=dealer.channel_id), metadata=admin)).channel
    assert (channel.type, channel.owner_dealer_id, channel.fee_rate_bps) == (ch.CHANNEL_TYPE_DEALER, dealer.id, 0)
    assert set(channel.allocation.location_types) == {inv.LOCATION_TYPE_WAREHOUSE, inv.LOCATION_TYPE_STORE}

    # A dealer store joins the pool and the dealer channel's allocation.
    store = await add_store(dealers, admin, dealer.id)
    channel = (await channels.GetChannel(ch.GetChannelRequest(channel_id=dealer.channel_id), metadata=admin)).channel
    assert list(channel.allocation.location_ids) == [store]
    owned = await inventory.ListLocations(inv.ListLocationsRequest(owner_dealer_id=dealer.id), metadata=admin)
    assert [loc.id for loc in owned.locations] == [store]

    # Wholesale list prices; GOLD pays 80%.
    for sku, price in (("TEA-1", 10_000), ("CUP-1", 2_499)):
        await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku=sku, list_price=cny(price)), metadata=admin)

    md = metadata("dealer", dealer_id=dealer.id)
    place = pb.PlaceReplenishmentRequest(
        request_id=name("po"),
        dealer_id=dealer.id,
        from_location_id=brand_warehouse,
        to_location_id=store,
        lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=5), pb.ReplenishmentLine(sku="CUP-1", quantity=4)],
    )
    placed = (await dealers.PlaceReplenishment(place, metadata=md)).replenishment
    assert placed.status == pb.REPLENISHMENT_STATUS_PLACED
    # 10 000 x 80% = 8 000; 2 499 x 80% = 1 999.2 -> 1 999 (half up); 5 x 8 000 + 4 x 1 999 = 47 996.
    assert [(ln.unit_price.amount_minor, ln.line_total.amount_minor) for ln in placed.lines] == [
        (8000, 40_000),
        (1999, 7996),
    ]
    assert placed.total == cny(47_996)
    # Replaying the same request returns the same replenishment.
    assert (await dealers.PlaceReplenishment(place, metadata=md)).replenishment == placed

    # A second order beyond the remaining credit is refused, naming requested and available, and changes nothing.
    beyond = pb.PlaceReplenishmentRequest(
        request_id=name("po"),
        dealer_id=dealer.id,
        from_location_id=brand_warehouse,
        to_location_id=store,
        lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=7)],
    )
    error = await refused(dealers.PlaceReplenishment, beyond, md, grpc.StatusCode.FAILED_PRECONDITION)
    info = error_info(error)
    assert (info.reason, info.metadata["requested"], info.metadata["available"]) == ("CREDIT_LIMIT", "56000", "52004")
    listed = await dealers.ListReplenishments(pb.ListReplenishmentsRequest(dealer_id=dealer.id), metadata=md)
    assert [r.id for r in listed.replenishments] == [placed.id]

    # Shipping: the units leave the brand warehouse and are in transit, in neither location.
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=placed.id), metadata=admin)).replenishment
    assert shipped.status == pb.REPLENISHMENT_STATUS_SHIPPED and shipped.transfer_id
    assert await on_hand(inventory, admin, "TEA-1", brand_warehouse) == (95, 95)
    assert await on_hand(inventory, admin, "TEA-1", store) == (0, 0)
    # ... but not invisible (issue 12 item 5): inbound at the store, never sellable, and in the overview.
    during = await inventory.GetAvailability(
        inv.GetAvailabilityRequest(skus=["TEA-1"], location_ids=[store]), metadata=admin
    )
    assert (during.items[0].inbound, during.items[0].available) == (5, 0)
    o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)
    assert (o.inbound_units, o.open_replenishments) == (9, cny(47_996))

    # The dealer receives: the units are available at its store, and settlement hears of it.
    received = (
        await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=placed.id), metadata=md)
    ).replenishment
    assert received.status == pb.REPLENISHMENT_STATUS_RECEIVED
    assert await on_hand(inventory, admin, "TEA-1", store) == (5, 5)
    assert await on_hand(inventory, admin, "CUP-1", store) == (4, 4)

    nc = await nats.connect(services.nats_url)
    try:
        js = nc.jetstream()

        async def published() -> bool:
            try:
                msg = await js.get_last_msg("DEALERS", "dealers.replenishment.received")
            except Exception:
                return False
            event = dealer_events.ReplenishmentReceived.FromString(msg.data)
            return event.replenishment.id == placed.id

        await eventually(published)
        msg = await js.get_last_msg("DEALERS", "dealers.replenishment.received")
        event = dealer_events.ReplenishmentReceived.FromString(msg.data)
        assert (event.replenishment.dealer_id, event.replenishment.total) == (dealer.id, cny(47_996))
        assert msg.headers and msg.headers.get("Nats-Msg-Id") == event.meta.event_id
    finally:
        await nc.close()

    # Settlement books the wholesale receivable: the dealer owes the brand the total.
    settlement = services.stub("settlement")

    async def booked() -> bool:
        reply = await settlement.GetBalance(spb.GetBalanceRequest(party=f"dealer:{dealer.id}"), metadata=md)
        return reply.balance == cny(-47_996)

    await eventually(booked)

    # The overview (read models fed by inventory's and settlement's events) shows the stock and what the
    # dealer owes, counted once although settlement's wholesale entry was seen too.
    async def overview_caught_up() -> bool:
        o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)
        return o.units_in_stock == 9

    await eventually(overview_caught_up)
    o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)
    assert (o.balance, o.credit_limit, o.credit_available, o.open_replenishments) == (
        cny(47_996),
        cny(100_000),
        cny(52_004),
        cny(0),
    )
    assert o.inbound_units == 0

    # Flow 4: the dealer's channel sells its own store's stock as well as the brand's.
    async def channel_sees_store() -> bool:
        return await channel_locations(inventory, dealer.channel_id, "TEA-1", admin) >= {store, brand_warehouse}

    await eventually(channel_sees_store)


async def test_a_dealer_token_cannot_read_or_order_for_another_dealer(services, admin, brand_warehouse) -> None:  # type: ignore[no-untyped-def]
    dealers = services.stub("dealers")
    mine, theirs = await register(dealers, admin), await register(dealers, admin)
    my_store, their_store = await add_store(dealers, admin, mine.id), await add_store(dealers, admin, theirs.id)
    await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku="TEA-1", list_price=cny(100)), metadata=admin)
    theirs_placed = (
        await dealers.PlaceReplenishment(
            pb.PlaceReplenishmentRequest(
                request_id=name("po"),
                dealer_id=theirs.id,
                from_location_id=brand_warehouse,
                to_location_id=their_store,
                lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=1)],
            ),
            metadata=admin,
        )
    ).replenishment
    md = metadata("dealer", dealer_id=mine.id)
    denied = grpc.StatusCode.PERMISSION_DENIED
    await refused(dealers.GetDealer, pb.GetDealerRequest(dealer_id=theirs.id), md, denied)
    await refused(dealers.GetDealerOverview, pb.GetDealerOverviewRequest(dealer_id=theirs.id), md, denied)
    await refused(dealers.GetReplenishment, pb.GetReplenishmentRequest(id=theirs_placed.id), md, denied)
    await refused(dealers.ReceiveReplenishment, pb.ReceiveReplenishmentRequest(id=theirs_placed.id), md, denied)
    for target, to_location in ((theirs.id, their_store), (theirs.id, my_store)):
        await refused(
            dealers.PlaceReplenishment,
            pb.PlaceReplenishmentRequest(
                request_id=name("po"),
                dealer_id=target,
                from_location_id=brand_warehouse,
                to_location_id=to_location,
                lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=1)],
            ),
            md,
            denied,
        )
    # Its own dealer, to another dealer's store or to an id that exists nowhere: both are simply not its
    # location, refused alike, so the answer never tells which ids are other dealers' locations.
    answers = []
    for to_location in (their_store, name("NOWHERE")):
        error = await refused(
            dealers.PlaceReplenishment,
            pb.PlaceReplenishmentRequest(
                request_id=name("po"),
                dealer_id=mine.id,
                from_location_id=brand_warehouse,
                to_location_id=to_location,
                lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=1)],
            ),
            md,
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        info = error_info(error)
        answers.append((info.reason, sorted(info.metadata), error.details().replace(to_location, "<id>")))
    assert answers[0] == answers[1] and answers[0][0] == "NOT_DEALER_LOCATION"
    assert [d.id for d in (await dealers.ListDealers(pb.ListDealersRequest(), metadata=md)).dealers] == [mine.id]


async def test_bad_input_is_invalid_argument_naming_the_field(services, admin, brand_warehouse) -> None:  # type: ignore[no-untyped-def]
    dealers = services.stub("dealers")
    error = await refused(
        dealers.PlaceReplenishment,
        pb.PlaceReplenishmentRequest(
            request_id=name("po"),
            dealer_id="D-1",
            from_location_id=brand_warehouse,
            to_location_id="",
            lines=[pb.ReplenishmentLine(sku="TEA 1", quantity=-2)],
        ),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"to_location_id", "lines[0].sku", "lines[0].quantity"}
    error = await refused(
        dealers.RegisterDealer,
        pb.RegisterDealerRequest(request_id=name("reg"), name="X", tier=pb.DEALER_TIER_GOLD, credit_limit=cny(-1)),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field_violations(error) == ["credit_limit.amount_minor"]


async def test_suspending_a_dealer_pauses_its_channel_and_stops_its_orders(services, admin, brand_warehouse) -> None:  # type: ignore[no-untyped-def]
    dealers, channels = services.stub("dealers"), services.stub("channels")
    dealer = await register(dealers, admin, tier=pb.DEALER_TIER_STANDARD)
    store = await add_store(dealers, admin, dealer.id)
    await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku="TEA-1", list_price=cny(100)), metadata=admin)
    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id=dealer.id, status=pb.DEALER_STATUS_SUSPENDED))
    update.update_mask.paths.append("status")
    assert (await dealers.UpdateDealer(update, metadata=admin)).dealer.status == pb.DEALER_STATUS_SUSPENDED
    channel = (await channels.GetChannel(ch.GetChannelRequest(channel_id=dealer.channel_id), metadata=admin)).channel
    assert channel.status == ch.CHANNEL_STATUS_PAUSED
    assert list(channel.allocation.location_ids) == [store]
    error = await refused(
        dealers.PlaceReplenishment,
        pb.PlaceReplenishmentRequest(
            request_id=name("po"),
            dealer_id=dealer.id,
            from_location_id=brand_warehouse,
            to_location_id=store,
            lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=1)],
        ),
        metadata("dealer", dealer_id=dealer.id),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "DEALER_SUSPENDED"
    update.dealer.status = pb.DEALER_STATUS_ACTIVE
    await dealers.UpdateDealer(update, metadata=admin)
    channel = (await channels.GetChannel(ch.GetChannelRequest(channel_id=dealer.channel_id), metadata=admin)).channel
    assert channel.status == ch.CHANNEL_STATUS_ACTIVE


async def test_flow_4_a_dealer_channel_sells_from_the_dealer_store_first_and_the_overview_counts_it(  # type: ignore[no-untyped-def]
    services, admin, brand_warehouse
) -> None:
    dealers, inventory, orders = services.stub("dealers"), services.stub("inventory"), services.stub("orders")
    dealer = await register(dealers, admin)
    store = await add_store(dealers, admin, dealer.id)
    await inventory.ReceiveStock(
        inv.ReceiveStockRequest(
            request_id=name("rcv"), location_id=store, lines=[inv.StockLine(sku="TEA-1", quantity=3)]
        ),
        metadata=admin,
    )

    async def channel_known_to_inventory() -> bool:
        return store in await channel_locations(inventory, dealer.channel_id, "TEA-1", admin)

    await eventually(channel_known_to_inventory)
    placed = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=dealer.channel_id,
                external_order_id=name("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku="TEA-1", quantity=2, unit_price=cny(15_000))],
                fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-ZJ"),
                dealer_id=dealer.id,
            ),
            metadata=admin,
        )
    ).order
    assert [f.location_id for f in placed.fulfillments] == [store]  # the dealer's own stock first
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=placed.id, payment_ref=name("PAY"), amount=placed.total), metadata=admin
    )

    md = metadata("dealer", dealer_id=dealer.id)

    async def counted() -> bool:
        o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)
        return (o.open_orders, o.sales_in_period.amount_minor, o.units_in_stock) == (1, 30_000, 3)

    await eventually(counted)


async def test_a_dealer_paying_part_of_its_replenishment_debt_gains_exactly_that_much_credit(  # type: ignore[no-untyped-def]
    services, admin, brand_warehouse
) -> None:
    """docs/settlement.md worked example 1: a dealer (limit 100 000) receives a replenishment of 50 000 and
    has 50 000 of credit; the brand records its bank transfer of 20 000 (RecordPayment); settlement's entry
    reaches dealers through settlement.entry.posted, and the dealer owes 30 000 and has 70 000 of credit, so
    a replenishment it could not place before now passes the credit check."""
    dealers, settlement = services.stub("dealers"), services.stub("settlement")
    dealer = await register(dealers, admin, tier=pb.DEALER_TIER_GOLD, limit=100_000)
    store = await add_store(dealers, admin, dealer.id)
    await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku="TEA-1", list_price=cny(12_500)), metadata=admin)
    md = metadata("dealer", dealer_id=dealer.id)

    def order(quantity: int) -> pb.PlaceReplenishmentRequest:
        return pb.PlaceReplenishmentRequest(
            request_id=name("po"),
            dealer_id=dealer.id,
            from_location_id=brand_warehouse,
            to_location_id=store,
            lines=[pb.ReplenishmentLine(sku="TEA-1", quantity=quantity)],
        )

    placed = (await dealers.PlaceReplenishment(order(5), metadata=md)).replenishment  # 5 x 10 000 (GOLD 80%)
    assert placed.total == cny(50_000)
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=placed.id), metadata=admin)
    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=placed.id), metadata=md)

    async def overview() -> pb.GetDealerOverviewResponse:
        return await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)

    o = await overview()
    assert (o.balance, o.credit_available) == (cny(50_000), cny(50_000))
    # Six units (60 000) are beyond the credit.
    error = await refused(dealers.PlaceReplenishment, order(6), md, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).metadata["available"] == "50000"

    payment = spb.RecordPaymentRequest(
        request_id=name("pay"), from_party=f"dealer:{dealer.id}", to_party="brand", amount=cny(20_000), reference="B-1"
    )
    await settlement.RecordPayment(payment, metadata=admin)
    await settlement.RecordPayment(payment, metadata=admin)  # a retry is the same payment

    async def credited() -> bool:
        return (await overview()).credit_available == cny(70_000)

    await eventually(credited)
    o = await overview()
    assert (o.balance, o.credit_available) == (cny(30_000), cny(70_000))
    reply = await settlement.GetBalance(spb.GetBalanceRequest(party=f"dealer:{dealer.id}"), metadata=md)
    assert reply.balance == cny(-30_000)
    again = (await dealers.PlaceReplenishment(order(6), metadata=md)).replenishment
    assert (again.status, again.total) == (pb.REPLENISHMENT_STATUS_PLACED, cny(60_000))
