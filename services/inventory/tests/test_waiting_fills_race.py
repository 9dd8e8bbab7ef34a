"""Two receipts of different SKUs fill one reservation's two waiting allocations at the same moment.

Each transaction holds only its own SKU's stock row (the lock that guards the waiting allocations there) and
reads the reservation without locking it. Each must write back only the allocation it filled: writing the
reservation's every allocation, as read before the other committed, undid the other's fill (the stock level
said filled, the allocation still waited, and releasing the reservation then failed on that mismatch).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from onepool_inventory.adapters.orm import metadata
from onepool_inventory.domain import commands
from onepool_inventory.domain.model import MovementKind
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_kernel.lines import StockLine
from sqlalchemy import insert, text

pytestmark = pytest.mark.asyncio


async def test_concurrent_fills_of_one_reservation_both_stay_filled(inventory_host, check_invariants) -> None:  # type: ignore[no-untyped-def]
    infra = inventory_host.infra
    tag = uuid.uuid4().hex[:8]
    location, reservation = f"L-{tag}", f"R-{tag}"
    skus = [f"A-{tag}", f"B-{tag}"]
    # A committed backorder waiting for one unit of each SKU (as Reserve with accept_awaiting_stock leaves it).
    async with infra.engine.begin() as conn:
        await conn.execute(insert(metadata.tables["locations"]).values(id=location, type="WAREHOUSE"))
        await conn.execute(insert(metadata.tables["reservations"]).values(id=reservation, status="COMMITTED"))
        for sku in skus:
            await conn.execute(
                insert(metadata.tables["stock_levels"]).values(sku=sku, location_id=location, awaiting=1)
            )
            await conn.execute(
                insert(metadata.tables["allocations"]).values(
                    reservation_id=reservation,
                    sku=sku,
                    location_id=location,
                    quantity=1,
                    awaiting=1,
                    source="BACKORDER",
                )
            )
    units = infra.units(InventoryUnitOfWork)
    both_read = asyncio.Barrier(2)

    async def receive(sku: str, delay: float) -> None:
        async with units() as uow:
            read = uow.reservations.waiting_line

            async def waiting_line(keys):  # type: ignore[no-untyped-def]
                line = await read(keys)
                await both_read.wait()  # both have read the reservation before either writes
                await asyncio.sleep(delay)
                return line

            uow.reservations.waiting_line = waiting_line  # type: ignore[method-assign]
            await handlers.receive_stock(
                uow, commands.ReceiveStock(location, (StockLine(sku, 1),), "delivery", MovementKind.RECEIPT)
            )
            await uow.commit()

    await asyncio.gather(receive(skus[0], 0.0), receive(skus[1], 0.3))

    async with infra.engine.connect() as conn:
        waiting = (
            await conn.execute(
                text("SELECT sku, awaiting FROM allocations WHERE reservation_id = :r ORDER BY sku"), {"r": reservation}
            )
        ).all()
    assert [(w.sku, w.awaiting) for w in waiting] == [(skus[0], 0), (skus[1], 0)]
    await check_invariants()
    async with units() as uow:  # and the reservation can be let go again
        released = await handlers.release_reservation(uow, reservation, "cancelled")
        await uow.commit()
    assert released.status.value == "RELEASED"
    await check_invariants()
