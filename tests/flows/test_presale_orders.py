"""Selling what is on its way, end to end (issue 17, docs/presale.md): channels, inventory and orders running on
real PostgreSQL and NATS, everything through gRPC. A listing with a presale allowance sells units of an
expected receipt; the order's lines show them waiting with the receipt's date; a late receipt moves the date
on the order's lines and tells the customer (orders.order.promise_moved); the goods' arrival fills the order,
which ships only then; the channel's stock feed shows presale sellable apart from on-hand sellable."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import events_pb2 as cev
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb

from tests.support.orders import World, eventually, order_events, uid
from tests.support.presale import day, presale_channel, presale_world, ts

pytestmark = pytest.mark.asyncio

PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    return await presale_world(stack, admin)


async def presale_listing(world: World, *, presale_units: int) -> tuple[str, str, str]:
    """A warehouse, a channel selling from it and a listing of a new SKU with a presale allowance; returns
    (sku, warehouse, channel id) once inventory and orders know them."""
    sku = uid("PRE")
    warehouse = await world.location("WH", region="CN-SH")
    return sku, warehouse, await presale_channel(world, warehouse, sku, presale_units, PRICE)


async def expect(world: World, location: str, sku: str, quantity: int, at: datetime) -> ipb.ExpectedReceipt:
    reply = await world.inventory.ExpectReceipt(
        ipb.ExpectReceiptRequest(
            request_id=uid("asn"),
            location_id=location,
            lines=[ipb.StockLine(sku=sku, quantity=quantity)],
            expected_at=ts(at),
            reference=uid("PO"),
        ),
        metadata=world.admin,
    )
    return reply.receipt


async def channel_stock(world: World, channel: str, sku: str) -> cpb.ChannelStockItem:
    reply = await world.channels.GetChannelStock(  # type: ignore[attr-defined]
        cpb.GetChannelStockRequest(channel_id=channel, skus=[sku]), metadata=world.admin
    )
    return reply.items[0]


async def stock_updates(nats_url: str, channel: str, sku: str) -> list[cev.ChannelStockUpdated]:
    """Every channels.stock.updated of this listing, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(
            "channels.stock.updated",
            stream="CHANNELS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        found = []
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except TimeoutError:
                break
            for msg in batch:
                event = cev.ChannelStockUpdated.FromString(msg.data)
                if (event.channel_id, event.sku) == (channel, sku):
                    found.append(event)
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


def line_state(order: opb.Order) -> tuple[int, int, datetime | None]:
    line = order.lines[0]
    promised = line.promised_at.ToDatetime(tzinfo=UTC) if line.HasField("promised_at") else None
    return line.awaiting_quantity, line.stock_state, promised


async def test_a_late_receipt_moves_the_promise_on_the_orders_lines_and_the_arrival_fills_it(world: World) -> None:
    sku, warehouse, channel = await presale_listing(world, presale_units=10)
    first_date, later_date = day(2), day(5)
    receipt = await expect(world, warehouse, sku, 10, first_date)
    await eventually(lambda: channel_stock(world, channel, sku), lambda s: s.presale_sellable == 10)

    order = await world.place(channel, {sku: (3, PRICE)})
    assert order.status == opb.ORDER_STATUS_RESERVED
    assert line_state(order) == (3, opb.LINE_STOCK_STATE_AWAITING_STOCK, first_date)
    # The feed shows what may still be presold apart from what is on hand (nothing is).
    item = await eventually(
        lambda: channel_stock(world, channel, sku), lambda s: (s.presale_sellable, s.rules.presale_counted) == (7, 3)
    )
    assert (item.sellable, item.rules.presale_units, item.rules.presale_counted) == (0, 10, 3)
    updates = await eventually(
        lambda: stock_updates(world.nats_url, channel, sku), lambda us: any(u.presale_sellable == 7 for u in us)
    )
    assert any((u.previous_presale_sellable, u.presale_sellable, u.sellable) == (10, 7, 0) for u in updates)

    paid = await world.pay(order)
    assert paid.status == opb.ORDER_STATUS_PAID
    with pytest.raises(grpc.aio.AioRpcError) as waiting:
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
            metadata=world.admin,
        )
    assert waiting.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    # The supplier is late: the order's line shows the new date and the customer is told.
    await world.inventory.RescheduleExpectedReceipt(
        ipb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(later_date)), metadata=world.admin
    )
    moved = await eventually(lambda: world.get(order.id), lambda o: line_state(o)[2] == later_date)
    assert line_state(moved) == (3, opb.LINE_STOCK_STATE_AWAITING_STOCK, later_date)
    events = await eventually(
        lambda: order_events(world.nats_url, order.id),
        lambda evs: any(s == "orders.order.promise_moved" for s, _ in evs),
    )
    [promise] = [e for s, e in events if s == "orders.order.promise_moved"]
    assert promise.reason == "LATE"
    assert [
        (
            p.sku,
            p.awaiting_quantity,
            p.previous_promised_at.ToDatetime(tzinfo=UTC),
            p.promised_at.ToDatetime(tzinfo=UTC),
        )
        for p in promise.lines
    ] == [(sku, 3, first_date, later_date)]
    assert promise.facts.lines[0].awaiting_quantity == 3

    # The goods arrive: the order's units are filled, and only now can it ship.
    await world.inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("grn"),
            location_id=warehouse,
            lines=[ipb.StockLine(sku=sku, quantity=10)],
            receipt_id=receipt.id,
        ),
        metadata=world.admin,
    )
    filled = await eventually(lambda: world.get(order.id), lambda o: line_state(o)[0] == 0)
    assert line_state(filled) == (0, opb.LINE_STOCK_STATE_ALLOCATED, None)
    shipped = (
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
            metadata=world.admin,
        )
    ).order
    assert shipped.status == opb.ORDER_STATUS_SHIPPED
    level = await world.level(sku, warehouse)
    assert (level.on_hand, level.reserved) == (7, 0)
    # The relay publishes a moment after the change commits: wait for the shipment's event to be out.
    published = await eventually(
        lambda: order_events(world.nats_url, order.id), lambda evs: "orders.order.shipped" in [s for s, _ in evs]
    )
    subjects = [s for s, _ in published]
    assert "orders.order.stock_filled" in subjects
    assert subjects.index("orders.order.stock_filled") < subjects.index("orders.order.shipped")


async def test_units_left_without_a_date_are_told_their_new_date_as_promised_not_reordered(world: World) -> None:
    sku, warehouse, channel = await presale_listing(world, presale_units=10)
    receipt = await expect(world, warehouse, sku, 5, day(2))
    await eventually(lambda: channel_stock(world, channel, sku), lambda s: s.presale_sellable == 5)
    order = await world.place(channel, {sku: (2, PRICE)})
    assert line_state(order)[0] == 2

    # The supplier cancels: nothing promises the units any more (CANCELLED). A new purchase order gives them
    # a date again: the customer hears of a first date (PROMISED), not of a move to a later receipt.
    await world.inventory.CancelExpectedReceipt(
        ipb.CancelExpectedReceiptRequest(receipt_id=receipt.id, reason="supplier cancelled"), metadata=world.admin
    )
    await eventually(lambda: world.get(order.id), lambda o: line_state(o)[2] is None)
    new_date = day(4)
    await expect(world, warehouse, sku, 5, new_date)
    await eventually(lambda: world.get(order.id), lambda o: line_state(o)[2] == new_date)
    events = await eventually(
        lambda: order_events(world.nats_url, order.id),
        lambda evs: sum(s == "orders.order.promise_moved" for s, _ in evs) >= 2,
    )
    assert [e.reason for s, e in events if s == "orders.order.promise_moved"] == ["CANCELLED", "PROMISED"]


async def test_units_whose_receipt_is_brought_forward_are_told_sooner(world: World) -> None:
    sku, warehouse, channel = await presale_listing(world, presale_units=10)
    receipt = await expect(world, warehouse, sku, 5, day(4))
    await eventually(lambda: channel_stock(world, channel, sku), lambda s: s.presale_sellable == 5)
    order = await world.place(channel, {sku: (2, PRICE)})

    # The supplier ships early: the customer hears the date moved forward, not of a move to a later receipt.
    sooner = day(2)
    await world.inventory.RescheduleExpectedReceipt(
        ipb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(sooner)), metadata=world.admin
    )
    await eventually(lambda: world.get(order.id), lambda o: line_state(o)[2] == sooner)
    events = await eventually(
        lambda: order_events(world.nats_url, order.id),
        lambda evs: any(s == "orders.order.promise_moved" for s, _ in evs),
    )
    assert [e.reason for s, e in events if s == "orders.order.promise_moved"] == ["SOONER"]
