"""The buyer moves the delivery address before the goods leave: ChangeDeliveryAddress through the real gRPC API,
with inventory and orders running on PostgreSQL and NATS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, field_violations, metadata

from tests.support.orders import World, eventually, order_events, pickup_at, ship_to, uid

pytestmark = pytest.mark.asyncio

MOVED = "88 Century Avenue, Pudong, Shanghai"
CHANGED = "orders.order.delivery_address_changed"


def _move(
    order: opb.Order, address: str = MOVED, request_id: str = "", as_of: datetime | None = None
) -> opb.ChangeDeliveryAddressRequest:
    return opb.ChangeDeliveryAddressRequest(
        request_id=request_id or uid("addr"), order_id=order.id, address=address, as_of=_ts(as_of)
    )


def _ts(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    out = Timestamp()
    out.FromDatetime(moment)
    return out


async def _refused(
    world: World, request: opb.ChangeDeliveryAddressRequest, token: object = None
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.ChangeDeliveryAddress(request, metadata=token or world.admin)
    return refused.value


async def _paid_order(world: World) -> tuple[opb.Order, str, str]:
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.pay(await world.place(channel, {sku: (2, 9900)}))
    return order, sku, warehouse


async def test_a_paid_order_moves_to_the_new_address_and_warehouses_hear_of_it_once(world: World) -> None:
    order, sku, warehouse = await _paid_order(world)
    request = _move(order)

    first = await world.orders.ChangeDeliveryAddress(request, metadata=world.admin)

    moved = first.order
    assert (moved.id, moved.status, moved.fulfillment.address) == (order.id, opb.ORDER_STATUS_PAID, MOVED)
    # Only the address: the region, the fulfilling location and the stock held there stay as placed.
    assert moved.fulfillment.region == order.fulfillment.region == "CN-SH"
    assert [f.location_id for f in moved.fulfillments] == [warehouse]
    assert moved.reservation_id == order.reservation_id
    assert (await world.level(sku, warehouse)).reserved == 2
    assert (await world.get(order.id)).fulfillment.address == MOVED

    # The same request again (its answer was lost) gets the same answer and changes nothing more.
    again = await world.orders.ChangeDeliveryAddress(request, metadata=world.admin)
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
    # Another request for the address it already has is a no-op.
    same = await world.orders.ChangeDeliveryAddress(_move(order), metadata=world.admin)
    assert (same.order.fulfillment.address, same.order.updated_at) == (MOVED, moved.updated_at)
    # The request id of this change names this change only.
    reused = await _refused(world, _move(order, "1 Other Rd", request_id=request.request_id))
    assert (reused.code(), field_violations(reused)) == (grpc.StatusCode.INVALID_ARGUMENT, ["request_id"])

    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: CHANGED in dict(evs))
    assert [s for s, _ in events] == ["orders.order.placed", "orders.order.paid", CHANGED]
    _, changed = events[-1]
    assert (changed.address, changed.previous_address, changed.region) == (MOVED, "1 Nanjing Rd", "CN-SH")
    facts = changed.facts
    assert (facts.order_id, facts.is_open, facts.is_paid) == (order.id, True, True)
    assert [(f.location_id, f.has_left) for f in facts.fulfillments] == [(warehouse, False)]


async def test_an_unpaid_or_dealer_delivered_order_moves_too(world: World) -> None:
    sku, dealer = uid("BIKE"), uid("DLR")
    shop = await world.location("DS", type_=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer)
    await world.stock(shop, {sku: 2})
    channel = await world.channel(owner_dealer_id=dealer, location_ids=[shop])
    delivery = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_DEALER_DELIVERY, address="2 Huaihai Rd")
    order = await world.place(channel, {sku: (1, 120000)}, fulfillment=delivery, dealer_id=dealer)
    assert order.status == opb.ORDER_STATUS_RESERVED

    # The dealer whose sale it is may move it.
    reply = await world.orders.ChangeDeliveryAddress(_move(order), metadata=metadata("dealer", dealer_id=dealer))

    assert (reply.order.status, reply.order.fulfillment.mode) == (
        opb.ORDER_STATUS_RESERVED,
        opb.FULFILLMENT_MODE_DEALER_DELIVERY,
    )
    assert reply.order.fulfillment.address == MOVED


async def test_once_a_fulfillment_has_shipped_the_address_stays_and_the_refusal_says_why(world: World) -> None:
    sku = uid("MUG")
    east, west = await world.location("WH-E", priority=2), await world.location("WH-W", priority=1)
    await world.stock(east, {sku: 1})
    await world.stock(west, {sku: 1})
    channel = await world.channel(location_ids=[east, west])
    order = await world.pay(await world.place(channel, {sku: (2, 1000)}, fulfillment=ship_to(allow_split=True)))
    assert len(order.fulfillments) == 2
    await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id), metadata=world.admin
    )

    # Part of it left (FULFILLING): the parcel on its way cannot follow a new address.
    refused = await _refused(world, _move(order))

    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(refused)
    assert info is not None and info.reason == "INVALID_ORDER_STATE"
    assert "shipped" in (refused.details() or "")
    assert (await world.get(order.id)).fulfillment.address == "1 Nanjing Rd"
    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: len(evs) >= 3)
    assert CHANGED not in dict(events)


async def test_pickup_and_closed_orders_keep_their_address(world: World) -> None:
    sku = uid("CAP")
    shop = await world.location("ST", type_=ipb.LOCATION_TYPE_STORE, pickup=True)
    warehouse = await world.location("WH")
    await world.stock(shop, {sku: 2})
    await world.stock(warehouse, {sku: 2})
    channel = await world.channel(location_ids=[shop, warehouse])
    pickup = await world.pay(await world.place(channel, {sku: (1, 500)}, fulfillment=pickup_at(shop)))
    cancelled = await world.place(channel, {sku: (1, 500)})
    await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=cancelled.id, reason="buyer"), metadata=world.admin)

    for order in (pickup, cancelled):
        refused = await _refused(world, _move(order))
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, order.status
        info = error_info(refused)
        assert info is not None and info.reason == "INVALID_ORDER_STATE"
        assert (await world.get(order.id)).fulfillment.address == order.fulfillment.address


async def test_another_sellers_token_is_refused_and_changes_nothing(world: World) -> None:
    order, _, _ = await _paid_order(world)
    strangers = (
        metadata("channel", channel_id=uid("CH")),
        metadata("dealer", dealer_id=uid("DLR")),
        metadata("store", location_id=order.fulfillments[0].location_id),  # it ships the order, it does not sell it
    )

    for token in strangers:
        refused = await _refused(world, _move(order), token)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED

    assert (await world.get(order.id)).fulfillment.address == "1 Nanjing Rd"
    # The order's own channel may move it; only that change is published.
    own = metadata("channel", channel_id=order.channel_id)
    assert (await world.orders.ChangeDeliveryAddress(_move(order), metadata=own)).order.fulfillment.address == MOVED
    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: CHANGED in dict(evs))
    assert [s for s, _ in events].count(CHANGED) == 1


@pytest.mark.parametrize(
    ("address", "why"), [("", "empty"), ("   ", "blank"), ("x" * 501, "too long"), ("1 Rd\x00", "NUL byte")]
)
async def test_a_bad_address_is_invalid_argument_naming_it(world: World, address: str, why: str) -> None:
    order, _, _ = await _paid_order(world)

    refused = await _refused(world, _move(order, address))

    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT, why
    assert field_violations(refused) == ["address"], why
    assert (await world.get(order.id)).fulfillment.address == "1 Nanjing Rd"


async def test_placing_the_same_order_again_after_its_address_moved_gets_the_order(world: World) -> None:
    """A PlaceOrder retry (its answer was lost) after the buyer moved the address is the same request: it gets
    the order, at its new address, and is not taken for another order under the same external id (the placed
    address used to be compared with the current one: ALREADY_EXISTS, "differs in: fulfillment")."""
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    request = world.place_request(channel, {sku: (2, 9900)})
    order = (await world.orders.PlaceOrder(request, metadata=world.admin)).order
    await world.orders.ChangeDeliveryAddress(_move(order), metadata=world.admin)

    again = (await world.orders.PlaceOrder(request, metadata=world.admin)).order

    assert (again.id, again.status, again.fulfillment.address) == (order.id, opb.ORDER_STATUS_RESERVED, MOVED)
    # Another order under that external id is still refused, the placed address included.
    other = opb.PlaceOrderRequest()
    other.CopyFrom(request)
    other.fulfillment.address = "9 Other Rd"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.PlaceOrder(other, metadata=world.admin)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "fulfillment" in (refused.value.details() or "")


async def test_a_change_older_than_the_address_is_answered_with_the_order_as_it_is(world: World) -> None:
    """A marketplace re-sends an old version of its order late: its address, as of the payload's own modification
    time, must not move the order back over a newer one (the marketplace's, or customer service's). It used to."""
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    at = [t0 + timedelta(minutes=m) for m in range(6)]
    order = await world.place(channel, {sku: (2, 9900)}, address_as_of=_ts(at[1]))
    assert order.address_as_of.ToDatetime(tzinfo=UTC) == at[1]

    async def move(address: str, as_of: datetime | None) -> opb.Order:
        return (
            await world.orders.ChangeDeliveryAddress(_move(order, address, as_of=as_of), metadata=world.admin)
        ).order

    # Older than the address the order was placed with: nothing changes.
    older = await move("0 Old Rd", at[0])
    assert (older.fulfillment.address, older.updated_at) == ("1 Nanjing Rd", order.updated_at)
    # The buyer's newer address moves it; the version before it, arriving late, does not move it back.
    moved = await move("3 New Rd", at[3])
    assert (moved.fulfillment.address, moved.address_as_of.ToDatetime(tzinfo=UTC)) == ("3 New Rd", at[3])
    late = await move("2 Between Rd", at[2])
    assert (late.fulfillment.address, late.updated_at) == ("3 New Rd", moved.updated_at)
    # The address it has, as of later (the buyer changed it and back): an older change is moot after it too.
    confirmed = await move("3 New Rd", at[5])
    assert (confirmed.fulfillment.address, confirmed.address_as_of.ToDatetime(tzinfo=UTC)) == ("3 New Rd", at[5])
    assert (await move("4 Gone Rd", at[4])).fulfillment.address == "3 New Rd"
    # Customer service (no as_of) changes it as of now; a marketplace version from before is moot.
    service = await move("5 Service Rd", None)
    assert service.fulfillment.address == "5 Service Rd"
    assert service.address_as_of.ToDatetime(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=1)
    assert (await move("3 New Rd", at[5])).fulfillment.address == "5 Service Rd"
    assert (await world.get(order.id)).fulfillment.address == "5 Service Rd"

    events = await eventually(
        lambda: order_events(world.nats_url, order.id), lambda evs: [s for s, _ in evs].count(CHANGED) >= 2
    )
    assert [e.address for s, e in events if s == CHANGED] == ["3 New Rd", "5 Service Rd"]
    # An order placed without a time has its address as of when it was placed.
    plain = await world.place(channel, {sku: (1, 9900)})
    assert plain.address_as_of == plain.created_at


async def test_a_sender_time_ahead_of_now_counts_as_now(world: World) -> None:
    """A marketplace whose clock runs ahead (or a forged payload) sends a time next year: kept as sent, it held
    the address against every later timed change until then. It counts as now."""
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    next_year = datetime.now(UTC) + timedelta(days=365)
    order = await world.place(channel, {sku: (1, 9900)}, address_as_of=_ts(next_year))
    assert order.address_as_of.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    ahead = await world.orders.ChangeDeliveryAddress(_move(order, "2 Ahead Rd", as_of=next_year), metadata=world.admin)
    assert ahead.order.address_as_of.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    later = await world.orders.ChangeDeliveryAddress(
        _move(order, "3 Later Rd", as_of=datetime.now(UTC)), metadata=world.admin
    )
    assert later.order.fulfillment.address == "3 Later Rd"
