"""Presale at a pickup store (docs/presale.md): a buy-online-pick-up-in-store order whose units wait for an
expected receipt at the shop is PAID, not READY_FOR_PICKUP, once paid: nothing is there to collect, and the
customer must not be sent for it (ConfirmPickup is AWAITING_STOCK). The goods' arrival makes it
READY_FOR_PICKUP, with orders.order.stock_filled showing nothing waits, and the shop hands it over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb

from tests.support.orders import World, eventually, order_events, pickup_at, uid
from tests.support.presale import presale_channel, presale_world

pytestmark = pytest.mark.asyncio
PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    return await presale_world(stack, admin)


def in_days(days: int) -> Timestamp:
    at = Timestamp()
    at.FromDatetime((datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0))
    return at


async def test_a_pickup_order_waiting_for_goods_is_ready_only_when_they_arrive(world: World) -> None:
    sku = uid("PRE")
    shop = await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE, region="CN-SH", pickup=True)
    channel = await presale_channel(world, shop, sku, 10, PRICE)
    receipt = (
        await world.inventory.ExpectReceipt(
            ipb.ExpectReceiptRequest(
                request_id=uid("asn"),
                location_id=shop,
                lines=[ipb.StockLine(sku=sku, quantity=5)],
                expected_at=in_days(3),
                reference=uid("PO"),
            ),
            metadata=world.admin,
        )
    ).receipt
    order = await eventually(
        lambda: world.place(channel, {sku: (2, PRICE)}, fulfillment=pickup_at(shop)),
        lambda o: o.status == opb.ORDER_STATUS_RESERVED,
    )
    assert order.lines[0].awaiting_quantity == 2

    paid = await world.pay(order)
    assert paid.status == opb.ORDER_STATUS_PAID  # nothing is at the shop to collect
    fulfillment = order.fulfillments[0].id
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.ConfirmPickup(
            opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=fulfillment), metadata=world.admin
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "still wait for goods" in (refused.value.details() or "")

    await world.inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("grn"), location_id=shop, lines=[ipb.StockLine(sku=sku, quantity=5)], receipt_id=receipt.id
        ),
        metadata=world.admin,
    )
    ready = await eventually(lambda: world.get(order.id), lambda o: o.lines[0].awaiting_quantity == 0)
    assert ready.status == opb.ORDER_STATUS_READY_FOR_PICKUP
    events = await eventually(
        lambda: order_events(world.nats_url, order.id),
        lambda evs: any(s == "orders.order.stock_filled" for s, _ in evs),
    )
    [filled] = [e for s, e in events if s == "orders.order.stock_filled"]
    assert filled.facts.is_paid and filled.facts.is_open
    assert [ln.awaiting_quantity for ln in filled.facts.lines] == [0]

    picked = (
        await world.orders.ConfirmPickup(
            opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=fulfillment), metadata=world.admin
        )
    ).order
    assert picked.status == opb.ORDER_STATUS_SHIPPED
    assert (await world.level(sku, shop)).on_hand == 3
