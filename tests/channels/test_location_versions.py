"""Channels keeps the newest version of each location (inventory.v1.Location.version), however the events of
one location arrive: two replicas share the stock feed, and an event whose first attempt failed comes back
after the ones that followed it. The rebuild's read of inventory's locations obeys the same guard, and an event
published before locations had versions (version 0) still applies where channels holds nothing newer."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import nats
import pytest
from onepool.inventory.v1 import events_pb2 as iev
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_channels.entrypoints.bootstrap import build
from onepool_channels.entrypoints.stock_events import on_location_upserted
from onepool_channels.service_layer.rebuild import rebuild
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_runtime.embedded import free_port
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.messaging import STREAMS
from onepool_runtime.testing.services import running_service
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "channels" / "migrations"

# Backends waiting for an advisory lock, oldest first.
WAITERS = (
    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'"
    " AND NOT l.granted ORDER BY a.query_start"
)
FEED_LOCK = "SELECT pg_advisory_xact_lock(7301, -1)"  # repository.lock_feed's (SKU_LOCK_CLASS, FEED_LOCK_KEY)


async def stock_feed_applied(nats_url: str, within: float = 30.0) -> None:
    """Until channels' stock feed has applied every inventory event: none left to deliver, none unacknowledged
    (one that failed is put back and counted there until it is applied)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            info = await js.consumer_info(STREAMS["inventory"], "channels-stock-feed")
            if not info.num_pending and not info.num_ack_pending:
                return
            assert loop.time() < deadline, f"the stock feed still holds events: {info}"
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


async def upsert(world: Any, location_id: str, *, disabled: bool) -> ipb.Location:
    """Inventory's answer: the location as stored, with its version."""
    reply = await world.inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(
                id=location_id, name="WH", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True, disabled=disabled
            )
        ),
        metadata=world.admin,
    )
    return reply.location


async def held(started: Any, location_id: str) -> tuple[bool, int] | None:
    """(active, version) of channels' copy of the location."""
    async with started.hosts["channels"].infra.engine.connect() as c:
        row = (
            await c.execute(text("SELECT active, version FROM stock_locations WHERE id = :i"), {"i": location_id})
        ).first()
    return None if row is None else (row.active, row.version)


async def deliver(started: Any, location: ipb.Location) -> None:
    """One LocationUpserted through channels' consumer handler, in a transaction of its own (as a replica
    applies a redelivered event)."""
    async with ChannelsUnitOfWork(started.hosts["channels"].infra.sessions) as uow:
        await on_location_upserted(iev.LocationUpserted(location=location), uow)
        await uow.commit()


async def selling(world: Any, location_id: str) -> tuple[str, str]:
    """A channel listing a SKU stocked only at the location, settled at 5 sellable."""
    channel = await world.channel("re")
    sku = world.name("SKU")
    await world.listing(channel.id, sku)
    await world.stock(location_id, **{sku: 5})
    await world.settled(channel.id, sku, 5)
    return channel.id, sku


async def test_a_disable_redelivered_after_the_enable_that_followed_it_changes_nothing(started, world) -> None:  # type: ignore[no-untyped-def]
    """The auditor's case: the disable's first attempt waits for the feed lock and loses its connection; the
    other replica applies the enable that came next; the disable comes back and used to win (channels sold 0
    from an open location until its next event)."""
    settings = started.settings("channels").model_copy(update={"grpc_port": free_port()})
    async with running_service(settings, build, MIGRATIONS):
        wh = await world.location("WH")
        channel_id, sku = await selling(world, wh)
        engine = started.hosts["channels"].infra.engine

        async def waiters() -> list[int]:
            async with engine.connect() as c:
                return [r.pid for r in await c.execute(text(WAITERS))]

        async with engine.connect() as holder:
            tx = await holder.begin()
            await holder.execute(text(FEED_LOCK))
            await world.location("WH", location_id=wh, disabled=True)
            await world.eventually(waiters, lambda w: len(w) == 1)
            await world.location("WH", location_id=wh, disabled=False)  # re-opened a moment later
            found = await world.eventually(waiters, lambda w: len(w) == 2)
            async with engine.connect() as c:  # the disable's connection drops (a network blip, a failover)
                await c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": found[0]})
            await world.eventually(waiters, lambda w: w == found[1:])  # gone: the enable is next for the lock
            await tx.rollback()
        await stock_feed_applied(started.nats_url)  # the disable is redelivered and applied meanwhile
        inventory_says = await world.inventory_sellable(channel_id, sku)
        assert (await held(started, wh), await world.sellable(channel_id, sku)) == ((True, 3), inventory_says)


async def test_an_older_location_event_delivered_after_a_newer_one_changes_nothing(started, world) -> None:  # type: ignore[no-untyped-def]
    wh = await world.location("WH")
    channel_id, sku = await selling(world, wh)
    closed = await upsert(world, wh, disabled=True)
    await world.settled(channel_id, sku, 0)
    opened = await upsert(world, wh, disabled=False)
    await world.settled(channel_id, sku, 5)
    assert (closed.version, opened.version) == (2, 3)

    await deliver(started, closed)  # late
    assert (await held(started, wh), await world.sellable(channel_id, sku)) == ((True, 3), 5)
    await deliver(started, opened)  # the same again: idempotent
    assert (await held(started, wh), await world.sellable(channel_id, sku)) == ((True, 3), 5)


async def test_a_rebuild_that_read_a_location_before_its_latest_change_keeps_the_latest(started, world) -> None:  # type: ignore[no-untyped-def]
    wh = await world.location("WH")
    channel_id, sku = await selling(world, wh)
    closed = await upsert(world, wh, disabled=True)
    await upsert(world, wh, disabled=False)
    await world.eventually(lambda: held(started, wh), lambda h: h == (True, 3))  # both events applied

    class Stale:
        """Inventory as a rebuild read it just before the location was opened again."""

        async def locations(self) -> list[ipb.Location]:
            return [closed]

        async def stock_levels(self):  # type: ignore[no-untyped-def]
            return
            yield

        channel_allocations = expected_receipts = stock_levels

        async def sales_counted(self, channel_id: str, skus: list[str]) -> dict[str, int]:
            return {}

    uow = partial(ChannelsUnitOfWork, started.hosts["channels"].infra.sessions)
    report = await rebuild(partial(run_in_transaction, uow), Stale())  # type: ignore[arg-type]
    assert (report.locations, report.published) == (1, 0)
    assert (await held(started, wh), await world.sellable(channel_id, sku)) == ((True, 3), 5)


async def test_events_from_before_locations_had_versions_still_apply(started, world) -> None:  # type: ignore[no-untyped-def]
    """Version 0: published by an inventory older than versions. Applied over a copy at 0 (the migration's,
    or another such event: the later one wins, as before); never over a versioned one."""
    location_id = world.name("OLD")
    legacy = ipb.Location(id=location_id, name="old", type=ipb.LOCATION_TYPE_WAREHOUSE)
    await deliver(started, legacy)
    assert await held(started, location_id) == (True, 0)
    legacy.disabled = True
    await deliver(started, legacy)
    assert await held(started, location_id) == (False, 0)

    versioned = ipb.Location(id=location_id, name="old", type=ipb.LOCATION_TYPE_WAREHOUSE, version=1)
    await deliver(started, versioned)
    assert await held(started, location_id) == (True, 1)
    await deliver(started, legacy)  # an event from before the upgrade, delivered after one from after it
    assert await held(started, location_id) == (True, 1)
