"""ListOrders by dealer or location reads ranges of indexes, never the whole order history (adapters/
order_listing.py), and answers what it answered before: every filter, newest first by (created_at, id), paged.

Before, `dealer_id = X OR EXISTS (a fulfillment owned by X)` kept PostgreSQL off `orders_by_dealer`: it walked
`orders_by_created` backwards, filtering every order ever placed (2M orders: 0.47 s for a dealer with no orders,
1.7 s for a location). The statement is the one `OrderRepository.search` runs, taken from it; the plans are the
generic ones (what its prepared statement runs after five executions) over a few thousand analysed rows, inside
a transaction that is rolled back."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from onepool_orders.adapters.repository import OrderRepository
from onepool_orders.domain.commands import ListOrders
from onepool_orders.domain.model import FULFILLMENTS_WHILE, OrderStatus
from onepool_runtime import db
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.plans import generic_plan
from sqlalchemy import Select, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from .conftest import MIGRATIONS

pytestmark = pytest.mark.asyncio


class _Taken(Exception):
    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt


class _Taker:
    async def execute(self, stmt: Select[Any]) -> None:
        raise _Taken(stmt)


async def _statement(query: ListOrders) -> Select[Any]:
    """The statement ListOrders runs for `query` (the ids of a page)."""
    try:
        await OrderRepository(_Taker(), None).search(query)  # type: ignore[arg-type]
    except _Taken as taken:
        return taken.stmt
    raise AssertionError("search ran no statement")


@pytest.fixture
async def rolled_back(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    async with sessions() as session:
        conn = await session.connection()
        await conn.execute(text("SELECT 1"))  # BEGIN now: the rows below are written on the driver's connection
        pg = (await conn.get_raw_connection()).driver_connection
        assert pg is not None and pg.is_in_transaction()
        try:
            yield conn
        finally:
            await session.rollback()


_ORDER = """
INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                    total_minor, paid_minor, payment_ref, reservation_id, reserve_attempt, payment_ttl_seconds,
                    customer, fulfillment, shortfalls, created_at, updated_at, revision)
VALUES ($1, $2, $3, $4, $5, $6, '', 'CNY', 100, 100, '', '', 1, 0, '{}', '{}', '[]', $7, $7, 1)
"""
# No order_created_at: the trigger copies it from the order, as for rows a previous release writes.
_FULFILLMENT = """
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines)
VALUES ($1, $2, $3, $4, $5, $6, '', '[]')
"""


@dataclass(frozen=True)
class _Order:
    id: str
    channel_id: str
    customer_id: str
    dealer_id: str
    status: str
    created_at: datetime
    fulfilled: tuple[tuple[str, str], ...]  # (location_id, owner_dealer_id)
    fulfillment_statuses: tuple[str, ...]

    def matches(self, q: ListOrders) -> bool:
        return (
            (not q.channel_id or self.channel_id == q.channel_id)
            and (not q.customer_id or self.customer_id == q.customer_id)
            and (q.status is None or self.status == q.status.value)
            and (not q.dealer_id or self.dealer_id == q.dealer_id or any(o == q.dealer_id for _, o in self.fulfilled))
            and (not q.location_id or any(loc == q.location_id for loc, _ in self.fulfilled))
        )


def _history(tag: str) -> list[_Order]:
    """Orders in every status, sold by dealers A, B or the brand, fulfilled (zero to three times) at L1..L3 by A,
    B or the brand, each fulfillment in a status the domain allows its order's (FULFILLMENTS_WHILE); several
    placed at the same instant, so the id breaks ties."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    orders = []
    for n in range(400):
        status = rng.choice(list(OrderStatus))
        allowed = sorted(FULFILLMENTS_WHILE[status])
        count = rng.randrange(1, 4) if allowed else 0
        orders.append(
            _Order(
                f"{tag}-{n:03}",
                rng.choice(["c1", "c2"]),
                rng.choice(["u1", "u2"]),
                rng.choice(["A", "B", ""]),
                status.value,
                start + timedelta(minutes=rng.randrange(40)),
                tuple((rng.choice(["L1", "L2", "L3"]), rng.choice(["A", "B", ""])) for _ in range(count)),
                tuple(rng.choice(allowed).value for _ in range(count)),
            )
        )
    return orders


async def _insert(conn: AsyncConnection, orders: list[_Order]) -> None:
    pg = (await conn.get_raw_connection()).driver_connection
    assert pg is not None
    await pg.executemany(
        _ORDER, [(o.id, o.channel_id, o.id, o.customer_id, o.dealer_id, o.status, o.created_at) for o in orders]
    )
    await pg.executemany(
        _FULFILLMENT,
        [
            (f"{o.id}-f{i}", o.id, i, loc, owner, o.fulfillment_statuses[i])
            for o in orders
            for i, (loc, owner) in enumerate(o.fulfilled)
        ],
    )


async def test_pages_by_dealer_and_location_list_what_every_filter_matches_newest_first(
    rolled_back: AsyncConnection,
) -> None:
    orders = _history("LO")
    await _insert(rolled_back, orders)
    by_id = {o.id: o for o in orders}
    by_status = [
        ListOrders(**where, status=status)  # type: ignore[arg-type]
        for status in OrderStatus
        for where in ({"dealer_id": "B"}, {"dealer_id": "A", "location_id": "L2"}, {"location_id": "L1"}, {})
    ]
    for query in [
        ListOrders(dealer_id="A"),
        ListOrders(dealer_id="A", location_id="L2"),
        ListOrders(dealer_id="A", channel_id="c1", customer_id="u2"),
        ListOrders(dealer_id="nobody"),
        ListOrders(location_id="L1"),
        ListOrders(location_id="L3", status=OrderStatus.COMPLETED, channel_id="c2"),
        ListOrders(location_id="L3", status=OrderStatus.FULFILLING, channel_id="c2"),
        *by_status,
    ]:
        expected = sorted((o for o in orders if o.matches(query)), key=lambda o: (o.created_at, o.id), reverse=True)
        listed: list[str] = []
        page = replace(query, limit=4)
        while True:
            ids = list((await rolled_back.execute(await _statement(page))).scalars())
            listed += ids
            if len(ids) < page.limit:
                break
            last = by_id[ids[-1]]
            page = replace(page, after=(last.created_at.isoformat(), last.id))
        assert listed == [o.id for o in expected], query
    assert any(len(o.fulfilled) > 1 and {w for _, w in o.fulfilled} == {"A"} for o in orders)  # one order, twice A's


# 4,000 orders of 50 dealers (half sold by one; the brand's fulfilled by one in ten), one fulfillment each, at a
# dealer's shop or one of five warehouses; one in a hundred PAID.
_HISTORY = """
WITH o AS (
  INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                      total_minor, paid_minor, payment_ref, reservation_id, reserve_attempt, payment_ttl_seconds,
                      customer, fulfillment, shortfalls, created_at, updated_at, revision)
  SELECT 'PL-' || n, 'ch' || (n % 5), 'PL-' || n, 'cust-' || (n % 500),
         CASE WHEN n % 2 = 1 THEN 'PL-d' || (n % 50) ELSE '' END,
         CASE WHEN n % 100 = 0 THEN 'PAID' ELSE 'COMPLETED' END, '', 'CNY', 100, 100, '', '', 1, 0, '{}', '{}',
         '[]', now() - (n * interval '1 minute'), now(), 1
    FROM generate_series(1, $1) AS n
  RETURNING id
)
INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines)
SELECT id || '-f', id, 0,
       CASE WHEN n % 2 = 1 OR n % 10 = 0 THEN 'PL-st' || (n % 50) ELSE 'PL-wh' || (n % 5) END,
       CASE WHEN n % 2 = 1 OR n % 10 = 0 THEN 'PL-d' || (n % 50) ELSE '' END,
       CASE WHEN n % 100 = 0 THEN 'PENDING' ELSE 'SHIPPED' END, '', '[]'
  FROM o, LATERAL (SELECT split_part(o.id, '-', 2)::int AS n) AS x
"""

AFTER = (datetime(2026, 1, 1, tzinfo=UTC).isoformat(), "PL-1")
# (query, the indexes its plan reads as ranges in the listing's order). A dealer's page at one location may join
# the dealer's fulfillments with the location's as the planner likes, both read by index.
PLANNED = [
    (ListOrders(dealer_id="PL-d7", limit=101), {"orders_by_dealer", "fulfillments_by_owner"}),
    (ListOrders(dealer_id="PL-new", limit=101), {"orders_by_dealer", "fulfillments_by_owner"}),
    # A status in flight reads only what is in flight (migration 0020), whatever the history behind it.
    (
        ListOrders(dealer_id="PL-d7", status=OrderStatus.PAID, limit=101),
        {"orders_in_flight_by_dealer", "fulfillments_to_leave_by_owner"},
    ),
    (ListOrders(dealer_id="PL-d7", status=OrderStatus.FULFILLING, limit=101), {"orders_in_flight"}),
    (ListOrders(location_id="PL-wh3", status=OrderStatus.RESERVED, limit=101), {"fulfillments_to_leave_by_location"}),
    (ListOrders(location_id="PL-wh3", status=OrderStatus.FULFILLING, limit=101), {"orders_in_flight"}),
    (ListOrders(status=OrderStatus.DEPOSIT_PAID, limit=101), {"orders_in_flight"}),
    (ListOrders(location_id="PL-wh3", status=OrderStatus.PENDING, limit=101), set()),  # never any fulfillment
    (ListOrders(channel_id="ch3", status=OrderStatus.PAID, limit=101), {"orders_in_flight"}),
    (ListOrders(dealer_id="PL-d7", after=AFTER, limit=101), {"orders_by_dealer", "fulfillments_by_owner"}),
    (ListOrders(dealer_id="PL-d7", location_id="PL-st7", limit=101), {"orders_by_dealer"}),
    (ListOrders(location_id="PL-wh3", limit=101), {"fulfillments_by_location"}),
    (ListOrders(location_id="PL-wh3", after=AFTER, limit=101), {"fulfillments_by_location"}),
    (ListOrders(location_id="PL-st7", status=OrderStatus.PAID, limit=101), {"fulfillments_to_leave_by_location"}),
]


async def test_a_dealer_or_location_page_reads_ranges_of_indexes_never_every_order(
    rolled_back: AsyncConnection,
) -> None:
    pg = (await rolled_back.get_raw_connection()).driver_connection
    assert pg is not None
    await pg.execute(_HISTORY, 4_000)
    await pg.execute("ANALYZE orders, fulfillments")
    for query, indexes in PLANNED:
        sql = str((await _statement(query)).compile(dialect=asyncpg_dialect()))
        plan = await generic_plan(pg, sql)
        assert "Seq Scan" not in plan and "orders_by_created" not in plan, (query, plan)
        assert all(f"Scan Backward using {index} on" in plan for index in indexes), (query, plan)


async def test_the_upgrade_gives_fulfillments_already_there_their_orders_created_at(database_url: str) -> None:
    """Migration 0015 fills in `order_created_at` on the fulfillments written before it (the trigger sets it on
    those written after), so the orders they carry are still listed by dealer and location."""
    schema = "before_keyset"
    await upgrade(MIGRATIONS, database_url, schema, "0014")
    orders = _history("UP")[:30]
    pg = await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        await pg.executemany(
            _ORDER, [(o.id, o.channel_id, o.id, o.customer_id, o.dealer_id, o.status, o.created_at) for o in orders]
        )
        await pg.executemany(
            _FULFILLMENT,
            [
                (f"{o.id}-f{i}", o.id, i, loc, owner, o.fulfillment_statuses[i])
                for o in orders
                for i, (loc, owner) in enumerate(o.fulfilled)
            ],
        )
        await upgrade(MIGRATIONS, database_url, schema)
        copied = await pg.fetch(
            "SELECT f.order_created_at, o.created_at FROM fulfillments f JOIN orders o ON o.id = f.order_id"
        )
        assert copied and all(r["order_created_at"] == r["created_at"] for r in copied)
        engine = db.create_engine(database_url, schema)
        try:
            async with engine.connect() as conn:
                listed = list((await conn.execute(await _statement(ListOrders(location_id="L1")))).scalars())
        finally:
            await engine.dispose()
        expected = sorted(
            (o for o in orders if o.matches(ListOrders(location_id="L1"))), key=lambda o: (o.created_at, o.id)
        )
        assert listed == [o.id for o in reversed(expected)]
    finally:
        await pg.close()
