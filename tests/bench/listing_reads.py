"""`python -m tests.bench.listing_reads [--orders 200000]`: what a ListOrders page filtered by a status costs
as history grows (orders' adapters/order_listing.py), on one embedded PostgreSQL with orders' schema at head.

The history: `--orders` COMPLETED orders, half sold by dealer D (shipped from its shop), the rest the brand's
from the warehouse WH; then what is in flight now (a campaign day): `--paid` PAID orders of the brand to ship from
WH, 30 PAID and 20 RESERVED orders of D at its shop, 5 FULFILLING orders split between WH and D's shop (one part
shipped). Each page (limit 100, as the portals ask) runs three times, and the last run's execution time of its
generic plan (what the service's prepared statement runs) is printed twice: with the in-flight indexes of orders
migration 0020, and with them dropped (the baseline: the same statements on 0019's indexes, walking the
dealer's or location's history until the page is full, which the last page of a short list never is). Pages
with a status in flight should not follow `--orders`; pages of history (no status) need no in-flight index.
"""

from __future__ import annotations

import asyncio
import re
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
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

_ORDERS = """
INSERT INTO orders (id, channel_id, external_order_id, status, currency, customer, fulfillment, shortfalls,
                    created_at, updated_at, customer_id, dealer_id, status_reason, payment_ref, reservation_id,
                    reserve_attempt, payment_ttl_seconds)
SELECT $2 || i, 'ch' || (i % 5), $2 || i, $3, 'CNY', '{}'::jsonb, '{}'::jsonb, '[]'::jsonb,
       now() - make_interval(secs => $4 + $1 - i), now(), 'cust' || (i % 5000),
       CASE WHEN i % $5 = 0 THEN 'D' ELSE '' END, '', '', 'r' || i, 1, 900
  FROM generate_series(1, $1) i
"""
# One fulfillment each, at D's shop for D's orders, else at WH; a FULFILLING order also has one at the other.
_FULFILLMENTS = """
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines)
SELECT o.id || '-f', o.id, 0, CASE WHEN o.dealer_id = 'D' THEN 'SHOP-D' ELSE 'WH' END, o.dealer_id,
       CASE WHEN o.status IN ('COMPLETED', 'FULFILLING') THEN 'SHIPPED' ELSE 'PENDING' END, '', '[]'
  FROM orders o WHERE o.id LIKE $1 || '%'
"""
_SECOND = """
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines)
SELECT o.id || '-g', o.id, 1, CASE WHEN o.dealer_id = 'D' THEN 'WH' ELSE 'SHOP-D' END,
       CASE WHEN o.dealer_id = 'D' THEN '' ELSE 'D' END, 'PENDING', '', '[]'
  FROM orders o WHERE o.status = 'FULFILLING'
"""
PAGES = {
    "dealer D, PAID": ListOrders(dealer_id="D", status=OrderStatus.PAID),
    "location WH, PAID": ListOrders(location_id="WH", status=OrderStatus.PAID),
    "location SHOP-D, RESERVED": ListOrders(location_id="SHOP-D", status=OrderStatus.RESERVED),
    "dealer D, FULFILLING": ListOrders(dealer_id="D", status=OrderStatus.FULFILLING),
    "brand, PAID": ListOrders(status=OrderStatus.PAID),
    "channel ch1, PAID": ListOrders(channel_id="ch1", status=OrderStatus.PAID),
    "dealer D, no status": ListOrders(dealer_id="D"),
    "location WH, no status": ListOrders(location_id="WH"),
}
IN_FLIGHT_INDEXES = [
    "orders_in_flight",
    "orders_in_flight_by_dealer",
    "fulfillments_to_leave_by_owner",
    "fulfillments_to_leave_by_location",
]


def _statement(query: ListOrders) -> tuple[str, list[Any]]:
    compiled = list_query(query).compile(dialect=asyncpg_dialect())
    return str(compiled), [compiled.params[name] for name in compiled.positiontup or []]


async def _timed(conn: asyncpg.Connection, query: ListOrders) -> tuple[float, str]:
    """The generic plan's execution time (what the service's prepared statement runs after five executions)."""
    sql, params = _statement(query)
    for _ in range(3):
        plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)]
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))  # type: ignore[union-attr]
    found = re.findall(r"(?:Index|Index Only|Seq) Scan(?: Backward)? (?:using (\w+) )?on (\w+)", "\n".join(plan))
    return ms, ", ".join(sorted({index or f"seq {table}" for index, table in found}))


async def _run(orders: int, paid: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        pg.start()
        try:
            url = pg.create_database("listing")
            await upgrade(BY_NAME["orders"].migrations, url, "orders")
            conn = await asyncpg.connect(url.replace("+asyncpg", ""), server_settings={"search_path": "orders"})
            await conn.execute(_ORDERS, orders, "h", "COMPLETED", 3600, 2)
            await conn.execute(_ORDERS, paid, "b", "PAID", 0, paid + 1)  # the brand's, none D's
            await conn.execute(_ORDERS, 30, "p", "PAID", 0, 1)
            await conn.execute(_ORDERS, 5, "g", "FULFILLING", 0, 2)
            await conn.execute(_ORDERS, 20, "r", "RESERVED", 0, 1)
            for tag in ("h", "b", "p", "g", "r"):
                await conn.execute(_FULFILLMENTS, tag)
            await conn.execute(_SECOND)
            for table in ("orders", "fulfillments"):
                await conn.execute(f"VACUUM ANALYZE {table}")
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            with_indexes = {name: await _timed(conn, q) for name, q in PAGES.items()}
            for index in IN_FLIGHT_INDEXES:
                await conn.execute(f"DROP INDEX {index}")
            without = {name: await _timed(conn, q) for name, q in PAGES.items()}
            await conn.close()
        finally:
            pg.stop()
    print(f"ListOrders pages (limit 100) over {orders:,} orders of history, {paid:,} paid; execution time, ms")
    print(f"{'page':<28}{'0020 (in flight)':>18}{'0019 (baseline)':>18}  indexes read with 0020")
    for name in PAGES:
        (ms, scans), (base, _) = with_indexes[name], without[name]
        print(f"{name:<28}{ms:>18.2f}{base:>18.2f}  {scans}")


def main(
    orders: Annotated[int, typer.Option(help="COMPLETED orders in the history, half of them D's.")] = 200_000,
    paid: Annotated[int, typer.Option(help="The brand's PAID orders to ship from WH (a campaign day).")] = 30_000,
) -> None:
    """What a ListOrders page filtered by a status costs on a long history."""
    asyncio.run(_run(orders, paid))


if __name__ == "__main__":
    typer.run(main)
