"""Migration 0016 gives the orders already there their return deadline: those whose goods all left get when the
last left plus their channel's window (closed already when that passed, without an event: readers counted them
final under the rule of their time); an order with goods still to leave, or cancelled, gets none. The orders are
filled in batches, each committed on its own, so the batches' edges must lose no order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from onepool_runtime.migrations import upgrade

from .conftest import MIGRATIONS

pytestmark = pytest.mark.asyncio

_ORDER = """
INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                    total_minor, paid_minor, payment_ref, reservation_id, reserve_attempt, payment_ttl_seconds,
                    customer, fulfillment, shortfalls, created_at, updated_at, revision)
VALUES ($1, $2, $1, 'cust', '', $3, '', 'CNY', 100, 100, '', '', 1, 0, '{}', '{}', '[]', $4, $4, 1)
"""
_FULFILLMENT = """
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines, shipped_at)
VALUES ($1, $2, $3, 'L1', '', $4, '', '[]', $5)
"""


# Orders filling more than one of the migration's batches (10,000), all shipped lately.
_MANY = 10_005
_MANY_ORDERS = f"""
INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                    total_minor, paid_minor, payment_ref, reservation_id, reserve_attempt, payment_ttl_seconds,
                    customer, fulfillment, shortfalls, created_at, updated_at, revision)
SELECT 'm-' || lpad(i::text, 6, '0'), 'C-STD', 'm-' || i, 'cust', '', 'SHIPPED', '', 'CNY', 100, 100, '', '', 1, 0,
       '{{}}', '{{}}', '[]', $1, $1, 1
  FROM generate_series(1, {_MANY}) i
"""
_MANY_FULFILLMENTS = """
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines, shipped_at)
SELECT id || '-f0', id, 0, 'L1', '', 'SHIPPED', '', '[]', $1 FROM orders WHERE id LIKE 'm-%'
"""


async def test_the_upgrade_fixes_the_deadline_of_orders_whose_goods_left(database_url: str) -> None:
    schema = "before_return_window"
    await upgrade(MIGRATIONS, database_url, schema, "0015")
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago, lately = now - timedelta(days=30), now - timedelta(days=2)
    week = timedelta(days=7)  # every channel's window after the upgrade (orders' copy of channels: 7 days)
    # (order, status, its fulfillments as (status, shipped_at)) -> (returnable_until, return_window_closed)
    cases = {
        ("o-old", "COMPLETED", (("SHIPPED", long_ago),)): (long_ago + week, True),
        ("o-recent", "SHIPPED", (("SHIPPED", lately - timedelta(hours=1)), ("SHIPPED", lately))): (
            lately + week,
            False,
        ),
        ("o-split", "SHIPPED", (("PICKED_UP", lately), ("CANCELLED", None))): (lately + week, False),
        ("o-waiting", "FULFILLING", (("SHIPPED", lately), ("PENDING", None))): (None, False),
        ("o-cancelled", "CANCELLED", (("CANCELLED", None),)): (None, False),
        ("o-paid", "PAID", (("PENDING", None),)): (None, False),
    }
    pg = await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        await pg.execute("INSERT INTO customers (id, created_at) VALUES ('cust', now())")
        for order_id, status, fulfillments in cases:
            await pg.execute(_ORDER, order_id, "C-STD", status, long_ago - timedelta(days=1))
            for i, (f_status, shipped_at) in enumerate(fulfillments):
                await pg.execute(_FULFILLMENT, f"{order_id}-f{i}", order_id, i, f_status, shipped_at)
        await pg.execute(_MANY_ORDERS, long_ago)
        await pg.execute(_MANY_FULFILLMENTS, lately)
        await upgrade(MIGRATIONS, database_url, schema)
        rows = await pg.fetch("SELECT id, returnable_until, return_window_closed FROM orders WHERE id LIKE 'o-%'")
        assert {r["id"]: (r["returnable_until"], r["return_window_closed"]) for r in rows} == {
            order_id: expected for (order_id, *_), expected in cases.items()
        }
        many = await pg.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE returnable_until = $1 AND NOT return_window_closed) AS ok"
            " FROM orders WHERE id LIKE 'm-%'",
            lately + week,
        )
        assert (many["n"], many["ok"]) == (_MANY, _MANY)
    finally:
        await pg.close()
