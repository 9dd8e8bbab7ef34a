"""A batch of paid orders notes what orders reported by index, not by a scan of every order ever settled
(adapters/posting_sql.py, `_NOTE_REPORTS`).

`UPDATE order_settlements ... FROM unnest(...) WHERE order_id = u.order_id` alone let the planner hash-join a
seq scan of the whole table (the generic plan a prepared statement runs after five executions estimates
`unnest` of a parameter at 100 rows): measured paying, shipping and completing orders, settlement read about
1,200 rows of `order_settlements` per ten orders, every order ever settled. The statement now also says
`order_id = ANY(<the ids>)`, which the primary key answers, as inventory's batch writes do
(services/inventory/tests/test_reserve_plans.py). Checked with EXPLAIN of the generic plan over 2,000 analysed
rows written by the service's own insert, inside a transaction that is rolled back."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from onepool_runtime.testing.plans import generic_plan
from onepool_settlement.adapters import posting_sql

pytestmark = pytest.mark.asyncio

ROWS = 2_000


async def test_noting_reports_finds_its_orders_by_index(stack: Any, settlement: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = [f"PO-{tag}-{n}" for n in range(ROWS)]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.fetch(
                posting_sql._ADD_ORDERS,
                ids,
                ["CNY"] * ROWS,
                ["CH"] * ROWS,
                ["brand"] * ROWS,
                [100] * ROWS,
                [500] * ROWS,
                [0] * ROWS,
                [0] * ROWS,
                [0] * ROWS,
                [False] * ROWS,
            )
            await conn.execute("ANALYZE order_settlements")
            plan = await generic_plan(conn, posting_sql._NOTE_REPORTS)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    assert "Seq Scan on order_settlements" not in plan, plan
    assert "order_settlements_pkey" in plan, plan
