"""CreateChannelAllocation racing what takes its location away from the channel (audit I item 1): an
UpsertLocation changing the location's type, or a channel policy event dropping it. Either the allocation is
refused (LOCATION_NOT_SELLABLE) or it ends, its units back in the shared pool; never ACTIVE at a location its
channel may no longer sell from (its units out of the pool for good). Before the fix, CreateChannelAllocation
judged an unlocked read of both, and the other side ended only the allocations it could see committed: a
quarter of the location races, and some of the policy ones, left the allocation ACTIVE."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import error_info
from sqlalchemy import text

from .test_channel_view import availability, publish_channel

pytestmark = pytest.mark.asyncio

WAREHOUSE, STORE = pb.LOCATION_TYPE_WAREHOUSE, pb.LOCATION_TYPE_STORE


async def _channel(js, channel_id: str, version: int, *types: int) -> None:  # type: ignore[no-untyped-def]
    allocation = channels_pb2.AllocationPolicy(location_types=list(types))
    await publish_channel(
        js, channels_pb2.Channel(id=channel_id, version=version, allocation=allocation), created=version == 1
    )


async def _create(inventory, admin, setup, channel_id: str, location_id: str, sku: str, delay: float = 0.0):  # type: ignore[no-untyped-def]
    await asyncio.sleep(delay)
    request = pb.CreateChannelAllocationRequest(
        request_id=setup.name("al"), channel_id=channel_id, location_id=location_id, sku=sku, quantity=3
    )
    try:
        return (await inventory.CreateChannelAllocation(request, metadata=admin)).allocation
    except grpc.aio.AioRpcError as exc:
        return exc


async def _state(inventory_db, sku: str) -> tuple[list[tuple[str, int]], int]:  # type: ignore[no-untyped-def]
    async with inventory_db.connect() as conn:
        rows = await conn.execute(text("SELECT status, remaining FROM channel_allocations WHERE sku = :s"), {"s": sku})
        level = await conn.execute(text("SELECT dedicated FROM stock_levels WHERE sku = :s"), {"s": sku})
        return [(r.status, r.remaining) for r in rows.all()], level.scalar_one()


async def test_an_allocation_racing_a_location_type_change_is_refused_or_ended(
    inventory, admin, setup, inventory_host, inventory_db, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    channel_id = setup.name("ch")
    await _channel(inventory_host.infra.js, channel_id, 1, WAREHOUSE)
    for attempt in range(24):
        wh = await setup.location("WH", type_=WAREHOUSE)
        sku = setup.name("SKU")
        await setup.stock(wh, **{sku: 10})
        if attempt == 0:
            await availability(inventory, admin, sku, channel_id)

        async def retype(delay: float, wh: str = wh) -> None:
            await asyncio.sleep(delay)
            location = pb.Location(id=wh, name="WH", type=STORE, ships=True)
            await inventory.UpsertLocation(pb.UpsertLocationRequest(location=location), metadata=admin)

        created, _ = await asyncio.gather(
            _create(inventory, admin, setup, channel_id, wh, sku), retype((attempt % 6) * 0.002)
        )
        allocations, dedicated = await _state(inventory_db, sku)
        if isinstance(created, grpc.aio.AioRpcError):
            assert error_info(created).reason == "LOCATION_NOT_SELLABLE", created
            assert allocations == []
        else:
            assert allocations == [("ENDED", 0)], (attempt, allocations)
        assert dedicated == 0, attempt
    await check_invariants()


async def test_allocations_racing_a_policy_that_drops_their_location_are_refused_or_ended(
    inventory, admin, setup, inventory_host, inventory_db, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    for _ in range(4):
        channel_id = setup.name("ch")
        await _channel(js, channel_id, 1, WAREHOUSE)
        wh = await setup.location("WH", type_=WAREHOUSE)
        skus = [setup.name("SKU") for _ in range(30)]
        await setup.stock(wh, **{s: 10 for s in skus})
        await availability(inventory, admin, skus[0], channel_id)
        tasks = [
            asyncio.create_task(_create(inventory, admin, setup, channel_id, wh, s, i * 0.003))
            for i, s in enumerate(skus)
        ]
        await asyncio.sleep(0.02)
        await _channel(js, channel_id, 2, STORE)
        outcomes = await asyncio.gather(*tasks)

        async def applied(channel_id: str = channel_id) -> bool:
            async with inventory_db.connect() as conn:
                query = text("SELECT version FROM channel_policies WHERE channel_id = :c")
                return (await conn.execute(query, {"c": channel_id})).scalar() == 2

        for _ in range(200):
            if await applied():
                break
            await asyncio.sleep(0.02)
        assert await applied()
        for sku, outcome in zip(skus, outcomes, strict=True):
            allocations, dedicated = await _state(inventory_db, sku)
            if isinstance(outcome, grpc.aio.AioRpcError):
                assert error_info(outcome).reason == "LOCATION_NOT_SELLABLE", outcome
            else:
                assert allocations == [("ENDED", 0)], (sku, allocations)
            assert dedicated == 0, sku
    await check_invariants()
