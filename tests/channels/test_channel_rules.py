"""The three channel rules across services (issue 12 items 1 and 6): orders placed concurrently through
orders.PlaceOrder never pass a sales cap or take another channel's dedicated stock; channels shows the same
numbers as inventory, rule by rule; and an emptied channels read model rebuilds itself from inventory."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from sqlalchemy import text

from tests.support.channels import wait_until_orders_knows
from tests.support.orders import cny, pickup_at, ship_to

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    # A generous deadline: 50 concurrent placements on a busy test machine must not count as inventory down.
    await started.start("orders", inventory_timeout_seconds=30)
    return started.stub("orders")


async def place_concurrently(orders: Any, admin: Any, channel_id: str, sku: str, n: int) -> list[opb.Order]:
    async def one(i: int) -> opb.Order:
        request = opb.PlaceOrderRequest(
            channel_id=channel_id,
            external_order_id=f"{channel_id}-{i}",
            customer=opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=cny(9900))],
            fulfillment=ship_to(),
        )
        return (await orders.PlaceOrder(request, metadata=admin)).order

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def rules_agree(world: Any, channel_id: str, sku: str) -> tuple[int, int, int, int, int]:
    """Channels' number and breakdown once it equals inventory's (the same kernel formula on both sides)."""

    async def both() -> tuple[Any, Any]:
        stock = await world.channels.GetChannelStock(
            cpb.GetChannelStockRequest(channel_id=channel_id, skus=[sku]), metadata=world.admin
        )
        view = await world.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=world.admin
        )
        return stock.items[0], view.items[0]

    def same(pair: tuple[Any, Any]) -> bool:
        item, view = pair
        r = item.rules
        return (item.sellable, r.exposed, r.dedicated, r.sales_cap_units, r.sales_counted) == (
            view.available,
            view.exposed,
            view.dedicated,
            view.sales_cap_units,
            view.sales_counted,
        )

    item, _ = await world.eventually(both, same)
    r = item.rules
    return item.sellable, r.exposed, r.dedicated, r.sales_cap_units, r.sales_counted


async def test_50_concurrent_orders_never_pass_the_sales_cap_nor_take_dedicated_stock_of_another_channel(
    world, orders, feed
) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 100})
    douyin = await world.channel("douyin", max_share_bps=3000)
    campaign = await world.channel("campaign", max_share_bps=1)  # sees none of the shared pool: 1bp of 100 = 0
    await world.listing(douyin.id, sku, sales_cap_units=30)
    await world.listing(campaign.id, sku)
    for channel in (douyin, campaign):
        await wait_until_orders_knows(orders, world.admin, channel.id)
    await world.eventually(
        lambda: world.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], channel_id=douyin.id), metadata=world.admin
        ),
        lambda reply: reply.items[0].sales_cap_units == 30,
    )
    await world.inventory.CreateChannelAllocation(
        ipb.CreateChannelAllocationRequest(
            request_id=world.name("ded"), channel_id=campaign.id, location_id=wh, sku=sku, quantity=10
        ),
        metadata=world.admin,
    )
    assert await rules_agree(world, douyin.id, sku) == (27, 27, 0, 30, 0)  # 30% of the 90 shared units
    assert await rules_agree(world, campaign.id, sku) == (10, 0, 10, 0, 0)

    placed = await place_concurrently(orders, world.admin, douyin.id, sku, 50)
    assert sum(o.status == opb.ORDER_STATUS_RESERVED for o in placed) == 30
    assert all(o.status in (opb.ORDER_STATUS_RESERVED, opb.ORDER_STATUS_REJECTED) for o in placed)
    placed = await place_concurrently(orders, world.admin, campaign.id, sku, 50)
    assert sum(o.status == opb.ORDER_STATUS_RESERVED for o in placed) == 10

    assert await rules_agree(world, douyin.id, sku) == (0, 18, 0, 30, 30)
    assert await rules_agree(world, campaign.id, sku) == (0, 0, 0, 0, 10)  # counted, though it has no cap
    # The feed published the breakdown with the number.
    await asyncio.wait_for(feed.until(lambda: feed.latest(douyin.id, sku) == 0), timeout=10)
    last = max(feed.of(douyin.id, sku), key=lambda u: u.version)
    assert (last.rules.exposed, last.rules.sales_cap_units, last.rules.sales_counted) == (18, 30, 30)
    pool = await world.inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[sku]), metadata=world.admin)
    assert (pool.items[0].on_hand, pool.items[0].reserved, pool.items[0].available) == (100, 40, 60)


async def test_dedicated_stock_at_one_warehouse_never_lets_its_channel_drain_the_shared_pool_at_another(
    world, orders
) -> None:  # type: ignore[no-untyped-def]
    """Audit R item 1: with A's 100 shared units ranking first, five orders of 10 on a channel that sees none of
    the shared pool were all RESERVED from A while its 10 dedicated units at B stayed untouched (and shown)."""
    sku = world.name("SKU")
    a = await world.location("A-WH", location_id=world.name("A-WH"))
    b = await world.location("B-WH", location_id=world.name("B-WH"))  # A's id sorts first: A ranked first
    await world.stock(a, **{sku: 100})
    await world.stock(b, **{sku: 10})
    campaign = await world.channel("campaign", max_share_bps=1)  # sees none of the shared pool
    other = await world.channel("other")
    for channel in (campaign, other):
        await world.listing(channel.id, sku)
        await wait_until_orders_knows(orders, world.admin, channel.id)
    await world.eventually(lambda: world.inventory_sellable(other.id, sku), lambda n: n == 110)
    await world.inventory.CreateChannelAllocation(
        ipb.CreateChannelAllocationRequest(
            request_id=world.name("ded"), channel_id=campaign.id, location_id=b, sku=sku, quantity=10
        ),
        metadata=world.admin,
    )
    assert await rules_agree(world, campaign.id, sku) == (10, 0, 10, 0, 0)

    placed = []
    for _ in range(5):
        request = opb.PlaceOrderRequest(
            channel_id=campaign.id,
            external_order_id=world.name("x"),
            customer=opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=10, unit_price=cny(9900))],
            fulfillment=ship_to(),
        )
        placed.append((await orders.PlaceOrder(request, metadata=world.admin)).order)
    assert [o.status for o in placed] == [opb.ORDER_STATUS_RESERVED] + [opb.ORDER_STATUS_REJECTED] * 4
    assert [f.location_id for f in placed[0].fulfillments] == [b]
    assert await rules_agree(world, campaign.id, sku) == (0, 0, 0, 0, 10)
    assert await rules_agree(world, other.id, sku) == (100, 100, 0, 0, 0)  # the shared pool is untouched


async def test_a_channel_is_told_only_what_a_shipped_order_can_take(world, orders) -> None:  # type: ignore[no-untyped-def]
    """Audit R item 2: the feed and inventory's view counted a pickup-only store's 10 units, yet a SHIP order
    (every imported order is one) was REJECTED: a marketplace was offered units it could never sell."""
    sku = world.name("SKU")
    shop = world.name("SHOP")
    await world.inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(id=shop, name="shop", type=ipb.LOCATION_TYPE_STORE, ships=False, pickup=True)
        ),
        metadata=world.admin,
    )
    wh = await world.location("WH")
    await world.stock(shop, **{sku: 10})
    await world.stock(wh, **{sku: 3})
    mkt = await world.channel("mkt")
    await world.listing(mkt.id, sku)
    await wait_until_orders_knows(orders, world.admin, mkt.id)
    await world.settled(mkt.id, sku, 3)
    assert await rules_agree(world, mkt.id, sku) == (3, 3, 0, 0, 0)

    async def place(quantity: int, fulfillment: opb.FulfillmentPreference) -> opb.Order:
        request = opb.PlaceOrderRequest(
            channel_id=mkt.id,
            external_order_id=world.name("x"),
            customer=opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=cny(9900))],
            fulfillment=fulfillment,
        )
        return (await orders.PlaceOrder(request, metadata=world.admin)).order

    shipped = await place(3, ship_to())
    assert shipped.status == opb.ORDER_STATUS_RESERVED
    assert [f.location_id for f in shipped.fulfillments] == [wh]
    await world.settled(mkt.id, sku, 0)
    # The store's units still sell to a customer collecting them there.
    collected = await place(10, pickup_at(shop))
    assert collected.status == opb.ORDER_STATUS_RESERVED


async def test_an_emptied_channels_read_model_rebuilds_itself_from_inventory(started, world, admin) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh, shop = await world.location("WH"), await world.location("SHOP", type_=ipb.LOCATION_TYPE_STORE)
    await world.stock(wh, **{sku: 40})
    await world.stock(shop, **{sku: 20})
    market = await world.channel("market", max_share_bps=5000)
    await world.listing(market.id, sku, sales_cap_units=100)
    await world.settled(market.id, sku, 30)

    # Lose everything the read model knew, and the stream it was fed from (as after 7 days' retention).
    engine = started.hosts["channels"].infra.engine
    await started.stop("channels")
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE stock_positions, stock_locations, dedicated_stock, channel_sales, channel_stock")
        )
    nc = await nats.connect(started.nats_url)
    try:
        await nc.jetstream().purge_stream("INVENTORY")
    finally:
        await nc.close()
    await started.start("channels")
    world.channels = started.stub("channels")

    await world.settled(market.id, sku, 30)
    assert await rules_agree(world, market.id, sku) == (30, 30, 0, 100, 0)


async def run_rebuild(started: Any) -> str:
    """`onepool channels rebuild` against the running stack, as an operator runs it; its output."""
    from onepool_cli.main import app
    from onepool_runtime.testing.services import TEST_SECRET
    from typer.testing import CliRunner

    env = {
        "ONEPOOL_DATABASE_URL": started.database_url,
        "ONEPOOL_INVENTORY_ADDR": f"127.0.0.1:{started.ports['inventory']}",
        "ONEPOOL_JWT_SECRET": TEST_SECRET,
    }
    result = await asyncio.to_thread(CliRunner().invoke, app, ["channels", "rebuild"], env=env)
    assert result.exit_code == 0, result.output
    return str(result.output)


async def test_onepool_channels_rebuild_restores_a_damaged_read_model_while_the_service_runs(started, world) -> None:  # type: ignore[no-untyped-def]
    world.channels = started.stub("channels")  # the module's stub may predate a restart by an earlier test
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 12})
    web = await world.channel("web", max_share_bps=5000)
    await world.listing(web.id, sku)
    await world.settled(web.id, sku, 6)
    async with started.hosts["channels"].infra.engine.begin() as conn:
        await conn.execute(text("DELETE FROM stock_positions WHERE sku = :sku"), {"sku": sku})
    assert await world.sellable(web.id, sku) == 0  # the damage: the pool looks empty to channels
    async with started.hosts["channels"].infra.engine.begin() as conn:  # and a start-up rebuild left unfinished
        await conn.execute(text("UPDATE startup_runs SET finished_at = NULL WHERE name = 'stock-rebuild'"))

    output = await run_rebuild(started)
    assert "stock levels" in output and "rebuilt" in output
    await world.settled(web.id, sku, 6)
    async with started.hosts["channels"].infra.engine.connect() as conn:
        done = await conn.scalar(text("SELECT finished_at FROM startup_runs WHERE name = 'stock-rebuild'"))
    assert done is not None  # recorded like a start-up rebuild: the next replica does not run it again


async def test_a_rebuild_ends_dedicated_stock_released_while_the_read_model_was_behind(started, world) -> None:  # type: ignore[no-untyped-def]
    """The rebuild read only active allocations: one released after the read model's state (restored from a
    backup, or a release event gone past the stream's retention) stayed counted as dedicated for ever."""
    world.channels = started.stub("channels")  # the module's stub may predate a restart by an earlier test
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 10})
    market = await world.channel("market", max_share_bps=5000)
    await world.listing(market.id, sku)
    await world.settled(market.id, sku, 5)
    created = await world.inventory.CreateChannelAllocation(
        ipb.CreateChannelAllocationRequest(
            request_id=world.name("ded"), channel_id=market.id, location_id=wh, sku=sku, quantity=4
        ),
        metadata=world.admin,
    )
    allocation = created.allocation
    assert (await rules_agree(world, market.id, sku))[2] == 4
    engine = started.hosts["channels"].infra.engine
    async with engine.connect() as conn:
        before = (
            await conn.execute(
                text("SELECT remaining, version FROM dedicated_stock WHERE allocation_id = :a"), {"a": allocation.id}
            )
        ).one()

    await world.inventory.ReleaseChannelAllocation(
        ipb.ReleaseChannelAllocationRequest(allocation_id=allocation.id), metadata=world.admin
    )
    released = await rules_agree(world, market.id, sku)
    assert released[2] == 0
    async with engine.begin() as conn:  # the read model as it was before the release
        await conn.execute(
            text("UPDATE dedicated_stock SET remaining = :r, version = :v WHERE allocation_id = :a"),
            {"r": before.remaining, "v": before.version, "a": allocation.id},
        )
    stale = await world.channels.GetChannelStock(
        cpb.GetChannelStockRequest(channel_id=market.id, skus=[sku]), metadata=world.admin
    )
    assert stale.items[0].rules.dedicated == 4

    await run_rebuild(started)
    assert await rules_agree(world, market.id, sku) == released
