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
from typing import Any

import asyncpg
import pytest
from onepool_runtime.testing.plans import generic_plan
from onepool_settlement.adapters import posting_sql
from onepool_settlement.adapters.repository import held_query, page_query
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


# Settled orders of 50 dealers, one in 50 not final yet (those in flight), each with its sale's three lines.
_ORDERS_AND_SALES = """
WITH o AS (
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


async def test_a_payouts_held_income_reads_by_index_never_every_order_settled(stack: Any, settlement: Any) -> None:
    """CreatePayout's extra sum (repository.held_query): the party's positive lines on orders not final. The
    party's lines by index (as its balance reads them) joined with the orders not final, read from the partial
    index `order_settlements_not_final` (without it: a seq scan of every order ever settled); never a scan of
    the journal. Generic plan, in a transaction rolled back."""
    tag = uuid.uuid4().hex[:6]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(_ORDERS_AND_SALES, tag, 5 * ROWS)
            await conn.execute("ANALYZE order_settlements, journal_entries, journal_lines")
            sql = str(held_query(f"dealer:PL-{tag}-7", "CNY").compile(dialect=asyncpg_dialect()))
            plan = await generic_plan(conn, sql)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    assert "Seq Scan" not in plan, plan
    assert "order_settlements_not_final" in plan, plan
