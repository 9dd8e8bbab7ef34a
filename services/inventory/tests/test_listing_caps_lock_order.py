"""A batch of listing events and a Reserve lock the same channel's sales counters. The batch applies its caps
in (channel, sku) order, the order Reserve locks them in, so neither holds one counter while waiting for the
other's: both commit (before, a batch in stream order deadlocked against it)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool_inventory.entrypoints import policy_events
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork

pytestmark = pytest.mark.asyncio


def _listed(channel_id: str, sku: str) -> channel_events.ListingUpserted:
    listing = channels_pb2.Listing(channel_id=channel_id, sku=sku, sales_cap_units=10, version=1)
    return channel_events.ListingUpserted(listing=listing)


async def test_a_listing_batch_and_a_reserve_lock_counters_in_one_order(inventory_host, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    units = inventory_host.infra.units(InventoryUnitOfWork)
    channel = f"C-{uuid.uuid4().hex[:8]}"
    low, high = f"{channel}-A", f"{channel}-B"
    first_applied, both_waited = asyncio.Event(), asyncio.Barrier(2)
    apply = handlers.apply_listing_cap

    async def apply_then_wait(uow, *args, **kwargs):  # type: ignore[no-untyped-def]
        applied = await apply(uow, *args, **kwargs)
        first_applied.set()
        with contextlib.suppress(TimeoutError):  # the reserve may be waiting on this counter meanwhile
            await asyncio.wait_for(both_waited.wait(), 1.0)
        return applied

    monkeypatch.setattr(handlers, "apply_listing_cap", apply_then_wait)

    async def listing_batch() -> None:
        async with units() as uow:
            await policy_events.on_listings_upserted([_listed(channel, high), _listed(channel, low)], uow)
            await uow.commit()

    async def reserve_like() -> None:
        await first_applied.wait()
        async with units() as uow:
            await uow.sales.lock([(channel, low), (channel, high)])
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(listing_batch(), reserve_like()), 30)
    async with units() as uow:
        caps = await uow.sales.lock([(channel, low), (channel, high)])
        assert {key: c.cap_units for key, c in caps.items()} == {(channel, low): 10, (channel, high): 10}
