"""`python -m tests.bench.waiting_reads [--orders 100000]`: what the stuck-orders reads cost (orders'
adapters/waiting.py: the gauges' `COUNTS` every 30 s on every replica, and `onepool orders stuck`'s `STUCK`), on
one embedded PostgreSQL with orders' schema at head and a history of orders: 0.5 % RESERVED, 0.05 % PENDING,
0.1 % DEPOSIT_PAID past their balance deadline, 2 % PAID still to ship, 10 % CANCELLED, the rest COMPLETED; two
lines each, one line in 37 waiting for goods promised up to 4 hours ago; two stock requests an order, a few open
or refused. Prints each read's plan (EXPLAIN ANALYZE, the third of three runs) and its execution time: every
branch should read a partial index, none the history.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from onepool_cli.services import BY_NAME
from onepool_orders.adapters import waiting
from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.migrations import upgrade

_SEED = """
INSERT INTO orders (id, channel_id, external_order_id, status, currency, customer, fulfillment, shortfalls,
                    created_at, updated_at, reservation_expires_at, next_recovery_at, balance_due_at,
                    customer_id, dealer_id, status_reason, payment_ref, reservation_id, reserve_attempt,
                    payment_ttl_seconds)
SELECT 'o' || i, 'ch' || (i % 20), 'x' || i,
       CASE WHEN i % 2000 = 0 THEN 'PENDING' WHEN i % 200 = 1 THEN 'RESERVED' WHEN i % 1000 = 2 THEN 'DEPOSIT_PAID'
            WHEN i % 50 = 5 THEN 'PAID' WHEN i % 10 = 3 THEN 'CANCELLED' ELSE 'COMPLETED' END,
       'CNY', '{"name": "some buyer", "phone": "13800000000"}'::jsonb,
       '{"mode": "SHIP", "region": "CN-SH", "address": "1 Nanjing Rd"}'::jsonb, '[]'::jsonb,
       now() - make_interval(secs => $1 - i), now(), now() + interval '10 minutes',
       CASE WHEN i % 2000 = 0 THEN now() END, CASE WHEN i % 1000 = 2 THEN now() - interval '1 minute' END,
       'cust' || (i % 5000), '', '', '', 'r' || i, 0, 900
  FROM generate_series(1, $1) i
"""
_LINES = """
INSERT INTO order_lines (order_id, sku, line_no, quantity, unit_price_minor, discount_minor, channel_sku,
                         returned_quantity, awaiting_quantity, promised_at)
SELECT 'o' || i, 'S' || j, j, 2, 100, 0, '', 0,
       CASE WHEN i % 37 = 0 AND j = 1 THEN 1 ELSE 0 END,
       CASE WHEN i % 37 = 0 AND j = 1 THEN now() - make_interval(hours => i % 5) END
  FROM generate_series(1, $1) i, generate_series(1, 2) j
"""
_REQUESTS = """
INSERT INTO stock_requests (order_id, kind, payload, attempts, not_before, done_at, failed_at, last_error, created_at)
SELECT 'o' || (i / 2), 'commit', '{"reservation_id": "r"}'::jsonb, 1, now(),
       CASE WHEN i % 5000 IN (7, 8) THEN NULL ELSE now() END,
       CASE WHEN i % 5000 = 8 THEN now() END, CASE WHEN i % 5000 = 8 THEN 'FailedPrecondition: nope' END,
       now() - make_interval(secs => 2 * $1 - i)
  FROM generate_series(1, 2 * $1) i
"""


async def _run(orders: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        pg.start()
        try:
            url = pg.create_database("waiting")
            await upgrade(BY_NAME["orders"].migrations, url, "orders")
            conn = await asyncpg.connect(url.replace("+asyncpg", ""), server_settings={"search_path": "orders"})
            for statement in (_SEED, _LINES, _REQUESTS):
                await conn.execute(statement, orders)
            await conn.execute("ANALYZE orders; ANALYZE order_lines; ANALYZE stock_requests")
            stuck = waiting.STUCK.replace(":before", "now() - interval '5 minutes'").replace(":limit", "50")
            for name, sql in (("gauges (COUNTS)", waiting.COUNTS), ("orders stuck (STUCK)", stuck)):
                for _ in range(3):
                    plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)]
                print(f"===== {name}")
                print("\n".join(plan))
            await conn.close()
        finally:
            pg.stop()


def main(orders: Annotated[int, typer.Option(help="Orders in the history.")] = 100_000) -> None:
    """What the stuck-orders reads cost on a history of orders."""
    asyncio.run(_run(orders))


if __name__ == "__main__":
    typer.run(main)
