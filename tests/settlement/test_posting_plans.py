"""Settlement's hot statements run on their indexes. A batch of paid orders notes what orders reported by index,
not by a scan of every order ever settled (adapters/posting_sql.py, `_NOTE_REPORTS`); a page of ListEntries is a
range of an index in listing order (the last test).

`UPDATE order_settlements ... FROM unnest(...) WHERE order_id = u.order_id` alone let the planner hash-join a
seq scan of the whole table (the generic plan a prepared statement runs after five executions estimates
`unnest` of a parameter at 100 rows): measured paying, shipping and completing orders, settlement read about
1,200 rows of `order_settlements` per ten orders, every order ever settled. The statement now also says
`order_id = ANY(<the ids>)`, which the primary key answers, as inventory's batch writes do
(services/inventory/tests/test_reserve_plans.py). Checked with EXPLAIN of the generic plan over 2,000 analysed
rows written by the service's own insert, inside a transaction that is rolled back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from onepool_runtime.testing.plans import generic_plan
from onepool_settlement.adapters import posting_sql
from onepool_settlement.adapters.repository import held_query, order_totals_query, page_query
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

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
                [500] * ROWS,
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


# 2,000 committed-looking payments of 50 dealers to the brand: their lines carry transaction ids below every
# running transaction's (as the journal's lines but the newest do), so the planner sees them as listable.
_PAYMENTS = """
WITH e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo)
  SELECT 'plan-' || $1 || '-' || n, 'payment:plan-' || $1 || '-' || n, 'payment', 'CNY', '', '', '', ''
    FROM generate_series(1, $2) AS n
  RETURNING id
), x AS (SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin)
INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id, xact_id)
SELECT 'plan-' || $1 || '-' || n, p.party, 'payment', 'CNY', p.amount, '', x.xmin - 1 - ($2 - n) / 3
  FROM generate_series(1, $2) AS n, x,
       LATERAL (VALUES ('dealer:PL-' || $1 || '-' || (n % 50), 100), ('brand', -100)) AS p(party, amount)
"""


async def test_a_page_of_entries_is_a_range_of_an_index_in_listing_order(stack: Any, settlement: Any) -> None:
    """ListEntries reads a page as a range of `journal_lines_by_party_xact` (one party) or `journal_lines_by_xact`
    (every party), the position and the finished-transactions bound both in the index condition: no sort of a
    party's lines, no scan of the journal (repository.page_query). Checked on the generic plan, in a transaction
    that is rolled back."""
    tag = uuid.uuid4().hex[:6]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(_PAYMENTS, tag, ROWS)
            await conn.execute("ANALYZE journal_entries, journal_lines")
            plans = {
                party: await generic_plan(
                    conn, str(page_query(party, "", "", None, None, (0, 0), 101).compile(dialect=asyncpg_dialect()))
                )
                for party in (f"dealer:PL-{tag}-7", "")
            }
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    for party, index in ((f"dealer:PL-{tag}-7", "by_party_xact"), ("", "by_xact")):
        plan = plans[party]
        assert f"Index Scan using journal_lines_{index} on journal_lines" in plan, plan
        [condition] = [line for line in plan.splitlines() if "Index Cond" in line and "xact_id" in line]
        assert "ROW(xact_id, id) > ROW(" in condition and "pg_snapshot_xmin" in condition, plan
        assert "Sort" not in plan and "Seq Scan on journal_lines" not in plan, plan


# Settled orders of 50 dealers, one in 50 not final yet (those in flight), each with its sale's three lines; and
# orders noted as awaiting their sale (orders_awaiting_sale), one per 100 orders, half of them since booked.
_ORDERS_AND_SALES = """
WITH w AS (
  INSERT INTO orders_awaiting_sale (order_id)
  SELECT 'plan-' || $1 || CASE WHEN n % 2 = 0 THEN '-' ELSE '-w' END || n FROM generate_series(1, $2 / 100) AS n
), o AS (
  INSERT INTO order_settlements (order_id, currency, channel_id, seller, fee_rate_bps, brand_share_bps, cancelled,
                                 final_at)
  SELECT 'plan-' || $1 || '-' || n, 'CNY', 'CH', 'dealer:PL-' || $1 || '-' || (n % 50), 0, 3000, false,
         CASE WHEN n % 50 = 0 THEN NULL ELSE now() END
    FROM generate_series(1, $2) AS n
), e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo)
  SELECT 'plan-' || $1 || '-' || n, 'sale:plan-' || $1 || '-' || n, 'sale', 'CNY', 'plan-' || $1 || '-' || n,
         '', '', ''
    FROM generate_series(1, $2) AS n
  RETURNING id
)
INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id)
SELECT e.id, p.party, p.account, 'CNY', p.amount, e.id
  FROM e, LATERAL (VALUES ('clearing', 'customer_payment', -100), ('brand', 'brand_share', 30),
                          ('dealer:PL-' || $1 || '-' || (split_part(e.id, '-', 3)::int % 50), 'sale', 70))
                  AS p(party, account, amount)
"""


async def test_a_payouts_held_income_reads_the_orders_in_flight_never_the_partys_history(
    stack: Any, settlement: Any
) -> None:
    """CreatePayout's extra sum (repository.held_query): the party's positive lines on orders not final. Driven
    from the orders not final (partial index `order_settlements_not_final`), each order's lines read by
    `journal_lines_by_order`: for the brand as for a dealer, never the party's lines (a plain join read every
    line the party ever had first: for the brand a parallel scan of the whole journal, 0.9 s at 10M lines), nor
    a scan of every order settled. The orders awaiting their sale (orders_awaiting_sale: goods moved for a sale
    not read yet) are read beside them, each probed in the settlements' primary key. Generic plan, in a
    transaction rolled back."""
    tag = uuid.uuid4().hex[:6]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(_ORDERS_AND_SALES, tag, 5 * ROWS)
            await conn.execute("ANALYZE order_settlements, orders_awaiting_sale, journal_entries, journal_lines")
            plans = {
                party: await generic_plan(conn, str(held_query(party, "CNY").compile(dialect=asyncpg_dialect())))
                for party in ("brand", f"dealer:PL-{tag}-7")
            }
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    for plan in plans.values():
        # The notes of orders awaiting their sale are few (booking the sale removes its note): read whole, each
        # probed in the settlements' primary key, never a scan of every order settled.
        assert "Seq Scan on order_settlements" not in plan and "Seq Scan on journal" not in plan, plan
        assert "by_party" not in plan and "order_settlements_pkey" in plan, plan
        assert "Nested Loop" in plan, plan
        assert "order_settlements_not_final" in plan and "Index Scan using journal_lines_by_order" in plan, plan


# Sales spread over twelve 30-day months from now on (dated ahead: no closed period can refuse them), the
# month reconciled holding one twelfth of them.
_SALES_OVER_A_YEAR = """
WITH o AS (
  INSERT INTO order_settlements (order_id, currency, channel_id, seller, fee_rate_bps, brand_share_bps, cancelled,
                                 final_at)
  SELECT 'plan-' || $1 || '-' || n, 'CNY', 'CH', 'brand', 0, 0, false, now() FROM generate_series(1, $2) AS n
), e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo, created_at)
  SELECT 'plan-' || $1 || '-' || n, 'sale:plan-' || $1 || '-' || n, 'sale', 'CNY', 'plan-' || $1 || '-' || n,
         '', '', '', now() + (n % 12) * interval '30 days'
    FROM generate_series(1, $2) AS n
  RETURNING id, created_at
)
INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id, created_at)
SELECT e.id, p.party, p.account, 'CNY', p.amount, e.id, e.created_at
  FROM e, LATERAL (VALUES ('clearing', 'customer_payment', -100), ('brand', 'sale', 60),
                          ('channel:CH', 'channel_fee', 40)) AS p(party, account, amount)
"""


async def test_reconciling_a_month_reads_its_orders_never_every_order_settled(stack: Any, settlement: Any) -> None:
    """Reconcile's per-order totals (repository.order_totals_query): the period's orders, found by posting time,
    each summed over its own lines (`journal_lines_by_order`) and its report read by primary key, one order at a
    time. Joined as a whole, the planner merge-joined the entire by-order index and every order settled (at 10M
    lines: 9M lines read for a month's 173k orders). The plan of the month's own bounds, in a transaction
    rolled back."""
    tag = uuid.uuid4().hex[:6]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(_SALES_OVER_A_YEAR, tag, 6 * ROWS)
            await conn.execute("ANALYZE order_settlements, journal_entries, journal_lines")
            start = await conn.fetchval("SELECT now() + interval '150 days' - interval '1 hour'")
            query = order_totals_query("CNY", start, start + timedelta(days=30))
            sql = str(query.compile(dialect=postgresql_dialect(), compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}"))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    assert "Seq Scan on journal_lines" not in plan and "Seq Scan on order_settlements" not in plan, plan
    assert "Merge" not in plan and "Hash Join" not in plan, plan
    assert "journal_lines_by_order" in plan and "order_settlements_pkey" in plan, plan
