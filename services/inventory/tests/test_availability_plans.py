"""GetAvailability reads what is on its way by index, from what is still on its way, not by a scan of the
history (adapters/availability.py): the units inbound from the transfers in transit, the units expected from the
expected receipts still open.

Before, the read joined `transfer_lines` to `transfers` on the transfer's status, and the SKUs' receipt lines to
their receipts on theirs, which no index answered: every GetAvailability, inventory's hottest read, scanned every
transfer ever shipped (every replenishment shipped to a dealer leaves one) and every expected receipt ever made
(a Reserve batch that may wait for goods reads the same receipts). Checked with EXPLAIN of the statement's
generic plan (what its prepared statement runs after five executions) over 20,000 rows of history, analysed,
inside a transaction that is rolled back; the units inbound are checked too. The receipt lines are read from
those still bringing units (an audit: a best seller restocked daily read 15,558 lines a year on to keep 568)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.adapters import availability
from onepool_runtime.testing.plans import generic_plan
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

RECEIVED, IN_TRANSIT, LINES, HISTORY = 30, 3, 3, 20_000
OPEN_ELSEWHERE = 2_000


async def test_the_units_inbound_are_read_from_the_transfers_in_transit_by_index(
    inventory, admin, setup, inventory_db
) -> None:  # type: ignore[no-untyped-def]
    source, destination = await setup.location("TS"), await setup.location("TD", type_=pb.LOCATION_TYPE_STORE)
    skus = [f"PLAN-{uuid.uuid4().hex[:6]}-{n}" for n in range(LINES)]
    await setup.stock(source, **dict.fromkeys(skus, RECEIVED + IN_TRANSIT))
    gate = asyncio.Semaphore(16)

    async def ship(n: int) -> str:
        async with gate:
            request = pb.TransferStockRequest(
                request_id=f"{skus[0]}-t{n}",
                from_location_id=source,
                to_location_id=destination,
                lines=[pb.StockLine(sku=sku, quantity=1) for sku in skus],
            )
            return (await inventory.TransferStock(request, metadata=admin)).transfer.id

    async def receive(transfer_id: str) -> None:
        async with gate:
            await inventory.ReceiveTransfer(pb.ReceiveTransferRequest(transfer_id=transfer_id), metadata=admin)

    shipped = await asyncio.gather(*(ship(n) for n in range(RECEIVED + IN_TRANSIT)))
    await asyncio.gather(*(receive(t) for t in shipped[:RECEIVED]))

    reply = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=skus), metadata=admin)
    assert {(i.sku, i.inbound) for i in reply.items} == {(sku, IN_TRANSIT) for sku in skus}

    async with inventory_db.connect() as sa:
        transaction = await sa.begin()
        try:
            conn = (await sa.get_raw_connection()).driver_connection
            # A brand's history: many more received transfers, left as a receipt leaves them (no longer in transit).
            await conn.execute(
                "INSERT INTO transfers (id, from_location_id, to_location_id, status, reference, created_at)"
                " SELECT $1 || n, $2, $3, 'RECEIVED', '', now() FROM generate_series(1, $4) AS n",
                f"{skus[0]}-h",
                source,
                destination,
                HISTORY,
            )
            await conn.execute(
                "INSERT INTO transfer_lines (transfer_id, sku, quantity)"
                " SELECT $1 || n, $2, 1 FROM generate_series(1, $3) AS n",
                f"{skus[0]}-h",
                skus[0],
                HISTORY,
            )
            await conn.execute(
                "UPDATE transfer_lines SET in_transit = false WHERE transfer_id LIKE $1", f"{skus[0]}-h%"
            )
            await sa.execute(text("ANALYZE transfers, transfer_lines"))
            plan = await generic_plan(conn, availability._READ)
        finally:
            await transaction.rollback()
    assert "Seq Scan on transfer_lines" not in plan, plan
    assert "Seq Scan on transfers" not in plan, plan


async def test_the_expected_units_are_read_from_the_open_receipts_by_index(setup, inventory_db) -> None:  # type: ignore[no-untyped-def]
    location = await setup.location("ER")
    sku = setup.name("ER-SKU")
    async with inventory_db.connect() as sa:
        transaction = await sa.begin()
        try:
            conn = (await sa.get_raw_connection()).driver_connection
            # Years of purchase orders of many SKUs, received long ago, and two still open.
            await conn.execute(
                "INSERT INTO expected_receipts (id, location_id, expected_at, reference, status, cancel_reason,"
                " version, created_at, updated_at)"
                " SELECT $1 || n, $2, now(), '', CASE WHEN n <= 2 THEN 'OPEN' ELSE 'RECEIVED' END, '', 1, now(), now()"
                " FROM generate_series(1, $3) AS n",
                f"{sku}-r",
                location,
                HISTORY,
            )
            await conn.execute(
                "INSERT INTO expected_receipt_lines (receipt_id, sku, quantity, received, shortfall)"
                " SELECT $1 || n, $2 || (n % 50), 10, CASE WHEN n <= 2 THEN 0 ELSE 10 END, 0"
                " FROM generate_series(1, $3) AS n",
                f"{sku}-r",
                f"{sku}-",
                HISTORY,
            )
            # And a brand's purchasing today: many receipts open, for other SKUs.
            await conn.execute(
                "INSERT INTO expected_receipts (id, location_id, expected_at, reference, status, cancel_reason,"
                " version, created_at, updated_at)"
                " SELECT $1 || n, $2, now(), '', 'OPEN', '', 1, now(), now() FROM generate_series(1, $3) AS n",
                f"{sku}-o",
                location,
                OPEN_ELSEWHERE,
            )
            await conn.execute(
                "INSERT INTO expected_receipt_lines (receipt_id, sku, quantity, received, shortfall)"
                " SELECT $1 || n, $2 || n, 10, 0, 0 FROM generate_series(1, $3) AS n",
                f"{sku}-o",
                f"{sku}-other-",
                OPEN_ELSEWHERE,
            )
            await sa.execute(text("ANALYZE expected_receipts, expected_receipt_lines"))
            plan = await generic_plan(conn, availability._READ)
            slots = await generic_plan(conn, availability.SLOTS)  # a Reserve batch that may wait for goods
        finally:
            await transaction.rollback()
    for read in (plan, slots):
        assert "Seq Scan on expected_receipts" not in read, read
        assert "Seq Scan on expected_receipt_lines" not in read, read
        # Only the lines still bringing units: not every line ever written for the SKU (migration 0013).
        assert "expected_receipt_lines_open" in read and "expected_receipt_lines_by_sku" not in read, read
