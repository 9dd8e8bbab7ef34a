"""Channels with big catalogues: a marketplace shop of ten thousand listings and more, a warehouse holding
thousands of listed SKUs. Every read of many keys used to bind one parameter per SKU (two per (channel, sku)),
so from about 10,000 keys PostgreSQL refused the statement ("stack depth limit exceeded"; asyncpg takes at most
32,767 parameters): GetChannelStock without SKUs and pausing the channel were INTERNAL, and disabling such a
location failed in the stock feed every time, so channels kept selling from the closed location.

The listings, their published numbers and the read model's stock are written with one SQL statement each (the
numbers as a recomputation finds them, so nothing is published and only the reads are exercised)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from onepool.channels.v1 import channels_pb2 as cpb
from onepool_runtime.testing.services import field_violations
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

BIG = 12_000  # listings of one channel: past where the old reads failed
CAP = 5_000  # GetChannelStock without SKUs answers at most this many (handlers.MAX_WHOLE_CHANNEL_STOCK)


async def bulk_listings(started: Any, channel_id: str, prefix: str, n: int, location_id: str = "") -> list[str]:
    """`n` active listings `<prefix>-1..n` on the channel with their numbers published as 0 (and, at
    `location_id`, one unit each in channels' read model); returns the SKUs."""
    values = {"ch": channel_id, "p": prefix + "-", "n": n, "loc": location_id}
    async with started.hosts["channels"].infra.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO listings (channel_id, sku, channel_sku, price_currency, price_minor, active,"
                " sales_cap_units, presale_units, allow_backorder, version, updated_at)"
                " SELECT :ch, :p || g, 'C-' || :p || g, 'CNY', 100, true, 0, 0, false, 1, now()"
                " FROM generate_series(1, :n) g"
            ),
            values,
        )
        await conn.execute(
            text(
                "INSERT INTO channel_stock (channel_id, sku, channel_sku, sellable, version, exposed, dedicated,"
                " sales_cap_units, sales_counted, presale_units, presale_counted, expected, presale_sellable,"
                " allow_backorder, updated_at)"
                " SELECT :ch, :p || g, 'C-' || :p || g, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, false, now()"
                " FROM generate_series(1, :n) g"
            ),
            values,
        )
        if location_id:
            await conn.execute(
                text(
                    "INSERT INTO stock_positions (sku, location_id, available, version)"
                    " SELECT :p || g, :loc, 1, 1 FROM generate_series(1, :n) g ON CONFLICT DO NOTHING"
                ),
                values,
            )
    return [f"{prefix}-{i}" for i in range(1, n + 1)]


async def published(started: Any, channel_id: str, sku: str) -> int | None:
    async with started.hosts["channels"].infra.engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT sellable FROM channel_stock WHERE channel_id = :c AND sku = :s"),
                {"c": channel_id, "s": sku},
            )
        ).scalar()


async def test_the_stock_of_a_channel_past_the_cap_is_asked_for_by_sku(started, world) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel("big")
    skus = await bulk_listings(started, channel.id, world.name("BIG"), BIG)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.GetChannelStock(cpb.GetChannelStockRequest(channel_id=channel.id), metadata=world.admin)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert field_violations(exc.value) == ["skus"]
    page = await world.channels.GetChannelStock(
        cpb.GetChannelStockRequest(channel_id=channel.id, skus=skus[-500:]), metadata=world.admin
    )
    assert [(i.sku, i.listed) for i in page.items] == [(sku, True) for sku in skus[-500:]]


async def test_every_listing_of_a_channel_at_the_cap_is_answered(started, world) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel("cap")
    skus = await bulk_listings(started, channel.id, world.name("CAP"), CAP)
    reply = await world.channels.GetChannelStock(
        cpb.GetChannelStockRequest(channel_id=channel.id), metadata=world.admin
    )
    assert sorted(i.sku for i in reply.items) == sorted(skus)


async def test_pausing_a_channel_of_many_listings_stops_its_sales(started, world) -> None:  # type: ignore[no-untyped-def]
    wh = await world.location("WH")
    channel = await world.channel("big")
    probe = world.name("SKU")
    await world.listing(channel.id, probe)
    await world.stock(wh, **{probe: 5})
    await world.settled(channel.id, probe, 5)
    await bulk_listings(started, channel.id, world.name("BIG"), BIG)

    await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, status=cpb.CHANNEL_STATUS_PAUSED),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=world.admin,
    )
    assert await published(started, channel.id, probe) == 0  # recomputed and published with the pause


async def test_disabling_a_location_of_many_listed_skus_stops_selling_from_it(started, world) -> None:  # type: ignore[no-untyped-def]
    wh = await world.location("WH")
    a, b = await world.channel("a"), await world.channel("b")
    probe = world.name("SKU")
    await world.listing(a.id, probe)
    await world.stock(wh, **{probe: 5})
    await world.settled(a.id, probe, 5)
    prefix = world.name("LOC")
    for channel in (a, b):  # 2 x 6,000 listings of SKUs held there
        await bulk_listings(started, channel.id, prefix, BIG // 2, location_id=wh)

    await world.location("WH", location_id=wh, disabled=True)
    await world.eventually(lambda: published(started, a.id, probe), lambda n: n == 0, within=60)
    assert await world.sellable(a.id, probe) == 0


async def test_keys_read_as_two_arrays_count_only_the_pairs_asked_for(started, world) -> None:  # type: ignore[no-untyped-def]
    """(channel, sku) keys are read as channel_id = ANY(..) AND sku = ANY(..), which also matches the cross
    product: channel a's dedicated stock and sales count of SKU y (which a does not list) must count for
    neither a's listing of x nor b's listing of y."""
    from functools import partial

    from onepool_channels.service_layer import stock_feed
    from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
    from onepool_runtime.idempotency import run_in_transaction

    wh = await world.location("WH")
    x, y = world.name("X"), world.name("Y")
    a, b = await world.channel("a"), await world.channel("b")
    await world.listing(a.id, x, sales_cap_units=10)
    await world.listing(b.id, y, sales_cap_units=10)
    await world.stock(wh, **{x: 5, y: 5})
    await world.settled(a.id, x, 5)
    await world.settled(b.id, y, 5)
    host = started.hosts["channels"]
    async with host.infra.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO dedicated_stock (allocation_id, channel_id, sku, location_id, remaining, version)"
                " VALUES (:id, :ch, :sku, :loc, 3, 1)"
            ),
            {"id": world.name("alloc"), "ch": a.id, "sku": y, "loc": wh},
        )
        await conn.execute(
            text(
                "INSERT INTO channel_sales (channel_id, sku, counted, presale_counted, version)"
                " VALUES (:ch, :sku, 4, 0, 1)"
            ),
            {"ch": a.id, "sku": y},
        )

    changed = await run_in_transaction(
        partial(ChannelsUnitOfWork, host.infra.sessions), lambda uow: stock_feed.refresh(uow, [x, y])
    )
    assert changed == []  # nothing of a's on y counts for a listing
    for channel, sku in ((a, x), (b, y)):
        [item] = (
            await world.channels.GetChannelStock(
                cpb.GetChannelStockRequest(channel_id=channel.id, skus=[sku]), metadata=world.admin
            )
        ).items
        assert (item.sellable, item.rules.dedicated, item.rules.sales_counted) == (5, 0, 0)
