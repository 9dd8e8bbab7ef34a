"""No count passes what its column and the int32 replies hold: one location's count of one SKU is refused past
it (FAILED_PRECONDITION STOCK_LIMIT, nothing changed), a total over many locations is reported capped.

Reaching 2**31 units through the API takes over 2,000 receipts of a million units, so each test receives a
million and then moves the level and its ledger up together in SQL (one movement, so on_hand stays the sum of
its movements and the module's invariant check still holds).
"""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_kernel.stock import MAX_UNITS
from onepool_runtime.testing.services import error_info
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
MILLION = 1_000_000


async def _raise_on_hand(inventory_db, location_id: str, sku: str, to: int) -> None:  # type: ignore[no-untyped-def]
    async with inventory_db.begin() as conn:
        level = (
            await conn.execute(
                text("SELECT on_hand FROM stock_levels WHERE location_id = :l AND sku = :s FOR UPDATE"),
                {"l": location_id, "s": sku},
            )
        ).scalar_one()
        await conn.execute(
            text("UPDATE stock_levels SET on_hand = :to WHERE location_id = :l AND sku = :s"),
            {"to": to, "l": location_id, "s": sku},
        )
        await conn.execute(
            text(
                "INSERT INTO movements (location_id, sku, delta, kind, reason, reference, on_hand_after) "
                "VALUES (:l, :s, :d, 'ADJUSTMENT', 'test: near the limit', '', :to)"
            ),
            {"l": location_id, "s": sku, "d": to - level, "to": to},
        )


async def _on_hand(inventory, admin, sku: str) -> int:  # type: ignore[no-untyped-def]
    reply = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)
    return reply.items[0].on_hand


async def test_receipts_and_adjustments_past_the_limit_are_refused_and_change_nothing(  # type: ignore[no-untyped-def]
    inventory, admin, setup, inventory_db, check_invariants
) -> None:
    location, sku = await setup.location(), setup.name("SKU")
    await setup.stock(location, **{sku: MILLION})
    near = MAX_UNITS - MILLION // 2
    await _raise_on_hand(inventory_db, location, sku, near)

    refused = [
        inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id=setup.name("rcv"), location_id=location, lines=[pb.StockLine(sku=sku, quantity=MILLION)]
            ),
            metadata=admin,
        ),
        inventory.AdjustStock(
            pb.AdjustStockRequest(
                request_id=setup.name("adj"), location_id=location, sku=sku, delta=MILLION, reason="count"
            ),
            metadata=admin,
        ),
    ]
    for call in refused:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await call
        assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.value.details()
        info = error_info(exc.value)
        assert info is not None and info.reason == "STOCK_LIMIT"
        assert info.metadata["on_hand"] == str(near)
        assert await _on_hand(inventory, admin, sku) == near

    # Up to the limit itself is fine.
    await setup.stock(location, **{sku: MAX_UNITS - near})
    assert await _on_hand(inventory, admin, sku) == MAX_UNITS
    await check_invariants()


async def test_availability_totals_over_locations_are_capped_not_internal(  # type: ignore[no-untyped-def]
    inventory, admin, setup, inventory_db, check_invariants
) -> None:
    sku = setup.name("SKU")
    first, second = await setup.location(), await setup.location()
    for location in (first, second):
        await setup.stock(location, **{sku: MILLION})
        await _raise_on_hand(inventory_db, location, sku, MAX_UNITS - 1)

    reply = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)
    [item] = reply.items
    assert item.on_hand == MAX_UNITS and item.available == MAX_UNITS
    assert sorted(b.on_hand for b in item.by_location) == [MAX_UNITS - 1, MAX_UNITS - 1]
    await check_invariants()
