"""A release of a reservation waiting on an expected receipt publishes what the receipt promises now, locking the
receipt's row last; goods received on that receipt meanwhile lock its stock rows before its row. So the two queue
on the stock row and both commit (with the receipt's row taken first, as it was, they deadlocked)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.domain import commands
from onepool_inventory.domain.model import StockLine
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork

from .test_presale import DAY, Presale

pytestmark = pytest.mark.asyncio


async def test_a_release_and_a_receipt_on_what_it_waits_for_lock_in_one_order(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=10)
    receipt = await shop.expect(10, datetime.now(UTC) + DAY)
    order = await shop.order(3)
    units = inventory_host.infra.units(InventoryUnitOfWork)
    stock_row_held = asyncio.Event()

    async def release() -> None:
        async with units() as uow:
            await handlers.release_reservation(uow, order.id, "changed my mind")
            stock_row_held.set()
            await asyncio.sleep(0.5)  # the receipt's transaction takes what it can meanwhile
            await uow.commit()  # publishes the receipt's promises: locks its row

    async def receive() -> None:
        await stock_row_held.wait()
        delivery = commands.ReceiveStock(shop.wh, (StockLine(shop.sku, 4),), "delivery", receipt_id=receipt.id)
        async with units() as uow:
            await handlers.receive_stock(uow, delivery)
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(release(), receive()), 30)
    got = await inventory.GetExpectedReceipt(pb.GetExpectedReceiptRequest(receipt_id=receipt.id), metadata=admin)
    assert (got.receipt.lines[0].received, got.receipt.lines[0].promised) == (4, 0)
    assert (await shop.get(order.id)).status == pb.RESERVATION_STATUS_RELEASED
    await check_invariants()
