"""Flow 10: what each channel may sell of the pool, and the live stock feed.

Every number is checked against inventory's own channel view (GetAvailability with channel_id), which is
what Reserve enforces: a connector is never told it may sell more than inventory will reserve.
Stock is always received before the channel and its listing exist, so these tests also show that a
channel created later sees the stock already in the pool.
"""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2 as iev
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_runtime.idempotency import run_in_transaction

pytestmark = pytest.mark.asyncio

STORE = ipb.LOCATION_TYPE_STORE
WAREHOUSE = ipb.LOCATION_TYPE_WAREHOUSE


async def test_marketplace_capped_at_30_percent_sees_at_most_30_percent_of_available(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh, shop = await world.location("WH"), await world.location("SHOP", type_=STORE)
    await world.stock(wh, **{sku: 70})
    await world.stock(shop, **{sku: 35})
    market = await world.channel("tmall", max_share_bps=3000)
    await world.listing(market.id, sku, channel_sku="TM-1")

    await world.settled(market.id, sku, 31)  # 30% of 105, rounded down
    reply = await world.channels.GetChannelStock(cpb.GetChannelStockRequest(channel_id=market.id), metadata=world.admin)
    assert [(i.sku, i.channel_sku, i.sellable, i.listed) for i in reply.items] == [(sku, "TM-1", 31, True)]


async def test_shop_channel_limited_to_its_own_store_sees_only_that_store(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    shop, other_shop = await world.location("SHOP", type_=STORE), await world.location("SHOP2", type_=STORE)
    await world.stock(wh, **{sku: 50})
    await world.stock(shop, **{sku: 7})
    await world.stock(other_shop, **{sku: 9})
    pos = await world.channel("pos", type_=cpb.CHANNEL_TYPE_PHYSICAL_STORE, location_ids=(shop,))
    await world.listing(pos.id, sku)

    await world.settled(pos.id, sku, 7)


async def test_buffer_reduces_what_is_sellable(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh, shop = await world.location("WH"), await world.location("SHOP", type_=STORE)
    await world.stock(wh, **{sku: 20})
    await world.stock(shop, **{sku: 10})
    web = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE, location_types=(WAREHOUSE,), buffer_units=5)
    tiny = await world.channel("tiny", max_share_bps=1000, buffer_units=5)  # 10% of 30 = 3, minus 5: none
    await world.listing(web.id, sku)
    await world.listing(tiny.id, sku)

    await world.settled(web.id, sku, 15)
    await world.settled(tiny.id, sku, 0)


async def test_after_a_reservation_affected_channels_publish_new_numbers_and_others_nothing(world, feed) -> None:  # type: ignore[no-untyped-def]
    sku, other_sku = world.name("SKU"), world.name("SKU")
    wh, shop = await world.location("WH"), await world.location("SHOP", type_=STORE)
    await world.stock(wh, **{sku: 60, other_sku: 10})
    await world.stock(shop, **{sku: 40})
    market = await world.channel("market", max_share_bps=3000)  # whole pool, 30%
    pos = await world.channel("pos", type_=cpb.CHANNEL_TYPE_PHYSICAL_STORE, location_ids=(shop,))
    web = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE, location_types=(WAREHOUSE,))
    elsewhere = await world.channel("elsewhere")  # lists another SKU only
    for channel in (market, pos, web):
        await world.listing(channel.id, sku)
    await world.listing(elsewhere.id, other_sku)
    expected = {market.id: 30, pos.id: 40, web.id: 60}
    for channel_id, number in expected.items():
        await world.settled(channel_id, sku, number)
    await world.settled(elsewhere.id, other_sku, 10)
    await asyncio.wait_for(
        feed.until(
            lambda: (
                all(feed.latest(c, sku) == n for c, n in expected.items())
                and feed.latest(elsewhere.id, other_sku) == 10
            )
        ),
        timeout=10,
    )
    before = {c: len(feed.of(c)) for c in (market.id, pos.id, web.id, elsewhere.id)}

    await world.inventory.Reserve(
        ipb.ReserveRequest(
            request_id=world.name("res"),
            order_id=world.name("o"),
            channel_id=pos.id,
            lines=[ipb.ReserveLine(sku=sku, quantity=4, location_id=shop)],
        ),
        metadata=world.admin,
    )

    # The one-second bound is a speed figure (tests never assert wall-clock times: a loaded machine made
    # this flaky); here the affected channels' feeds must carry the new numbers, whatever the machine's speed.
    await asyncio.wait_for(
        feed.until(lambda: feed.latest(market.id, sku) == 28 and feed.latest(pos.id, sku) == 36), timeout=30
    )
    await world.settled(market.id, sku, 28)
    await world.settled(pos.id, sku, 36)
    await world.settled(web.id, sku, 60)
    await asyncio.sleep(0.5)  # room for any (wrong) late publication to show up
    assert len(feed.of(market.id)) == before[market.id] + 1
    assert len(feed.of(pos.id)) == before[pos.id] + 1
    assert len(feed.of(web.id)) == before[web.id], "a warehouse-only channel is unaffected by a shop reservation"
    assert len(feed.of(elsewhere.id)) == before[elsewhere.id]
    update = feed.of(market.id, sku)[-1]
    assert (update.previous_sellable, update.sellable, update.channel_sku) == (30, 28, f"C-{sku}")


async def test_inactive_listing_and_paused_channel_sell_nothing(world, feed) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    await world.stock(wh, **{sku: 12})
    channel = await world.channel("social", type_=cpb.CHANNEL_TYPE_SOCIAL_COMMERCE)
    await world.listing(channel.id, sku, active=False)
    reply = await world.channels.GetChannelStock(
        cpb.GetChannelStockRequest(channel_id=channel.id, skus=[sku]), metadata=world.admin
    )
    assert (reply.items[0].sellable, reply.items[0].listed) == (0, False)

    await world.listing(channel.id, sku, active=True)
    await world.settled(channel.id, sku, 12)
    await asyncio.wait_for(feed.until(lambda: feed.latest(channel.id, sku) == 12), timeout=10)

    paused = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, status=cpb.CHANNEL_STATUS_PAUSED), update_mask={"paths": ["status"]}
        ),
        metadata=world.admin,
    )
    assert paused.channel.version == channel.version + 1
    # Readers decide from the fact channels states, not from its status enum.
    assert (channel.selling, paused.channel.HasField("selling"), paused.channel.selling) == (True, True, False)
    await world.settled(channel.id, sku, 0)  # inventory applied the paused policy too
    await asyncio.wait_for(feed.until(lambda: feed.latest(channel.id, sku) == 0), timeout=10)


async def test_policy_change_is_applied_by_both_channels_and_inventory(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh, shop = await world.location("WH"), await world.location("SHOP", type_=STORE)
    await world.stock(wh, **{sku: 80})
    await world.stock(shop, **{sku: 20})
    channel = await world.channel("jd", max_share_bps=3000)
    await world.listing(channel.id, sku)
    await world.settled(channel.id, sku, 30)

    reply = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, allocation=cpb.AllocationPolicy(max_share_bps=5000, buffer_units=3)),
            update_mask={"paths": ["allocation.max_share_bps"]},  # only the share; the buffer stays 0
        ),
        metadata=world.admin,
    )
    assert reply.channel.allocation.max_share_bps == 5000 and reply.channel.allocation.buffer_units == 0
    await world.settled(channel.id, sku, 50)

    reply = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, allocation=cpb.AllocationPolicy(location_types=[STORE], buffer_units=2)),
            update_mask={"paths": ["allocation"]},  # the whole policy is replaced
        ),
        metadata=world.admin,
    )
    assert reply.channel.version == channel.version + 2
    await world.settled(channel.id, sku, 18)


async def test_disabling_a_location_takes_its_stock_out_of_every_channel(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    wh = await world.location("WH")
    shop = await world.location("SHOP", type_=STORE)
    await world.stock(wh, **{sku: 5})
    await world.stock(shop, **{sku: 6})
    channel = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE)
    await world.listing(channel.id, sku)
    await world.settled(channel.id, sku, 11)

    await world.location("SHOP", type_=STORE, location_id=shop, disabled=True)
    await world.settled(channel.id, sku, 5)
    await world.location("SHOP", type_=STORE, location_id=shop)
    await world.settled(channel.id, sku, 11)


async def test_a_sku_the_channel_does_not_list_sells_nothing_there(world) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    await world.stock(await world.location("WH"), **{sku: 9})
    channel = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE)
    reply = await world.channels.GetChannelStock(
        cpb.GetChannelStockRequest(channel_id=channel.id, skus=[sku]), metadata=world.admin
    )
    assert [(i.sku, i.channel_sku, i.sellable, i.listed) for i in reply.items] == [(sku, "", 0, False)]


async def test_concurrent_stock_moves_leave_feed_channels_and_inventory_agreeing(world, feed) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    locations = [
        await world.location("WH"),
        await world.location("SHOP", type_=STORE),
        await world.location("SHOP", type_=STORE),
    ]
    for loc in locations:
        await world.stock(loc, **{sku: 30})
    market = await world.channel("market", max_share_bps=4000, buffer_units=1)
    shops = await world.channel("shops", location_types=(STORE,))
    for channel in (market, shops):
        await world.listing(channel.id, sku)

    async def move(i: int) -> None:
        loc = locations[i % 3]
        if i % 2:
            await world.stock(loc, **{sku: 1 + i % 4})
        else:
            await world.inventory.Reserve(
                ipb.ReserveRequest(
                    request_id=world.name("res"),
                    order_id=world.name("o"),
                    lines=[ipb.ReserveLine(sku=sku, quantity=1 + i % 3, location_id=loc)],
                ),
                metadata=world.admin,
            )

    await asyncio.gather(*(move(i) for i in range(24)))
    for channel in (market, shops):
        final = await world.eventually(lambda c=channel: world.inventory_sellable(c.id, sku), lambda n: n is not None)
        await world.settled(channel.id, sku, final)
        await asyncio.wait_for(feed.until(lambda c=channel, n=final: feed.latest(c.id, sku) == n), timeout=10)


async def test_an_orders_stock_and_sales_count_events_in_one_batch_publish_the_listing_once(
    started, world, feed
) -> None:  # type: ignore[no-untyped-def]
    """A placed order makes inventory say two things about its SKU: the level and the channel's sales count.
    Arriving together in a consumer batch they are one run (their subscriptions share one `many`), applied
    at once: the listing is recomputed and published once, with both applied, not once after each."""
    sku, wh = world.name("SKU"), await world.location("WH")
    await world.stock(wh, **{sku: 20})
    web = await world.channel("web")
    await world.listing(web.id, sku, sales_cap_units=30)
    await world.settled(web.id, sku, 20)
    host = started.hosts["channels"]
    subscriptions = {s.message_type: s for s in host.parts.components["stock_feed_consumer"].subscriptions}
    many = subscriptions[iev.StockChanged].many
    assert many is not None and subscriptions[iev.ChannelSalesChanged].many is many

    published = len(feed.of(web.id, sku))
    version = 10**6  # newer than anything inventory said of them
    level = ipb.StockLevel(sku=sku, location_id=wh, on_hand=20, reserved=3, available=17, version=version)
    events = [
        iev.StockChanged(meta=common_pb2.EventMeta(event_id=world.name("e")), level=level),
        iev.ChannelSalesChanged(
            meta=common_pb2.EventMeta(event_id=world.name("e")), channel_id=web.id, sku=sku, counted=3, version=version
        ),
    ]
    await run_in_transaction(partial(ChannelsUnitOfWork, host.infra.sessions), lambda uow: many(events, uow))
    await asyncio.wait_for(feed.until(lambda: len(feed.of(web.id, sku)) > published), timeout=10)
    await asyncio.sleep(0.5)  # a second update, if one were published, would be here by now
    assert [(u.sellable, u.rules.sales_counted) for u in feed.of(web.id, sku)[published:]] == [(17, 3)]
