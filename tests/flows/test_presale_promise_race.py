"""A promise move racing a fill of another SKU of the same order is not lost (docs/presale.md).

Receipt r1 (SKU A) is rescheduled while r2 (SKU B of the same order) is received, in two inventory transactions
at once: inventory's waiting line locks stock rows, not the reservation, and each transaction publishes the
whole reservation with the other SKU as it read it. The fill, stamped later, carried A's old date; orders
followed a line's date from the news with the newest updated_at, so it dropped the promise move (or, applied
after it, put A's old date back) and line A kept a date no receipt backed. Orders now keeps, per allocation, the
state with the highest version inventory gave it.

Made deterministic from outside: a connection of the test holds A's allocation row, so the reschedule (having
read the reservation and stamped its news) waits to write it while the receipt of B runs from start to end.
Channels, inventory and orders run on real PostgreSQL and NATS, everything through gRPC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from sqlalchemy import text

from tests.support.channels import wait_until_orders_lists
from tests.support.orders import World, cny, eventually, order_events, uid
from tests.support.presale import availability, day, lines_of, presale_channel, presale_world, ts

pytestmark = pytest.mark.asyncio

PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    return await presale_world(stack, admin)


async def expect(world: World, location: str, sku: str, at: datetime) -> str:
    reply = await world.inventory.ExpectReceipt(
        ipb.ExpectReceiptRequest(
            request_id=uid("asn"),
            location_id=location,
            lines=[ipb.StockLine(sku=sku, quantity=2)],
            expected_at=ts(at),
            reference=uid("PO"),
        ),
        metadata=world.admin,
    )
    return str(reply.receipt.id)


async def also_list(world: World, channel: str, sku: str) -> None:
    await world.channels.UpsertListing(  # type: ignore[attr-defined]
        cpb.UpsertListingRequest(
            channel_id=channel, sku=sku, channel_sku=f"C-{sku}", price=cny(PRICE), active=True, presale_units=10
        ),
        metadata=world.admin,
    )
    await wait_until_orders_lists(world.orders, world.admin, channel, sku, cny(PRICE))
    await eventually(lambda: availability(world, sku, channel), lambda a: a.presale_units == 10)


async def test_a_receipt_rescheduled_while_another_sku_of_the_order_is_received_moves_the_lines_date(
    world: World, stack
) -> None:  # type: ignore[no-untyped-def]
    a, b = uid("PRE"), uid("PRE")
    warehouse = await world.location("WH", region="CN-SH")
    channel = await presale_channel(world, warehouse, a, 10, PRICE)
    await also_list(world, channel, b)
    soon, then, late = day(2), day(3), day(8)
    r1, r2 = await expect(world, warehouse, a, soon), await expect(world, warehouse, b, then)
    order = await world.place(channel, {a: (2, PRICE), b: (2, PRICE)})
    assert lines_of(order) == {a: (2, soon), b: (2, then)}

    engine = stack.hosts["inventory"].infra.engine
    async with engine.connect() as holder:
        async with holder.begin():
            await holder.execute(
                text("SELECT 1 FROM allocations WHERE reservation_id = :r AND sku = :sku FOR UPDATE"),
                {"r": order.reservation_id, "sku": a},
            )
            reschedule = asyncio.ensure_future(
                world.inventory.RescheduleExpectedReceipt(
                    ipb.RescheduleExpectedReceiptRequest(receipt_id=r1, expected_at=ts(late)), metadata=world.admin
                )
            )

            async def waiting_writes() -> int:
                async with engine.connect() as conn:
                    found = await conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND query LIKE '%UPDATE allocations%'"
                        )
                    )
                    return int(found.scalar_one())

            # The reschedule has read the reservation and stamped its news; it waits to write A's allocation.
            await eventually(waiting_writes, lambda n: n == 1)
            await world.inventory.ReceiveStock(
                ipb.ReceiveStockRequest(
                    request_id=uid("grn"),
                    location_id=warehouse,
                    lines=[ipb.StockLine(sku=b, quantity=2)],
                    receipt_id=r2,
                ),
                metadata=world.admin,
            )
            assert not reschedule.done()
        await reschedule

    # Both news reach the order (each applied once by the inbox), in whatever order: A shows its new date.
    async def lines() -> dict[str, tuple[int, datetime | None]]:
        return lines_of(await world.get(order.id))

    await eventually(lines, lambda ls: ls[b] == (0, None))
    assert await eventually(lines, lambda ls: ls[a] == (2, late)) == {a: (2, late), b: (0, None)}
    events = await eventually(
        lambda: order_events(world.nats_url, order.id),
        lambda evs: {"orders.order.stock_filled", "orders.order.promise_moved"} <= {s for s, _ in evs},
    )
    moved = [e for s, e in events if s == "orders.order.promise_moved"]
    assert [(e.reason, [(p.sku, p.promised_at.ToDatetime(tzinfo=UTC)) for p in e.lines]) for e in moved] == [
        ("LATE", [(a, late)])
    ]
