"""Unified intake through gRPC against running orders and inventory: idempotent placement (even concurrent),
One-ID across channels, listing, and every kind of bad request answered clearly without changing anything."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.grpc_errors import peer_details
from onepool_runtime.testing.services import error_info, field_violations, metadata
from onepool_runtime.validation import encode_page_token

from tests.support.orders import World, cny, ship_to, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def shelf(world: World) -> tuple[str, str, str]:
    """(channel, warehouse, sku) with 100 units."""
    sku = uid("SKU")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 100})
    return await world.channel(location_ids=[warehouse]), warehouse, sku


async def _list(world: World, **filters: object) -> list[opb.Order]:
    reply = await world.orders.ListOrders(opb.ListOrdersRequest(**filters), metadata=world.admin)  # type: ignore[arg-type]
    return list(reply.orders)


async def _code(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# --- idempotent intake ----------------------------------------------------------------------------------------


async def test_the_same_external_order_placed_twice_even_concurrently_is_one_order_and_one_reservation(
    world: World, shelf: tuple[str, str, str]
) -> None:
    channel, warehouse, _ = shelf
    sku = uid("HOT")
    await world.stock(warehouse, {sku: 10})
    request = world.place_request(channel, {sku: (2, 1000)})

    replies = await asyncio.gather(*(world.orders.PlaceOrder(request, metadata=world.admin) for _ in range(12)))
    again = await world.orders.PlaceOrder(request, metadata=world.admin)

    ids = {r.order.id for r in replies} | {again.order.id}
    assert len(ids) == 1
    assert {r.order.reservation_id for r in replies} == {again.order.reservation_id}
    assert await world.reserved(sku) == 2  # one reservation, not twelve
    assert [
        o.id for o in await _list(world, channel_id=channel) if o.external_order_id == request.external_order_id
    ] == list(ids)


async def test_an_external_order_id_reused_for_other_goods_is_refused_not_answered_with_the_old_order(
    world: World, shelf: tuple[str, str, str]
) -> None:
    channel, _, sku = shelf
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    first = await world.place(channel, {sku: (1, 100)}, fulfillment=ship_to("CN-SH"))
    before = await world.reserved(sku)
    same = {"external_order_id": first.external_order_id, "fulfillment": ship_to("CN-SH")}

    for other, differs in (
        (world.place_request(channel, {sku: (5, 100)}, **same), "lines"),
        (world.place_request(channel, {sku: (1, 100)}, **same, customer=opb.Customer(phone="13900000000")), "customer"),
        (
            world.place_request(
                channel,
                {sku: (1, 100)},
                external_order_id=first.external_order_id,
                fulfillment=opb.FulfillmentPreference(
                    mode=opb.FULFILLMENT_MODE_PICKUP_IN_STORE, pickup_location_id=shop
                ),
            ),
            "fulfillment",
        ),
        (world.place_request(channel, {sku: (1, 100)}, **same, payment_ttl_seconds=60), "payment TTL"),
    ):
        error = await _code(world.orders.PlaceOrder(other, metadata=world.admin))
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS, differs
        assert f"differs in: {differs}" in (error.details() or "")
        # The resource's name alone (a client may look it up by it); how it differs is the description.
        [res] = [d for d in peer_details(error) if isinstance(d, error_details_pb2.ResourceInfo)]
        assert (res.resource_type, res.resource_name) == ("order", f"{channel}/{first.external_order_id}")
        assert res.description == f"as order {first.id}, which differs in: {differs}"
        # ...and for a caller that acts on it without parsing text (a marketplace connector, audit M).
        [info] = [d for d in peer_details(error) if isinstance(d, error_details_pb2.ErrorInfo)]
        assert (info.reason, dict(info.metadata)) == ("ORDER_DIFFERS", {"order_id": first.id, "differs": differs})

    assert await world.reserved(sku) == before
    assert await world.get(first.id) == first
    again = world.place_request(channel, {sku: (1, 100)}, **same)
    assert (await world.orders.PlaceOrder(again, metadata=world.admin)).order == first  # the same order: its answer


async def test_one_person_across_channels_is_one_customer_and_their_orders_are_listed_together(
    world: World, shelf: tuple[str, str, str]
) -> None:
    web, warehouse, sku = shelf
    market = await world.channel(location_ids=[warehouse])
    social = await world.channel(location_ids=[warehouse])
    member, phone = uid("M"), "+86135" + str(uuid.uuid4().int)[:8]

    a = await world.place(web, {sku: (1, 100)}, customer=opb.Customer(phone=phone))
    b = await world.place(
        market, {sku: (1, 100)}, customer=opb.Customer(phone=phone.replace("+86", "+86 "), member_id=member)
    )
    c = await world.place(social, {sku: (1, 100)}, customer=opb.Customer(member_id=member, channel_customer_id="x"))
    stranger = await world.place(web, {sku: (1, 100)}, customer=opb.Customer(phone="13911112222"))

    assert a.customer_id == b.customer_id == c.customer_id != stranger.customer_id
    listed = await _list(world, customer_id=a.customer_id)
    assert [o.id for o in listed] == [c.id, b.id, a.id]  # newest first, across channels

    first = await world.orders.ListOrders(
        opb.ListOrdersRequest(customer_id=a.customer_id, page_size=2), metadata=world.admin
    )
    rest = await world.orders.ListOrders(
        opb.ListOrdersRequest(customer_id=a.customer_id, page_size=2, page_token=first.next_page_token),
        metadata=world.admin,
    )
    assert [o.id for o in first.orders] + [o.id for o in rest.orders] == [c.id, b.id, a.id]
    assert rest.next_page_token == ""


async def test_list_orders_finds_the_order_placed_under_a_channel_order_number(
    world: World, shelf: tuple[str, str, str]
) -> None:
    web, warehouse, sku = shelf
    other = await world.channel(location_ids=[warehouse])
    mine = await world.place(web, {sku: (1, 100)})
    await world.place(other, {sku: (1, 100)}, external_order_id=mine.external_order_id)  # another channel's
    await world.place(web, {sku: (1, 100)})

    found = await _list(world, channel_id=web, external_order_id=mine.external_order_id)
    assert [o.id for o in found] == [mine.id]
    assert await _list(world, channel_id=web, external_order_id="never-placed") == []
    own = await world.orders.ListOrders(
        opb.ListOrdersRequest(external_order_id=mine.external_order_id), metadata=metadata("channel", channel_id=web)
    )
    assert [o.id for o in own.orders] == [mine.id]  # a channel token's channel is its own
    for refused, fields in (
        (opb.ListOrdersRequest(external_order_id=mine.external_order_id), ["channel_id"]),
        (opb.ListOrdersRequest(channel_id=web, external_order_id="has space"), ["external_order_id"]),
    ):
        error = await _code(world.orders.ListOrders(refused, metadata=world.admin))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(error) == fields


async def test_list_orders_filters_by_status_dealer_and_location(world: World) -> None:
    sku, dealer = uid("DEAL"), uid("DLR")
    dealer_shop = await world.location("DS", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(dealer_shop, {sku: 5})
    channel = await world.channel(location_ids=[dealer_shop])
    sold_by_dealer = await world.place(channel, {sku: (1, 100)}, dealer_id=dealer)
    brand_sale_fulfilled_by_dealer = await world.place(channel, {sku: (1, 100)})
    paid = await world.pay(brand_sale_fulfilled_by_dealer)

    by_dealer = {o.id for o in await _list(world, dealer_id=dealer)}
    assert by_dealer == {sold_by_dealer.id, brand_sale_fulfilled_by_dealer.id}
    assert [o.id for o in await _list(world, channel_id=channel, status=opb.ORDER_STATUS_PAID)] == [paid.id]
    assert {o.id for o in await _list(world, location_id=dealer_shop)} == by_dealer

    # A dealer's token sees exactly those, whatever filter it sends.
    dealer_token = metadata("dealer", dealer_id=dealer)
    seen = await world.orders.ListOrders(opb.ListOrdersRequest(), metadata=dealer_token)
    assert {o.id for o in seen.orders} == by_dealer
    denied = await _code(
        world.orders.ListOrders(opb.ListOrdersRequest(dealer_id="someone-else"), metadata=dealer_token)
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED


# --- refused requests change nothing ---------------------------------------------------------------------------


async def test_a_wrong_amount_is_refused_and_the_order_stays_unpaid(world: World, shelf: tuple[str, str, str]) -> None:
    channel, _, sku = shelf
    order = await world.place(channel, {sku: (2, 4950)})
    for amount, field in (
        (cny(9899), "amount.amount_minor"),
        (cny(9901), "amount.amount_minor"),
        (common_pb2.Money(currency="USD", amount_minor=9900), "amount.currency"),
    ):
        error = await _code(
            world.orders.PayOrder(
                opb.PayOrderRequest(order_id=order.id, payment_ref="p", amount=amount), metadata=world.admin
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(error)
    after = await world.get(order.id)
    assert after.status == opb.ORDER_STATUS_RESERVED and after.paid.amount_minor == 0
    reservation = await world.inventory.GetReservation(
        ipb.GetReservationRequest(reservation_id=order.reservation_id), metadata=world.admin
    )
    assert reservation.reservation.status == ipb.RESERVATION_STATUS_ACTIVE


async def test_unknown_skus_are_not_found_and_no_order_is_recorded(world: World, shelf: tuple[str, str, str]) -> None:
    channel, _, sku = shelf
    request = world.place_request(channel, {sku: (1, 100), "NO-SUCH-SKU": (1, 100)})
    before = await world.reserved(sku)

    error = await _code(world.orders.PlaceOrder(request, metadata=world.admin))

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "NO-SUCH-SKU" in (error.details() or "")
    assert await world.reserved(sku) == before
    assert request.external_order_id not in {o.external_order_id for o in await _list(world, channel_id=channel)}
    # Corrected, the same external order id is accepted.
    fixed = world.place_request(channel, {sku: (1, 100)}, external_order_id=request.external_order_id)
    assert (await world.orders.PlaceOrder(fixed, metadata=world.admin)).order.status == opb.ORDER_STATUS_RESERVED


async def test_an_unknown_channel_is_not_found(world: World, shelf: tuple[str, str, str]) -> None:
    _, _, sku = shelf
    error = await _code(
        world.orders.PlaceOrder(world.place_request("NO-SUCH-CHANNEL", {sku: (1, 1)}), metadata=world.admin)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert [o for o in await _list(world) if o.channel_id == "NO-SUCH-CHANNEL"] == []
    # Listing by a channel orders has never heard of is NOT_FOUND too.
    listed = await _code(
        world.orders.ListOrders(opb.ListOrdersRequest(channel_id="NO-SUCH-CHANNEL"), metadata=world.admin)
    )
    assert listed.code() == grpc.StatusCode.NOT_FOUND


async def test_an_order_without_a_fulfillment_mode_ships_as_the_contract_says(
    world: World, shelf: tuple[str, str, str]
) -> None:
    """FULFILLMENT_MODE_UNSPECIFIED is "treated as FULFILLMENT_MODE_SHIP": a storefront's first order, JSON
    without a mode, was refused as a bad fulfillment.mode."""
    channel, _, sku = shelf
    where = opb.FulfillmentPreference(region="CN-SH", address="1 Nanjing Rd")
    order = await world.place(channel, {sku: (1, 100)}, fulfillment=where)
    assert (order.status, order.fulfillment.mode) == (opb.ORDER_STATUS_RESERVED, opb.FULFILLMENT_MODE_SHIP)


async def test_not_enough_stock_is_a_rejected_order_naming_the_shortfall(world: World) -> None:
    sku = uid("RARE")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 1})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.place(channel, {sku: (3, 100)})
    assert order.status == opb.ORDER_STATUS_REJECTED
    assert [(s.sku, s.requested, s.available) for s in order.shortfalls] == [(sku, 3, 1)]
    assert await world.reserved(sku) == 0


async def test_illegal_transitions_are_failed_precondition_and_change_nothing(
    world: World, shelf: tuple[str, str, str]
) -> None:
    channel, _, sku = shelf
    order = await world.place(channel, {sku: (1, 100)})
    fid = order.fulfillments[0].id
    attempts = {
        "ship unpaid": world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=fid), metadata=world.admin
        ),
        "complete unshipped": world.orders.CompleteOrder(
            opb.CompleteOrderRequest(order_id=order.id), metadata=world.admin
        ),
        "pickup a shipping order": world.orders.ConfirmPickup(
            opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=fid), metadata=world.admin
        ),
        "return undelivered": world.orders.ReturnItems(
            opb.ReturnItemsRequest(
                request_id=uid("R"),
                order_id=order.id,
                return_location_id=shelf[1],
                lines=[opb.ReturnLine(sku=sku, quantity=1)],
            ),
            metadata=world.admin,
        ),
    }
    for what, call in attempts.items():
        error = await _code(call)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, what
        assert error_info(error) is not None, what
    assert await world.get(order.id) == order

    await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=order.id), metadata=world.admin)
    cancelled = await world.get(order.id)
    error = await _code(world.pay(order))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await world.get(order.id) == cancelled


async def test_unknown_orders_and_fulfillments_are_not_found(world: World, shelf: tuple[str, str, str]) -> None:
    channel, _, sku = shelf
    missing = await _code(world.orders.GetOrder(opb.GetOrderRequest(order_id="no-such-order"), metadata=world.admin))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    order = await world.pay(await world.place(channel, {sku: (1, 100)}))
    error = await _code(
        world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id="no-such-fulfillment"), metadata=world.admin
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


GOOD_LINE = opb.OrderLine(sku="A", quantity=1, unit_price=cny(100))
BAD_REQUESTS = [
    ("PlaceOrder", opb.PlaceOrderRequest(), ["channel_id", "external_order_id", "lines", "fulfillment.address"]),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c", external_order_id="e", fulfillment=ship_to(), lines=[opb.OrderLine(sku="A", quantity=0)]
        ),
        ["lines[0].quantity", "lines[0].unit_price"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c",
            external_order_id="e",
            fulfillment=ship_to(),
            lines=[opb.OrderLine(sku="A", quantity=1, unit_price=cny(-1))],
        ),
        ["lines[0].unit_price.amount_minor"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c",
            external_order_id="e",
            fulfillment=ship_to(),
            lines=[opb.OrderLine(sku="A", quantity=1, unit_price=common_pb2.Money(currency="yuan"))],
        ),
        ["lines[0].unit_price.currency"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c",
            external_order_id="has space",
            lines=[GOOD_LINE],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_PICKUP_IN_STORE),
            customer=opb.Customer(phone="12", email="nope"),
        ),
        ["external_order_id", "fulfillment.pickup_location_id", "customer.phone", "customer.email"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c",
            external_order_id="e",
            lines=[GOOD_LINE],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP),
        ),
        ["fulfillment.address"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c", external_order_id="e", fulfillment=ship_to(), lines=[GOOD_LINE], payment_ttl_seconds=-5
        ),
        ["payment_ttl_seconds"],
    ),
    (
        "PlaceOrder",
        opb.PlaceOrderRequest(
            channel_id="c",
            external_order_id="e",
            lines=[GOOD_LINE, opb.OrderLine(sku="B", quantity=1, unit_price=common_pb2.Money(currency="USD"))],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_DEALER_DELIVERY, address="x"),
        ),
        ["lines[1].unit_price.currency", "dealer_id"],
    ),
    ("PayOrder", opb.PayOrderRequest(), ["order_id", "payment_ref", "amount"]),
    ("CancelOrder", opb.CancelOrderRequest(order_id="bad id!"), ["order_id"]),
    ("ShipFulfillment", opb.ShipFulfillmentRequest(), ["order_id", "fulfillment_id"]),
    ("ConfirmPickup", opb.ConfirmPickupRequest(order_id="o"), ["fulfillment_id"]),
    ("CompleteOrder", opb.CompleteOrderRequest(), ["order_id"]),
    ("GetOrder", opb.GetOrderRequest(), ["order_id"]),
    ("ReturnItems", opb.ReturnItemsRequest(), ["request_id", "order_id", "lines", "return_location_id"]),
    (
        "ReturnItems",
        opb.ReturnItemsRequest(
            request_id="r",
            order_id="o",
            return_location_id="L",
            lines=[opb.ReturnLine(sku="A", quantity=1), opb.ReturnLine(sku="A", quantity=-1)],
        ),
        ["lines[1].sku", "lines[1].quantity"],
    ),
    ("ListOrders", opb.ListOrdersRequest(page_size=-1, status=42), ["page_size", "status"]),
    ("ListOrders", opb.ListOrdersRequest(page_token="%%%"), ["page_token"]),
    # Parses as ISO 8601 but is before year 1 once in UTC: the caller's mistake, not INTERNAL.
    (
        "ListOrders",
        opb.ListOrdersRequest(page_token=encode_page_token({"c": "0001-01-01T00:00:00+01:00", "i": "o"})),
        ["page_token"],
    ),
]


@pytest.mark.parametrize(
    ("rpc", "request_message", "fields"), BAD_REQUESTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_REQUESTS)]
)
async def test_malformed_requests_are_invalid_argument_naming_every_field(  # type: ignore[no-untyped-def]
    world: World, rpc, request_message, fields
) -> None:
    error = await _code(getattr(world.orders, rpc)(request_message, metadata=world.admin))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert set(fields) <= set(field_violations(error)), field_violations(error)


async def test_malformed_protobuf_bytes_are_invalid_argument_not_internal(stack, world: World) -> None:  # type: ignore[no-untyped-def]
    raw = stack.channel("orders").unary_unary(
        "/onepool.orders.v1.OrderService/PlaceOrder",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    error = await _code(raw(b"\xff\xff\xff\xff", metadata=world.admin))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- who may do what ----------------------------------------------------------------------------------------------


async def test_tokens_reach_only_their_own_channel_dealer_or_location(
    world: World, shelf: tuple[str, str, str]
) -> None:
    channel, warehouse, sku = shelf
    other_channel = await world.channel(location_ids=[warehouse])
    own = metadata("channel", channel_id=channel)

    placed = await world.place(channel, {sku: (1, 100)}, metadata=own)
    assert placed.status == opb.ORDER_STATUS_RESERVED
    foreign = await _code(world.orders.PlaceOrder(world.place_request(other_channel, {sku: (1, 100)}), metadata=own))
    assert foreign.code() == grpc.StatusCode.PERMISSION_DENIED
    theirs = await world.place(other_channel, {sku: (1, 100)})
    peek = await _code(world.orders.GetOrder(opb.GetOrderRequest(order_id=theirs.id), metadata=own))
    assert peek.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await world.orders.ListOrders(opb.ListOrdersRequest(), metadata=own)
    assert {o.channel_id for o in listed.orders} == {channel}

    paid = await world.pay(placed, metadata=own)
    fid = paid.fulfillments[0].id
    other_store = metadata("store", location_id=uid("SHOP"))
    wrong_store = await _code(
        world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=paid.id, fulfillment_id=fid), metadata=other_store
        )
    )
    assert wrong_store.code() == grpc.StatusCode.PERMISSION_DENIED
    channel_ships = await _code(
        world.orders.ShipFulfillment(opb.ShipFulfillmentRequest(order_id=paid.id, fulfillment_id=fid), metadata=own)
    )
    assert channel_ships.code() == grpc.StatusCode.PERMISSION_DENIED
    shipped = await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=paid.id, fulfillment_id=fid),
        metadata=metadata("store", location_id=warehouse),
    )
    assert shipped.order.status == opb.ORDER_STATUS_SHIPPED

    anonymous = await _code(world.orders.GetOrder(opb.GetOrderRequest(order_id=paid.id)))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
