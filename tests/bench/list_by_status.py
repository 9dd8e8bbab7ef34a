"""`python -m tests.bench.list_by_status [--history 200000]`: what ListOrders by dealer or location with a status
costs when the dealer has a long history and few orders in that status (orders' adapters/order_listing.py), on
one embedded PostgreSQL with orders' schema at head. Dealer `D` fulfills `--history` orders at its shop `LD`
(sold by the brand), 10 of them PAID and 10 CANCELLED, spread over the history, the rest COMPLETED; dealer `S`
sells as many, as few PAID; 300,000 orders of others fulfilled at a warehouse, 5 % PAID and 5 % CANCELLED.
Prints each page's plan (EXPLAIN ANALYZE, the third of three runs), both the custom plan (values inlined) and the
generic one a prepared statement settles on (asyncpg's cache): every path should read only the matching
orders, never the dealer's history.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from onepool_cli.services import BY_NAME
from onepool_orders.adapters.order_listing import list_query
from onepool_orders.domain.commands import ListOrders
from onepool_orders.domain.model import OrderStatus
from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.migrations import upgrade
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

# $1 orders prefixed $2, sold by $2 when $3; $6 in 100,000 PAID and as many CANCELLED (at least one of each in
# $1 / 10), the rest COMPLETED; fulfilled at $4 by $5.
_SEED = """
WITH o AS (
  INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                      total_minor, paid_minor, payment_ref, reservation_id, reserve_attempt, payment_ttl_seconds,
                      customer, fulfillment, shortfalls, created_at, updated_at, revision)
  SELECT $2 || '-' || n, 'ch' || (n % 5), $2 || '-' || n, 'cust-' || (n % 5000),
         CASE WHEN $3 THEN $2 ELSE '' END,
         CASE WHEN n % ($1 / 10) = 7 OR n % 100000 < $6 THEN 'PAID'
              WHEN n % ($1 / 10) = 8 OR n % 100000 >= 100000 - $6 THEN 'CANCELLED' ELSE 'COMPLETED' END,
         '', 'CNY', 100, 100, '', '', 1, 0, '{}', '{}', '[]', now() - (n * interval '1 minute'), now(), 1
    FROM generate_series(1, $1) AS n
  RETURNING id, created_at
)
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines,
                          order_created_at)
SELECT id || '-f', id, 0, $4, $5, 'SHIPPED', '', '[]', created_at FROM o
"""

QUERIES = {
    "dealer D (fulfills), PAID": ListOrders(dealer_id="D", status=OrderStatus.PAID, limit=50),
    "location LD, PAID": ListOrders(location_id="LD", status=OrderStatus.PAID, limit=50),
    "dealer S (sells), PAID": ListOrders(dealer_id="S", status=OrderStatus.PAID, limit=50),
    "dealer D (fulfills), CANCELLED": ListOrders(dealer_id="D", status=OrderStatus.CANCELLED, limit=50),
    "location LD, CANCELLED": ListOrders(location_id="LD", status=OrderStatus.CANCELLED, limit=50),
    "dealer D, no status": ListOrders(dealer_id="D", limit=50),
}


_INLINE = {"literal_binds": True}


async def _explain(conn: asyncpg.Connection, compiled: Any, generic: bool = False) -> str:
    sql = str(compiled)
    values: list[Any] = []
    if generic:
        values = [compiled.params[name] for name in compiled.positiontup]
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE listed AS {sql}")
        sql = f"EXECUTE listed({', '.join(_literal(v) for v in values)})"
    try:
        for _ in range(3):
            plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)]
    finally:
        if generic:
            await conn.execute("DEALLOCATE listed; RESET plan_cache_mode")
    return "\n".join(plan)


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


async def _run(history: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        pg.start()
        try:
            url = pg.create_database("listing")
            await upgrade(BY_NAME["orders"].migrations, url, "orders")
            conn = await asyncpg.connect(url.replace("+asyncpg", ""), server_settings={"search_path": "orders"})
            await conn.execute(_SEED, history, "D", False, "LD", "D", 0)
            await conn.execute(_SEED, history, "S", True, "WS", "", 0)
            await conn.execute(_SEED, 300_000, "X", True, "WH", "X", 5_000)
            for table in ("orders", "fulfillments"):
                await conn.execute(f"VACUUM ANALYZE {table}")
            for name, query in QUERIES.items():
                print(f"===== {name}, custom plan")
                print(
                    await _explain(
                        conn, list_query(query).compile(dialect=postgresql.dialect(), compile_kwargs=_INLINE)
                    )
                )
                print(f"===== {name}, generic plan")
                print(await _explain(conn, list_query(query).compile(dialect=asyncpg_dialect()), generic=True))
            await conn.close()
        finally:
            pg.stop()


def main(history: Annotated[int, typer.Option(help="Orders the dealers D and S each have.")] = 200_000) -> None:
    """What ListOrders by dealer or location with a status costs on a long history."""
    asyncio.run(_run(history))


if __name__ == "__main__":
    typer.run(main)
