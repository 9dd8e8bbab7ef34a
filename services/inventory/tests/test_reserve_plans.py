"""A Reserve batch's writes find their rows by index, whatever the table's size (reserve_store.py).

`UPDATE t ... FROM unnest(...) WHERE t.key = u.key` alone let the planner hash-join a seq scan of the whole
table: with a few hundred rows that is its cheapest estimate, and it was what PostgreSQL ran for every batch
in the bench (the idempotency keys' settle did the same as that table grew). The statements now also say
`t.key = ANY(<the keys>)`, which the index answers. Checked with EXPLAIN of the real statements' generic plans
(what a prepared statement runs after its first five executions: `unnest` of a parameter is estimated at 100
rows there, which made a hash join over the table look cheaper), on tables of 500 analysed rows, inside a
transaction that is rolled back."""

from __future__ import annotations

import uuid

import pytest
from onepool_inventory.adapters import reserve_store
from onepool_inventory.adapters.orm import ChannelAllocationRow, ChannelSalesRow, LocationRow, StockLevelRow
from onepool_runtime import idempotency
from onepool_runtime.columns import core_tables
from onepool_runtime.tables import idempotency_keys
from onepool_runtime.testing.plans import generic_plan
from sqlalchemy import insert, text

pytestmark = pytest.mark.asyncio

ROWS = 500


async def test_a_batchs_writes_read_their_rows_by_index_not_by_a_scan_of_the_table(inventory_db) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    loc, skus = f"PL-{tag}", [f"PL-{tag}-{i:04d}" for i in range(ROWS)]
    levels, locations, sales, allocations = core_tables(
        StockLevelRow, LocationRow, ChannelSalesRow, ChannelAllocationRow
    )
    async with inventory_db.connect() as sa:
        transaction = await sa.begin()
        try:
            await sa.execute(insert(locations), [{"id": loc, "type": "WAREHOUSE"}])
            await sa.execute(insert(levels), [{"sku": s, "location_id": loc} for s in skus])
            await sa.execute(insert(sales), [{"channel_id": tag, "sku": s} for s in skus])
            allocated = [{"channel_id": tag, "location_id": loc, "quantity": 1, "remaining": 1, "status": "ACTIVE"}]
            await sa.execute(insert(allocations), [{**allocated[0], "id": s, "sku": s} for s in skus])
            await sa.execute(
                insert(idempotency_keys),
                [{"key": s, "operation": "R", "fingerprint": "", "response": b""} for s in skus],
            )
            await sa.execute(text("ANALYZE stock_levels, channel_sales, channel_allocations, idempotency_keys"))
            conn = (await sa.get_raw_connection()).driver_connection
            plans = {
                "stock_levels": await generic_plan(conn, reserve_store._WRITE),
                "channel_sales": await generic_plan(conn, reserve_store._WRITE_SALES),
                "channel_allocations": await generic_plan(conn, reserve_store._WRITE_ALLOCATIONS),
                "idempotency_keys": await generic_plan(conn, idempotency._SETTLE_ON),
            }
        finally:
            await transaction.rollback()
    for table, plan in plans.items():
        assert f"Seq Scan on {table}" not in plan, plan
        assert "Index" in plan, plan
