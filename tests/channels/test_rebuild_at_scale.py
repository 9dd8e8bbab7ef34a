"""Channels' rebuild reads the whole estate, not the first reply of it: ListChannelAllocations stopped at 1,000 rows
without saying so, and a rebuild with more active dedicated allocations than that lost the rest."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from sqlalchemy import text

from tests.channels.test_channel_rules import rules_agree, run_rebuild

pytestmark = pytest.mark.asyncio

PER_SKU = 334  # three SKUs: 1,002 allocations, past the 1,000 one reply held


async def test_a_rebuild_restores_every_dedicated_allocation_past_the_first_thousand(started, world) -> None:  # type: ignore[no-untyped-def]
    world.channels = started.stub("channels")  # the module's stub may predate a restart by an earlier test
    skus = sorted(world.name("SKU") for _ in range(3))
    wh = await world.location("WH")
    await world.stock(wh, **dict.fromkeys(skus, PER_SKU + 6))
    market = await world.channel("market", max_share_bps=10000)
    for sku in skus:
        await world.listing(market.id, sku)
    await world.settled(market.id, skus[0], PER_SKU + 6)
    gate = asyncio.Semaphore(16)

    async def dedicate(sku: str) -> Any:
        async with gate:
            request = ipb.CreateChannelAllocationRequest(
                request_id=world.name("ded"), channel_id=market.id, location_id=wh, sku=sku, quantity=1
            )
            return await world.inventory.CreateChannelAllocation(request, metadata=world.admin)

    await asyncio.gather(*(dedicate(sku) for sku in skus for _ in range(PER_SKU)))
    before = [await rules_agree(world, market.id, sku) for sku in skus]
    assert [dedicated for _, _, dedicated, _, _ in before] == [PER_SKU] * 3

    async with started.hosts["channels"].infra.engine.begin() as conn:
        await conn.execute(text("DELETE FROM dedicated_stock WHERE sku = ANY(:skus)"), {"skus": skus})
    await run_rebuild(started)
    assert [await rules_agree(world, market.id, sku) for sku in skus] == before
