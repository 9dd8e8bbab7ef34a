"""An order id once handed to anyone never disappears (issue 15), through gRPC against running orders and
inventory. Before, the PlaceOrder saga deleted a PENDING order whenever inventory's Reserve answered NOT_FOUND
(a channel inventory had not heard of yet: event lag) or named a SKU never stocked, whoever was driving it:
the recovery loop or a retried PlaceOrder deleted orders a caller already held."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime import db

from tests.support.channels import channel, publish_channel, wait_until_inventory_knows
from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory")
    # Recovery tries an order whose attempt failed again after twice inventory_timeout_seconds: 10 s by default.
    await stack.start(
        "orders", recovery_interval_seconds=0.2, recovery_after_seconds=0.5, inventory_timeout_seconds=2.0
    )
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


async def _get(world: World, order_id: str) -> opb.Order:
    return (await world.orders.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=world.admin)).order


async def _pending_on(world: World, channel_id: str, external_order_id: str) -> opb.Order:
    listed = await world.orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id), metadata=world.admin)
    [order] = [o for o in listed.orders if o.external_order_id == external_order_id]
    assert order.status == opb.ORDER_STATUS_PENDING
    return order


async def test_an_order_seen_pending_that_names_a_sku_never_stocked_is_rejected_by_recovery_not_deleted(
    stack, world: World
) -> None:  # type: ignore[no-untyped-def]
    """The caller's PlaceOrder fails on an inventory outage after the order was recorded; the caller finds it
    (PENDING, by listing). Recovery then drives it and learns the SKU was never stocked: the order the caller
    holds must stay, REJECTED with the reason, not vanish."""
    warehouse = await world.location("WH")
    channel_id = await world.channel(location_ids=[warehouse])
    request = world.place_request(channel_id, {uid("NEVER-STOCKED"): (1, 100)})
    await stack.stop("inventory")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await world.orders.PlaceOrder(request, metadata=world.admin, timeout=30)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        held = await _pending_on(world, channel_id, request.external_order_id)
    finally:
        await stack.start("inventory")
        world.inventory = stack.stub("inventory")  # stopping it closed the test's channel to it

    order = await eventually(lambda: _get(world, held.id), lambda o: o.status != opb.ORDER_STATUS_PENDING)
    assert order.status == opb.ORDER_STATUS_REJECTED
    assert request.lines[0].sku in order.status_reason
    # The caller's retry is answered with that order, as any repeat of a placed order is.
    again = await world.orders.PlaceOrder(request, metadata=world.admin)
    assert again.order.id == held.id and again.order.status == opb.ORDER_STATUS_REJECTED


async def test_a_channel_inventory_has_not_heard_of_yet_leaves_the_order_pending_and_the_caller_retrying(
    stack, world: World
) -> None:  # type: ignore[no-untyped-def]
    """Orders knows the channel, inventory does not yet (its channels.channel.created is still on its way):
    not an answer but a lag. The caller gets UNAVAILABLE and the order stays; once inventory hears of the
    channel, the order is placed (by the recovery loop or the caller's retry) under the same id."""
    warehouse = await world.location("WH")
    sku = uid("SKU")
    await world.stock(warehouse, {sku: 5})
    message = channel(location_ids=[warehouse])
    channel_id = await world.channel(channel_id=message.id, location_ids=[warehouse])
    # Inventory as it was before the channel's event reached it (a real lag is a race; this is its state).
    conn = await asyncpg.connect(db.plain_url(stack.database_url))
    try:
        await conn.execute("DELETE FROM inventory.channel_policies WHERE channel_id = $1", channel_id)
    finally:
        await conn.close()
    request = world.place_request(channel_id, {sku: (2, 100)})

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await world.orders.PlaceOrder(request, metadata=world.admin)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()
    held = await _pending_on(world, channel_id, request.external_order_id)

    await publish_channel(stack.nats_url, message)  # the event arrives
    await wait_until_inventory_knows(world.inventory, world.admin, channel_id)
    order = await eventually(lambda: _get(world, held.id), lambda o: o.status != opb.ORDER_STATUS_PENDING)
    assert order.status == opb.ORDER_STATUS_RESERVED
    again = await world.orders.PlaceOrder(request, metadata=world.admin)
    assert again.order.id == held.id and again.order.reservation_id == order.reservation_id
