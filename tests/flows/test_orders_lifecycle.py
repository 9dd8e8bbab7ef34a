"""Flows 1-3, 6, 7 end to end: orders and inventory running, real PostgreSQL and NATS, everything via gRPC."""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, metadata

from tests.support.orders import World, cny, eventually, order_events, pickup_at, ship_to, uid

pytestmark = pytest.mark.asyncio


async def _reservation(world: World, reservation_id: str) -> ipb.Reservation:
    reply = await world.inventory.GetReservation(
        ipb.GetReservationRequest(reservation_id=reservation_id), metadata=world.admin
    )
    return reply.reservation


async def test_online_order_ships_from_the_warehouse_and_everyone_hears_about_it(world: World) -> None:
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 10})
    channel = await world.channel(location_ids=[warehouse])

    order = await world.place(channel, {sku: (2, 9900)})

    assert order.status == opb.ORDER_STATUS_RESERVED
    assert order.total == cny(19800)
    assert [(f.location_id, [(ln.sku, ln.quantity) for ln in f.lines]) for f in order.fulfillments] == [
        (warehouse, [(sku, 2)])
    ]
    assert (await world.level(sku, warehouse)).reserved == 2

    paid = await world.pay(order)
    assert paid.status == opb.ORDER_STATUS_PAID
    assert paid.paid == cny(19800)
    assert (await _reservation(world, order.reservation_id)).status == ipb.RESERVATION_STATUS_COMMITTED

    shipped = (
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id, tracking_no="SF123"),
            metadata=world.admin,
        )
    ).order
    assert shipped.status == opb.ORDER_STATUS_SHIPPED
    assert shipped.fulfillments[0].status == opb.FULFILLMENT_STATUS_SHIPPED
    level = await world.level(sku, warehouse)
    assert (level.on_hand, level.reserved) == (8, 0)

    done = (await world.orders.CompleteOrder(opb.CompleteOrderRequest(order_id=order.id), metadata=world.admin)).order
    assert done.status == opb.ORDER_STATUS_COMPLETED

    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: len(evs) >= 4)
    assert [subject for subject, _ in events] == [
        "orders.order.placed",
        "orders.order.paid",
        "orders.order.shipped",
        "orders.order.completed",
    ]
    # Each event states whether the order is open and paid; readers never interpret orders' statuses.
    assert [(e.facts.is_open, e.facts.is_paid) for _, e in events] == [
        (True, False),
        (True, True),
        (True, True),
        (False, True),
    ]
    _, shipped_event = events[2]
    # What settlement needs travels with the event: channel, customer, lines with prices and units that
    # left, what was paid, the fulfilling location and whether it left.
    facts = shipped_event.facts
    assert (facts.order_id, facts.channel_id, facts.customer_id) == (order.id, channel, order.customer_id)
    assert [(ln.sku, ln.quantity, ln.fulfilled_quantity, ln.unit_price) for ln in facts.lines] == [
        (sku, 2, 2, cny(9900))
    ]
    assert (facts.total, facts.paid, facts.refunded) == (cny(19800), cny(19800), cny(0))
    assert shipped_event.fulfillment_id == order.fulfillments[0].id
    assert [(f.fulfillment_id, f.location_id, f.has_left) for f in facts.fulfillments] == [
        (order.fulfillments[0].id, warehouse, True)
    ]


async def test_order_no_single_location_can_fill_is_split_across_two(world: World) -> None:
    sku = uid("MUG")
    east, west = await world.location("WH-E", priority=2), await world.location("WH-W", priority=1)
    dealer = uid("DLR")
    dealer_shop = await world.location("DS", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(east, {sku: 3})
    await world.stock(dealer_shop, {sku: 2})
    channel = await world.channel(location_ids=[east, west, dealer_shop])

    order = await world.place(channel, {sku: (5, 1000)}, fulfillment=ship_to(allow_split=True))

    assert order.status == opb.ORDER_STATUS_RESERVED
    parts = {f.location_id: (f.lines[0].quantity, f.location_owner_dealer_id) for f in order.fulfillments}
    assert parts == {east: (3, ""), dealer_shop: (2, dealer)}

    await world.pay(order)
    first, second = order.fulfillments
    after_first = (
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=first.id), metadata=world.admin
        )
    ).order
    assert after_first.status == opb.ORDER_STATUS_FULFILLING
    after_both = (
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=second.id), metadata=world.admin
        )
    ).order
    assert after_both.status == opb.ORDER_STATUS_SHIPPED
    assert (await world.level(sku, east)).on_hand == 0
    assert (await world.level(sku, dealer_shop)).on_hand == 0


async def test_cancelling_a_part_shipped_order_cancels_what_has_not_left_and_refunds_its_share(world: World) -> None:
    """One location shipped; the other cannot (damaged, lost). The order must not stay FULFILLING for ever with
    the other location's units held: CancelOrder cancels what has not left, the units go back to the pool and
    their share of the payment is due back; the order is SHIPPED with what left and completes as usual."""
    sku = uid("MUG")
    east, west = await world.location("WH-E", priority=2), await world.location("WH-W", priority=1)
    await world.stock(east, {sku: 3})
    await world.stock(west, {sku: 2})
    channel = await world.channel(location_ids=[east, west])
    order = await world.place(channel, {sku: (5, 1000)}, fulfillment=ship_to(allow_split=True))
    paid = await world.pay(order)
    left = next(f for f in paid.fulfillments if f.location_id == east)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=left.id), metadata=world.admin
    )

    cancel = opb.CancelOrderRequest(order_id=order.id, reason="west's units were damaged")
    cancelled = (await world.orders.CancelOrder(cancel, metadata=world.admin)).order

    assert cancelled.status == opb.ORDER_STATUS_SHIPPED
    statuses = {f.location_id: f.status for f in cancelled.fulfillments}
    assert statuses == {east: opb.FULFILLMENT_STATUS_SHIPPED, west: opb.FULFILLMENT_STATUS_CANCELLED}
    assert cancelled.refunded == cny(2000)  # two of five units, never sent
    assert (await world.level(sku, west)).reserved == 0 and (await world.level(sku, west)).on_hand == 2
    assert (await world.level(sku, east)).on_hand == 0
    assert (await world.orders.CancelOrder(cancel, metadata=world.admin)).order == cancelled  # a retry

    # What left can still come back: all of it refunds the rest of the payment, never more.
    returned = await world.orders.ReturnItems(
        opb.ReturnItemsRequest(
            request_id=uid("RET"),
            order_id=order.id,
            return_location_id=east,
            lines=[opb.ReturnLine(sku=sku, quantity=3)],
        ),
        metadata=world.admin,
    )
    assert returned.order_return.refund == cny(3000) and returned.order.refunded == paid.paid
    completed = await world.orders.CompleteOrder(opb.CompleteOrderRequest(order_id=order.id), metadata=world.admin)
    assert completed.order.status == opb.ORDER_STATUS_COMPLETED


async def test_without_allow_split_an_order_needing_two_locations_is_rejected(world: World) -> None:
    sku = uid("CAP")
    a, b = await world.location("WH-A"), await world.location("WH-B")
    await world.stock(a, {sku: 1})
    await world.stock(b, {sku: 1})
    channel = await world.channel(location_ids=[a, b])

    order = await world.place(channel, {sku: (2, 500)})

    assert order.status == opb.ORDER_STATUS_REJECTED
    assert "allow_split" in order.status_reason
    assert await world.reserved(sku) == 0


async def test_buy_online_pick_up_in_store(world: World) -> None:
    sku = uid("BAG")
    warehouse = await world.location("WH")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE, pickup=True)
    await world.stock(warehouse, {sku: 50})
    await world.stock(shop, {sku: 1})
    channel = await world.channel(location_ids=[warehouse, shop])

    order = await world.place(channel, {sku: (1, 29900)}, fulfillment=pickup_at(shop))

    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [f.location_id for f in order.fulfillments] == [shop]  # only that shop, never the warehouse
    paid = await world.pay(order)
    assert paid.status == opb.ORDER_STATUS_READY_FOR_PICKUP

    picked = (
        await world.orders.ConfirmPickup(
            opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
            metadata=world.admin,
        )
    ).order
    assert picked.status == opb.ORDER_STATUS_SHIPPED
    assert picked.fulfillments[0].status == opb.FULFILLMENT_STATUS_PICKED_UP
    assert (await world.level(sku, shop)).on_hand == 0
    assert (await world.level(sku, warehouse)).on_hand == 50

    # A second pickup order at the same (now empty) shop is rejected with the shortfall.
    again = await world.place(channel, {sku: (1, 29900)}, fulfillment=pickup_at(shop))
    assert again.status == opb.ORDER_STATUS_REJECTED
    assert [(s.sku, s.requested, s.available) for s in again.shortfalls] == [(sku, 1, 0)]


async def test_endless_aisle_a_shop_sells_what_only_the_warehouse_holds(world: World) -> None:
    sku = uid("COAT")
    warehouse = await world.location("WH", region="CN-BJ")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE, region="CN-SH", pickup=True)
    await world.stock(warehouse, {sku: 4})
    # The shop's POS channel may sell its own shelf and the brand warehouses.
    pos = await world.channel(location_ids=[shop], location_types=[ipb.LOCATION_TYPE_WAREHOUSE])

    order = await world.place(pos, {sku: (1, 59900)}, fulfillment=ship_to("CN-SH"))

    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [f.location_id for f in order.fulfillments] == [warehouse]
    await world.pay(order)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
        metadata=world.admin,
    )
    assert (await world.level(sku, warehouse)).on_hand == 3
    assert (await world.level(sku, shop)).on_hand == 0


async def test_a_dealer_channel_sells_from_the_dealers_own_shop_first_and_the_dealer_delivers(world: World) -> None:
    sku, dealer = uid("BIKE"), uid("DLR")
    brand_warehouse = await world.location("WH", priority=100)
    dealer_shop = await world.location("DS", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(brand_warehouse, {sku: 10})
    await world.stock(dealer_shop, {sku: 1})
    channel = await world.channel(owner_dealer_id=dealer, location_ids=[brand_warehouse, dealer_shop])
    delivery = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_DEALER_DELIVERY, address="2 Huaihai Rd")

    order = await world.place(channel, {sku: (1, 120000)}, fulfillment=delivery, dealer_id=dealer)

    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [(f.location_id, f.location_owner_dealer_id) for f in order.fulfillments] == [(dealer_shop, dealer)]
    assert order.dealer_id == dealer


async def test_a_dealer_delivery_on_the_brands_channel_comes_from_the_dealers_shop(world: World) -> None:
    """DEALER_DELIVERY prefers the delivering dealer's locations on any channel, not only on its own (on the
    brand's channel it used to be sourced like SHIP, from the brand's higher-priority warehouse)."""
    sku, dealer = uid("TEA"), uid("D")
    brand_warehouse = await world.location("WH", priority=100)
    dealer_shop = await world.location("DS", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(brand_warehouse, {sku: 10})
    await world.stock(dealer_shop, {sku: 1})
    await world.stock(dealer_shop, {sku: 1})  # two units at the dealer's shop
    channel = await world.channel(location_ids=[brand_warehouse, dealer_shop])
    ship = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, address="1 Nanjing Rd")
    delivery = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_DEALER_DELIVERY, address="2 Huaihai Rd")

    # Shipped by the brand: its higher-priority warehouse.
    shipped = await world.place(channel, {sku: (1, 120000)}, fulfillment=ship)
    assert [f.location_id for f in shipped.fulfillments] == [brand_warehouse]
    # Delivered by the dealer: its shop.
    order = await world.place(channel, {sku: (1, 120000)}, fulfillment=delivery, dealer_id=dealer)
    assert [(f.location_id, f.location_owner_dealer_id) for f in order.fulfillments] == [(dealer_shop, dealer)]
    # More than the dealer's shop still holds: the brand's pool delivers it, from one location.
    bigger = await world.place(channel, {sku: (2, 120000)}, fulfillment=delivery, dealer_id=dealer)
    assert [f.location_id for f in bigger.fulfillments] == [brand_warehouse]


async def test_cancelling_before_shipping_gives_the_stock_back(world: World) -> None:
    sku = uid("SOCK")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.place(channel, {sku: (3, 1500)})
    paid = await world.pay(order)
    assert (await world.level(sku, warehouse)).available == 2

    cancelled = (
        await world.orders.CancelOrder(
            opb.CancelOrderRequest(order_id=order.id, reason="customer changed mind"), metadata=world.admin
        )
    ).order

    assert cancelled.status == opb.ORDER_STATUS_CANCELLED
    assert cancelled.refunded == paid.paid  # the payment is due back
    level = await world.level(sku, warehouse)
    assert (level.on_hand, level.reserved, level.available) == (5, 0, 5)
    assert (await _reservation(world, order.reservation_id)).status == ipb.RESERVATION_STATUS_RELEASED
    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: len(evs) >= 3)
    assert [s for s, _ in events][-1] == "orders.order.cancelled"
    assert events[-1][1].reason == "customer changed mind"
    facts = events[-1][1].facts
    assert (facts.is_open, facts.is_paid, facts.refunded) == (False, True, paid.paid)


async def test_unpaid_order_is_cancelled_when_its_reservation_expires(world: World) -> None:
    sku = uid("HAT")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 2})
    channel = await world.channel(location_ids=[warehouse])

    order = await world.place(channel, {sku: (2, 800)}, payment_ttl_seconds=1)
    assert order.status == opb.ORDER_STATUS_RESERVED
    assert order.HasField("reservation_expires_at")

    expired = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
    assert expired.status_reason == "payment not received in time"
    assert (await world.level(sku, warehouse)).available == 2
    # Paying now is too late, and says so: RESERVATION_EXPIRED, as PayOrder documents, not a bare "cancelled".
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await world.pay(order)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(late.value)
    assert info is not None and (info.reason, info.metadata["status"]) == ("RESERVATION_EXPIRED", "CANCELLED"), info


async def test_a_shop_receiving_a_return_of_an_order_sold_elsewhere_sees_the_return_not_the_customer(
    world: World,
) -> None:
    sku = uid("TEE")
    warehouse = await world.location("WH")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    await world.stock(warehouse, {sku: 2})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.place(channel, {sku: (1, 9900)})
    await world.pay(order)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
        metadata=world.admin,
    )
    store = metadata("store", location_id=shop)
    request = opb.ReturnItemsRequest(
        request_id=uid("RET"), order_id=order.id, lines=[opb.ReturnLine(sku=sku, quantity=1)], return_location_id=shop
    )

    reply = await world.orders.ReturnItems(request, metadata=store)

    # The shop may take the goods back (a return may come back to any shop) but may not read the order with
    # GetOrder, so the answer carries the return and leaves out the order with its customer and address.
    assert reply.order_return.refund == cny(9900)
    assert not reply.HasField("order")
    with pytest.raises(grpc.aio.AioRpcError) as peek:
        await world.orders.GetOrder(opb.GetOrderRequest(order_id=order.id), metadata=store)
    assert peek.value.code() == grpc.StatusCode.PERMISSION_DENIED
    again = await world.orders.ReturnItems(request, metadata=store)
    assert again.order_return.id == reply.order_return.id and not again.HasField("order")
    assert (await world.get(order.id)).refunded == cny(9900)


async def test_a_channel_connector_books_a_return_into_a_dealers_shop_only_where_the_order_came_from(
    world: World,
) -> None:
    """Goods received at a dealer's location become the dealer's stock and debit it at its wholesale price: a
    brand channel's token naming a dealer shop the order never touched was accepted before (the auditor's
    case); it may still receive at the brand's shops, and at a dealer shop that fulfilled the order."""
    sku, dealer = uid("TEE"), uid("DEALER")
    warehouse = await world.location("WH")
    brand_shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    dealer_shop = await world.location("DSHOP", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(warehouse, {sku: 2})
    channel = await world.channel(location_ids=[warehouse, dealer_shop])
    order = await world.place(channel, {sku: (2, 9900)})
    await world.pay(order)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
        metadata=world.admin,
    )
    connector = metadata("channel", channel_id=channel)

    def returned_at(location_id: str) -> opb.ReturnItemsRequest:
        return opb.ReturnItemsRequest(
            request_id=uid("RET"),
            order_id=order.id,
            lines=[opb.ReturnLine(sku=sku, quantity=1)],
            return_location_id=location_id,
        )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.ReturnItems(returned_at(dealer_shop), metadata=connector)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await world.level(sku, dealer_shop)).on_hand == 0
    assert (await world.get(order.id)).refunded.amount_minor == 0

    await world.orders.ReturnItems(returned_at(brand_shop), metadata=connector)
    assert (await world.level(sku, brand_shop)).on_hand == 1

    # A dealer shop that fulfilled the order may take its goods back from the same connector.
    await world.stock(dealer_shop, {sku: 1})
    from_dealer = await world.place(channel, {sku: (1, 9900)})
    assert [f.location_id for f in from_dealer.fulfillments] == [dealer_shop]
    await world.pay(from_dealer)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=from_dealer.id, fulfillment_id=from_dealer.fulfillments[0].id),
        metadata=world.admin,
    )
    back = returned_at(dealer_shop)
    back.order_id = from_dealer.id
    await world.orders.ReturnItems(back, metadata=connector)
    assert (await world.level(sku, dealer_shop)).on_hand == 1


async def test_a_dealer_receives_returns_of_the_brands_orders_and_its_own_never_another_dealers(world: World) -> None:
    """A return at dealer A's shop of dealer B's sale refunded B's order and moved B's money (its sale share
    reversed, its goods sold on to A): accepted from A's token, and from A's store's, before (an auditor's case);
    a dealer changes only its own dealer's data. The brand's orders may still come back to A's shop."""
    sku, dealer_a, dealer_b = uid("TEE"), uid("DEALER"), uid("DEALER")
    shop_a = await world.location("DSHOP", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer_a)
    shop_b = await world.location("DSHOP", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer_b)
    warehouse = await world.location("WH")
    await world.stock(shop_b, {sku: 1})
    await world.stock(warehouse, {sku: 1})

    async def sold_and_shipped(channel: str) -> opb.Order:
        order = await world.place(channel, {sku: (1, 9900)})
        await world.pay(order)
        await world.ship_first(order)
        return order

    b_sale = await sold_and_shipped(await world.channel(location_ids=[shop_b], owner_dealer_id=dealer_b))
    brand_sale = await sold_and_shipped(await world.channel(location_ids=[warehouse]))

    def returned(order: opb.Order) -> opb.ReturnItemsRequest:
        return opb.ReturnItemsRequest(
            request_id=uid("RET"),
            order_id=order.id,
            lines=[opb.ReturnLine(sku=sku, quantity=1)],
            return_location_id=shop_a,
        )

    for caller in (metadata("dealer", dealer_id=dealer_a), metadata("store", location_id=shop_a)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await world.orders.ReturnItems(returned(b_sale), metadata=caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value
    assert (await world.get(b_sale.id)).refunded.amount_minor == 0
    assert (await world.level(sku, shop_a)).on_hand == 0

    await world.orders.ReturnItems(returned(brand_sale), metadata=metadata("dealer", dealer_id=dealer_a))
    assert (await world.level(sku, shop_a)).on_hand == 1
    assert (await world.get(brand_sale.id)).refunded.amount_minor == 9900


async def test_partial_return_to_a_different_shop_restocks_there_and_refunds_in_proportion(world: World) -> None:
    tee, jeans = uid("TEE"), uid("JEANS")
    warehouse = await world.location("WH")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    await world.stock(warehouse, {tee: 5, jeans: 5})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.place(channel, {tee: (3, 9900), jeans: (1, 39900)})  # total 69600
    await world.pay(order)
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
        metadata=world.admin,
    )
    request = opb.ReturnItemsRequest(
        request_id=uid("RET"),
        order_id=order.id,
        lines=[opb.ReturnLine(sku=tee, quantity=2)],
        return_location_id=shop,
        reason="too small",
    )

    reply = await world.orders.ReturnItems(request, metadata=world.admin)

    assert reply.order_return.refund == cny(19800)
    assert reply.order_return.return_location_id == shop
    assert reply.order.refunded == cny(19800)
    assert [ln.returned_quantity for ln in reply.order.lines] == [2, 0]
    assert (await world.level(tee, shop)).on_hand == 2  # restocked where it came back, not where it left
    assert (await world.level(tee, warehouse)).on_hand == 2

    # The same request again is the same return: no second refund, no second restock.
    again = await world.orders.ReturnItems(request, metadata=world.admin)
    assert again.order_return.id == reply.order_return.id
    assert (await world.level(tee, shop)).on_hand == 2
    assert (await world.get(order.id)).refunded == cny(19800)

    # Returning the rest refunds exactly what is left of the payment, never more.
    rest = await world.orders.ReturnItems(
        opb.ReturnItemsRequest(
            request_id=uid("RET"),
            order_id=order.id,
            return_location_id=shop,
            lines=[opb.ReturnLine(sku=tee, quantity=1), opb.ReturnLine(sku=jeans, quantity=1)],
        ),
        metadata=world.admin,
    )
    assert rest.order.refunded == rest.order.paid == cny(69600)
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await world.orders.ReturnItems(
            opb.ReturnItemsRequest(
                request_id=uid("RET"),
                order_id=order.id,
                return_location_id=shop,
                lines=[opb.ReturnLine(sku=tee, quantity=1)],
            ),
            metadata=world.admin,
        )
    assert too_many.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: len(evs) >= 5)
    returned = [e for s, e in events if s == "orders.order.returned"]
    assert [r.returned.refund.amount_minor for r in returned] == [19800, 49800]
    assert {r.returned.location_id for r in returned} == {shop}
    last = returned[-1].facts
    assert [(ln.fulfilled_quantity, ln.returned_quantity) for ln in last.lines] == [(3, 3), (1, 1)]
    assert last.refunded == last.paid == cny(69600)
