"""One inventory transaction may move an order's waiting lines for different reasons; each line is told its own.

A partial delivery on an expected receipt whose rest comes later moves the promise of one line (LATE) and, by
filling the reservations ahead in another SKU's line, gives a first date to units that waited without one
(PROMISED). Inventory sends one inventory.reservation.promise_moved per reason, each carrying the whole
reservation; orders used to apply every line's new date with the first event's reason (or with none, when the
same transaction also filled some of the order's units), and the next events found nothing left to tell.
Channels, inventory and orders run on real PostgreSQL and NATS, everything through gRPC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb

from tests.support.channels import wait_until_orders_lists
from tests.support.orders import World, cny, eventually, order_events, uid
from tests.support.presale import availability, day, lines_of, presale_channel, presale_world, ts, when

pytestmark = pytest.mark.asyncio

PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    return await presale_world(stack, admin)


async def expect(world: World, location: str, lines: dict[str, int], at: datetime) -> str:
    reply = await world.inventory.ExpectReceipt(
        ipb.ExpectReceiptRequest(
            request_id=uid("asn"),
            location_id=location,
            lines=[ipb.StockLine(sku=sku, quantity=q) for sku, q in lines.items()],
            expected_at=ts(at),
            reference=uid("PO"),
        ),
        metadata=world.admin,
    )
    return str(reply.receipt.id)


async def also_list_with_backorder(world: World, channel: str, sku: str) -> None:
    await world.channels.UpsertListing(  # type: ignore[attr-defined]
        cpb.UpsertListingRequest(
            channel_id=channel,
            sku=sku,
            channel_sku=f"C-{sku}",
            price=cny(PRICE),
            active=True,
            presale_units=10,
            allow_backorder=True,
        ),
        metadata=world.admin,
    )
    await wait_until_orders_lists(world.orders, world.admin, channel, sku, cny(PRICE))
    await eventually(lambda: availability(world, sku, channel), lambda a: a.allow_backorder)


def told(events: list[tuple[str, Any]]) -> dict[str, tuple[str, int, datetime | None, datetime | None]]:
    """What the customer was told of each line (orders.order.promise_moved): reason, units waiting, the date
    before and after."""
    out = {}
    for subject, event in events:
        if subject == "orders.order.promise_moved":
            for p in event.lines:
                before = when(p.previous_promised_at, p.HasField("previous_promised_at"))
                after = when(p.promised_at, p.HasField("promised_at"))
                out[p.sku] = (event.reason, p.awaiting_quantity, before, after)
    return out


@pytest.mark.parametrize("delivered", [3, 4], ids=["promises-only", "with-a-fill"])
async def test_a_line_late_and_a_line_promised_in_one_transaction_are_each_told_their_reason(
    world: World, delivered: int
) -> None:
    late_sku, first_sku = uid("PRE"), uid("PRE")
    warehouse = await world.location("WH", region="CN-SH")
    channel = await presale_channel(world, warehouse, late_sku, 10, PRICE)
    await also_list_with_backorder(world, channel, first_sku)
    soon, later, rest = day(2), day(3), day(5)
    receipt = await expect(world, warehouse, {late_sku: 5, first_sku: 1}, soon)
    await expect(world, warehouse, {first_sku: 2}, later)

    # An older order waits for all three units of first_sku on their way; ours waits beyond them, without a
    # date (a backorder), and for late_sku on the first receipt.
    ahead = await world.place(channel, {first_sku: (3, PRICE)})
    assert lines_of(ahead) == {first_sku: (3, later)}
    order = await world.place(channel, {late_sku: (2, PRICE), first_sku: (2, PRICE)})
    assert lines_of(order) == {late_sku: (2, soon), first_sku: (2, None)}

    # Part of the first receipt arrives: first_sku only (beyond what it expects), the rest of it later. The
    # goods fill the older order (and, with a fourth unit, one of ours), so our first_sku units move up onto
    # the second receipt: a first date. Our late_sku units count on the rest: late.
    await world.inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("grn"),
            location_id=warehouse,
            lines=[ipb.StockLine(sku=first_sku, quantity=delivered)],
            receipt_id=receipt,
            rest_expected_at=ts(rest),
        ),
        metadata=world.admin,
    )
    waiting = 2 - (delivered - 3)
    # One event per reason, applied one after the other: wait for both lines.
    expected = {late_sku: (2, rest), first_sku: (waiting, later)}
    moved = await eventually(lambda: world.get(order.id), lambda o: lines_of(o) == expected)
    assert lines_of(moved) == expected

    events = await eventually(
        lambda: order_events(world.nats_url, order.id), lambda evs: set(told(evs)) >= {late_sku, first_sku}
    )
    assert told(events) == {late_sku: ("LATE", 2, soon, rest), first_sku: ("PROMISED", waiting, None, later)}
    assert sum(s == "orders.order.promise_moved" for s, _ in events) == 2
    if delivered > 3:
        assert "orders.order.stock_filled" in [s for s, _ in events]
