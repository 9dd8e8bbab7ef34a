"""Channels' rebuild reads the whole estate, not the first reply of it: ListChannelAllocations stopped at 1,000 rows
without saying so, and a rebuild with more active dedicated allocations than that lost the rest.

`make test` runs it with inventory's reply cap lowered to 5 (channels still asks for 500 a page, past the cap as it
does against the real 1,000), so a dozen allocations span three replies; `make test-long` runs it at the real cap,
1,002 allocations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_inventory.entrypoints import requests as inventory_requests
from sqlalchemy import text

from tests.channels.test_channel_rules import rules_agree, run_rebuild

pytestmark = pytest.mark.asyncio

PER_SKU = 334  # three SKUs: 1,002 allocations, past the 1,000 one reply held


async def rebuild_restores_every_allocation(started: Any, world: Any, per_sku: int) -> None:
    world.channels = started.stub("channels")  # the module's stub may predate a restart by an earlier test
    skus = sorted(world.name("SKU") for _ in range(3))
    wh = await world.location("WH")
    await world.stock(wh, **dict.fromkeys(skus, per_sku + 6))
    market = await world.channel("market", max_share_bps=10000)
    for sku in skus:
        await world.listing(market.id, sku)
    await world.settled(market.id, skus[0], per_sku + 6)
    gate = asyncio.Semaphore(16)

    async def dedicate(sku: str) -> Any:
        async with gate:
            request = ipb.CreateChannelAllocationRequest(
                request_id=world.name("ded"), channel_id=market.id, location_id=wh, sku=sku, quantity=1
            )
            return await world.inventory.CreateChannelAllocation(request, metadata=world.admin)

    await asyncio.gather(*(dedicate(sku) for sku in skus for _ in range(per_sku)))
    before = [await rules_agree(world, market.id, sku) for sku in skus]
    assert [dedicated for _, _, dedicated, _, _ in before] == [per_sku] * 3

    async with started.hosts["channels"].infra.engine.begin() as conn:
        await conn.execute(text("DELETE FROM dedicated_stock WHERE sku = ANY(:skus)"), {"skus": skus})
    await run_rebuild(started)
    assert [await rules_agree(world, market.id, sku) for sku in skus] == before


async def test_a_rebuild_restores_every_dedicated_allocation_past_the_first_reply(
    started: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_requests, "ALLOCATIONS_PAGE", 5)  # inventory runs in this process
    await rebuild_restores_every_allocation(started, world, per_sku=4)  # 12 allocations: replies of 5, 5, 2


@pytest.mark.slow
async def test_a_rebuild_restores_every_dedicated_allocation_past_the_first_thousand(started: Any, world: Any) -> None:
    await rebuild_restores_every_allocation(started, world, per_sku=PER_SKU)
