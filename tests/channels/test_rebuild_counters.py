"""Audit C: a rebuilt stock read model (channels' tables lost, the INVENTORY stream purged) must sell what inventory
lets the channel take. The rebuild read sales counters of capped listings only (a cap added later counted from 0
while inventory counted every sale: the feed offered 10, inventory took 2) and neither expected receipts nor
presale counts (presale showed 0, then 5 after the receipt's next event while inventory took 2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from sqlalchemy import text

from tests.channels.test_channel_rules import run_rebuild
from tests.support.channels import wait_until_orders_knows, wait_until_orders_lists
from tests.support.orders import cny, ship_to

pytestmark = pytest.mark.asyncio

Numbers = tuple[int, int, int, int]  # sellable, sales counted, presale sellable, presale counted


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    await started.start("orders", inventory_timeout_seconds=30)
    return started.stub("orders")


async def both(world: Any, channel_id: str, sku: str) -> tuple[Numbers, Numbers]:
    """The feed's numbers and inventory's, side by side."""
    item = (
        await world.channels.GetChannelStock(
            cpb.GetChannelStockRequest(channel_id=channel_id, skus=[sku]), metadata=world.admin
        )
    ).items[0]
    view = (
        await world.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=world.admin
        )
    ).items[0]
    return (item.sellable, item.rules.sales_counted, item.presale_sellable, item.rules.presale_counted), (
        view.available,
        view.sales_counted,
        view.presale_sellable,
        view.presale_counted,
    )


async def agreed(world: Any, channel_id: str, sku: str) -> Numbers:
    """The feed's numbers once they equal inventory's."""
    feed, _ = await world.eventually(lambda: both(world, channel_id, sku), lambda pair: pair[0] == pair[1])
    return feed  # type: ignore[no-any-return]


async def place(world: Any, orders: Any, channel_id: str, sku: str, quantity: int) -> int:
    request = opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=world.name("x"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=cny(1000))],
        fulfillment=ship_to(),
    )
    return (await orders.PlaceOrder(request, metadata=world.admin)).order.status  # type: ignore[no-any-return]


def days_ahead(days: int) -> Timestamp:
    at = Timestamp()
    at.FromDatetime((datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0))
    return at


async def lose_read_model(started: Any, world: Any) -> None:
    """Channels restarts with its stock read model gone and the stream it was fed from purged: it rebuilds."""
    engine = started.hosts["channels"].infra.engine
    await started.stop("channels")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE stock_positions, stock_locations, dedicated_stock, channel_sales, channel_stock,"
                " expected_stock"
            )
        )
    nc = await nats.connect(started.nats_url)
    try:
        await nc.jetstream().purge_stream("INVENTORY")
    finally:
        await nc.close()
    await started.start("channels")
    world.channels = started.stub("channels")


async def receipt_version(started: Any, receipt_id: str) -> int:
    """The version of the receipt channels holds (0: none)."""
    async with started.hosts["channels"].infra.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT max(version) FROM expected_stock WHERE receipt_id = :r"), {"r": receipt_id}
        )
        return int(found.scalar_one() or 0)


async def presale_listing(world: Any, orders: Any, channel_id: str, sku: str, units: int) -> None:
    await world.channels.UpsertListing(
        cpb.UpsertListingRequest(
            channel_id=channel_id, sku=sku, channel_sku=f"C-{sku}", price=cny(1000), active=True, presale_units=units
        ),
        metadata=world.admin,
    )
    await wait_until_orders_lists(orders, world.admin, channel_id, sku, cny(1000))


async def test_a_cap_added_after_a_rebuild_counts_what_was_sold_before_it(started, world, orders) -> None:  # type: ignore[no-untyped-def]
    world.channels = started.stub("channels")  # the module's stub may predate a restart by an earlier test
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 20})
    market = await world.channel("mkt")
    listing = await world.listing(market.id, sku, price=1000)  # no cap
    await wait_until_orders_knows(orders, world.admin, market.id)
    await wait_until_orders_lists(orders, world.admin, market.id, sku, listing.price)
    assert await place(world, orders, market.id, sku, 8) == opb.ORDER_STATUS_RESERVED
    assert await agreed(world, market.id, sku) == (12, 8, 0, 0)

    await lose_read_model(started, world)
    assert await agreed(world, market.id, sku) == (12, 8, 0, 0)

    # Inventory sends no counter event when only a cap changes: the rebuilt count is all the feed has.
    await world.listing(market.id, sku, price=1000, sales_cap_units=10)
    await world.eventually(lambda: both(world, market.id, sku), lambda pair: pair[1][0] == 2)
    assert await agreed(world, market.id, sku) == (2, 8, 0, 0)
    assert await place(world, orders, market.id, sku, 2) == opb.ORDER_STATUS_RESERVED
    assert await agreed(world, market.id, sku) == (0, 10, 0, 0)


async def test_a_rebuild_restores_expected_receipts_and_presale_counts(started, world, orders) -> None:  # type: ignore[no-untyped-def]
    world.channels = started.stub("channels")
    sku = world.name("PRE")
    wh = await world.location("WH")
    market = await world.channel("mkt")
    await presale_listing(world, orders, market.id, sku, 5)
    await wait_until_orders_knows(orders, world.admin, market.id)
    receipt = (
        await world.inventory.ExpectReceipt(
            ipb.ExpectReceiptRequest(
                request_id=world.name("asn"),
                location_id=wh,
                lines=[ipb.StockLine(sku=sku, quantity=10)],
                expected_at=days_ahead(3),
            ),
            metadata=world.admin,
        )
    ).receipt
    assert await agreed(world, market.id, sku) == (0, 0, 5, 0)
    assert await place(world, orders, market.id, sku, 3) == opb.ORDER_STATUS_RESERVED
    assert await agreed(world, market.id, sku) == (0, 3, 2, 3)

    await lose_read_model(started, world)
    assert await agreed(world, market.id, sku) == (0, 3, 2, 3)

    # The receipt's next event (a new date) must not bring back the allowance the waiting units took.
    moved = await world.inventory.RescheduleExpectedReceipt(
        ipb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=days_ahead(5)), metadata=world.admin
    )
    assert moved.receipt.version > receipt.version
    await world.eventually(lambda: receipt_version(started, receipt.id), lambda v: v == moved.receipt.version)
    feed = await agreed(world, market.id, sku)
    assert feed == (0, 3, 2, 3)
    assert await place(world, orders, market.id, sku, feed[2]) == opb.ORDER_STATUS_RESERVED
    assert await agreed(world, market.id, sku) == (0, 5, 0, 5)


async def test_a_rebuild_replaces_older_receipts_and_counters_but_never_newer_ones(started, world, orders) -> None:  # type: ignore[no-untyped-def]
    """What an event newer than the rebuild's read wrote stays; a row older than inventory's is replaced."""
    world.channels = started.stub("channels")
    sku = world.name("PRE")
    wh = await world.location("WH")
    market = await world.channel("mkt")
    await presale_listing(world, orders, market.id, sku, 8)
    await wait_until_orders_knows(orders, world.admin, market.id)
    receipts = []
    for quantity in (4, 6):
        request = ipb.ExpectReceiptRequest(
            request_id=world.name("asn"),
            location_id=wh,
            lines=[ipb.StockLine(sku=sku, quantity=quantity)],
            expected_at=days_ahead(3),
        )
        receipts.append((await world.inventory.ExpectReceipt(request, metadata=world.admin)).receipt)
    assert await agreed(world, market.id, sku) == (0, 0, 8, 0)
    assert await place(world, orders, market.id, sku, 1) == opb.ORDER_STATUS_RESERVED
    assert await agreed(world, market.id, sku) == (0, 1, 7, 1)

    older, newer = receipts
    engine = started.hosts["channels"].infra.engine
    async with engine.begin() as conn:
        # One receipt's row from before its last change (a backup), the other's from an event after the read.
        await conn.execute(
            text("UPDATE expected_stock SET unpromised = 0, version = 0 WHERE receipt_id = :r"), {"r": older.id}
        )
        await conn.execute(
            text("UPDATE expected_stock SET unpromised = 1, version = version + 5 WHERE receipt_id = :r"),
            {"r": newer.id},
        )
        await conn.execute(
            text("UPDATE channel_sales SET presale_counted = 2, version = version + 5 WHERE channel_id = :c"),
            {"c": market.id},
        )

    output = await run_rebuild(started)
    async with engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    text("SELECT receipt_id, unpromised FROM expected_stock WHERE receipt_id = ANY(:r)"),
                    {"r": [older.id, newer.id]},
                )
            ).all()
        )
        presale_counted = (
            await conn.execute(
                text("SELECT presale_counted FROM channel_sales WHERE channel_id = :c"), {"c": market.id}
            )
        ).scalar_one()
    assert rows[newer.id] == 1 and presale_counted == 2  # newer than what the rebuild read: kept
    assert rows[older.id] > 0  # the backup's row: inventory's numbers replaced it
    assert re.search(r"expected receipts: [1-9]", output), output  # counted in the report


async def test_a_channel_inventory_has_not_heard_of_does_not_stop_the_rebuild(started, world, orders) -> None:  # type: ignore[no-untyped-def]
    """Counters are read for every listing now, so for every channel: one inventory does not know (its event
    still on the way, or dead-lettered) answered NOT_FOUND and failed the whole rebuild, again on every retry."""
    world.channels = started.stub("channels")
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 20})
    ghost, market = await world.channel("ghost"), await world.channel("mkt")
    for channel in (ghost, market):
        listing = await world.listing(channel.id, sku, price=1000)
        await wait_until_orders_knows(orders, world.admin, channel.id)
    await wait_until_orders_lists(orders, world.admin, market.id, sku, listing.price)
    assert await place(world, orders, market.id, sku, 3) == opb.ORDER_STATUS_RESERVED
    async with started.hosts["inventory"].infra.engine.begin() as conn:
        await conn.execute(text("DELETE FROM channel_policies WHERE channel_id = :c"), {"c": ghost.id})
    async with started.hosts["channels"].infra.engine.begin() as conn:
        await conn.execute(text("DELETE FROM channel_sales WHERE channel_id = :c"), {"c": market.id})

    await run_rebuild(started)
    assert await agreed(world, market.id, sku) == (17, 3, 0, 0)
