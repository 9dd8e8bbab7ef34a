"""A caller that lost its answer retries: it must get the first answer, whatever happened since, and two
callers must never collide on request ids they chose independently."""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations, metadata

from tests.support.orders import World, cny, eventually, uid

pytestmark = pytest.mark.asyncio


async def _shipped(world: World, channel: str, sku: str) -> opb.Order:
    order = await world.place(channel, {sku: (1, 1000)})
    await world.pay(order)
    shipped = await world.orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id), metadata=world.admin
    )
    return shipped.order


def _return(order: opb.Order, sku: str, shop: str, request_id: str) -> opb.ReturnItemsRequest:
    return opb.ReturnItemsRequest(
        request_id=request_id, order_id=order.id, return_location_id=shop, lines=[opb.ReturnLine(sku=sku, quantity=1)]
    )


async def test_two_shops_numbering_their_returns_alike_both_record_them(world: World) -> None:
    sku, warehouse = uid("TEE"), await world.location("WH")
    shops = [await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE) for _ in range(2)]
    await world.stock(warehouse, {sku: 10})
    channel = await world.channel(location_ids=[warehouse])
    same_id = uid("RET")
    for shop in shops:
        order = await _shipped(world, channel, sku)
        reply = await world.orders.ReturnItems(
            _return(order, sku, shop, same_id), metadata=metadata("store", location_id=shop)
        )
        assert reply.order_return.refund == cny(1000) and reply.order_return.return_location_id == shop


async def test_a_return_under_the_longest_request_id_a_shop_may_send_is_recorded(world: World) -> None:
    """The return keeps the caller-scoped key ("store:<location>:<request id>"), longer than the request id."""
    sku, warehouse = uid("TEE"), await world.location("WH")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    await world.stock(warehouse, {sku: 5})
    order = await _shipped(world, await world.channel(location_ids=[warehouse]), sku)
    request = _return(order, sku, shop, uid("RET").ljust(128, "x"))
    token = metadata("store", location_id=shop)
    first = await world.orders.ReturnItems(request, metadata=token)
    assert first.order_return.refund == cny(1000)
    assert await world.orders.ReturnItems(request, metadata=token) == first


async def test_a_return_retried_after_its_shop_closed_gets_the_first_answer(world: World) -> None:
    sku, warehouse = uid("TEE"), await world.location("WH")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    await world.stock(warehouse, {sku: 5})
    order = await _shipped(world, await world.channel(location_ids=[warehouse]), sku)
    request = _return(order, sku, shop, uid("RET"))
    first = await world.orders.ReturnItems(request, metadata=world.admin)
    await world.inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(id=shop, name="SHOP", type=ipb.LOCATION_TYPE_STORE, ships=True, disabled=True)
        ),
        metadata=world.admin,
    )
    again = await world.orders.ReturnItems(request, metadata=world.admin)
    assert again == first
    # The same id for another return is still refused, naming the field.
    other = _return(order, sku, warehouse, request.request_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.ReturnItems(other, metadata=world.admin)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(refused.value) == ["request_id"]


async def test_a_payment_retried_after_the_order_was_cancelled_gets_the_order_not_a_refusal(world: World) -> None:
    sku, warehouse = uid("MUG"), await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    order = await world.place(await world.channel(location_ids=[warehouse]), {sku: (1, 500)})
    request = opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total)
    assert (await world.orders.PayOrder(request, metadata=world.admin)).order.status == opb.ORDER_STATUS_PAID
    # Inventory gave the stock back (an operator released it): orders hears, cancels, the payment is due back.
    await world.inventory.ReleaseReservation(
        ipb.ReleaseReservationRequest(reservation_id=order.reservation_id, reason="gone"), metadata=world.admin
    )
    first = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
    assert first.paid == first.refunded == order.total
    again = (await world.orders.PayOrder(request, metadata=world.admin)).order
    assert (again.status, again.paid, again.refunded) == (first.status, first.paid, first.refunded)
    # Another payment of the cancelled order is still refused.
    other = opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.PayOrder(other, metadata=world.admin)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
