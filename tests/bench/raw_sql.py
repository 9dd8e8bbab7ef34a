"""Raw-SQL baselines on the same PostgreSQL as the services (asyncpg, one pool, schema `bench_raw`).

Reserve (hot SKU): one transaction per reservation —
    UPDATE levels SET reserved = reserved + q WHERE sku/location AND on_hand - reserved >= q RETURNING
    INSERT INTO allocations (the reservation row)
    COMMIT (durable: fsync and synchronous_commit are on, as for the services)

PlaceOrder (spread rows): what placing an order must durably do at the minimum, in ONE transaction —
    INSERT INTO orders            the order (unique on channel + external id: the idempotency of intake)
    INSERT INTO order_lines       its lines (unnest: one statement for any number of lines)
    UPDATE levels ... RETURNING   the stock level of each line, conditional on availability (no oversell)
    INSERT INTO reservations      one reservation row per line, with its expiry
    INSERT INTO outbox            the `orders.order.placed` event (the real protobuf payload)
    COMMIT
A line that cannot be reserved rolls the whole order back (the service's equivalent is a REJECTED order).
It leaves out what the platform adds on top (customer identity, idempotency keys per RPC, separate services,
saga steps, events consumed by other services): those are the costs the ratio is about.

Connections: one per caller up to 64 (`MAX_CONNECTIONS`); 256 callers share 64 connections, as a
sensible server would, and the database's max_connections (300) is shared with the services' pools.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import events_pb2 as oev
from onepool.orders.v1 import facts_pb2 as ofx
from onepool.orders.v1 import orders_pb2 as opb

MAX_CONNECTIONS = 64
LOCATION = "RAW-WH"

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bench_raw;
SET search_path = bench_raw;
CREATE TABLE IF NOT EXISTS levels (
    sku text NOT NULL, location_id text NOT NULL,
    on_hand integer NOT NULL CHECK (on_hand >= 0), reserved integer NOT NULL DEFAULT 0,
    CHECK (reserved >= 0 AND reserved <= on_hand), PRIMARY KEY (sku, location_id));
CREATE TABLE IF NOT EXISTS allocations (
    id uuid PRIMARY KEY, request_id text NOT NULL UNIQUE, sku text NOT NULL, location_id text NOT NULL,
    quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY, channel_id text NOT NULL, external_order_id text NOT NULL, customer_phone text,
    status text NOT NULL, currency char(3) NOT NULL, total_minor bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (channel_id, external_order_id));
CREATE TABLE IF NOT EXISTS order_lines (
    order_id uuid NOT NULL REFERENCES orders, line_no integer NOT NULL, sku text NOT NULL,
    quantity integer NOT NULL, unit_price_minor bigint NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE IF NOT EXISTS reservations (
    id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES orders, sku text NOT NULL, location_id text NOT NULL,
    quantity integer NOT NULL, status text NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, subject text NOT NULL, payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
"""


class RawSql:
    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.pool: asyncpg.Pool | None = None

    async def open(self, connections: int) -> None:
        await self.close()
        self.pool = await asyncpg.create_pool(
            self.url,
            min_size=min(connections, MAX_CONNECTIONS),
            max_size=min(connections, MAX_CONNECTIONS),
            server_settings={"search_path": "bench_raw"},
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def setup(self, hot_sku: str, spread_skus: list[str], units: int) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(SCHEMA)
            await conn.execute(
                "INSERT INTO bench_raw.levels (sku, location_id, on_hand) SELECT s, $2, $3 FROM unnest($1::text[]) s",
                [hot_sku, *spread_skus],
                LOCATION,
                units,
            )
        finally:
            await conn.close()

    async def reserve(self, sku: str, quantity: int = 1) -> None:
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE levels SET reserved = reserved + $3 WHERE sku = $1 AND location_id = $2 "
                "AND on_hand - reserved >= $3 RETURNING reserved",
                sku,
                LOCATION,
                quantity,
            )
            if row is None:
                raise RuntimeError(f"raw reserve: {sku} is sold out")
            await conn.execute(
                "INSERT INTO allocations (id, request_id, sku, location_id, quantity) VALUES ($1, $2, $3, $4, $5)",
                uuid.uuid4(),
                uuid.uuid4().hex,
                sku,
                LOCATION,
                quantity,
            )

    async def place_order(self, channel_id: str, external_id: str, lines: list[tuple[str, int, int]]) -> None:
        """lines: (sku, quantity, unit price in minor units)."""
        assert self.pool is not None
        order_id = uuid.uuid4()
        skus = [s for s, _, _ in lines]
        quantities = [q for _, q, _ in lines]
        total = sum(q * p for _, q, p in lines)
        event = oev.OrderPlaced(
            order=opb.Order(
                id=str(order_id),
                channel_id=channel_id,
                external_order_id=external_id,
                status=opb.ORDER_STATUS_RESERVED,
                lines=[
                    opb.OrderLine(sku=s, quantity=q, unit_price=common_pb2.Money(currency="CNY", amount_minor=p))
                    for s, q, p in lines
                ],
                total=common_pb2.Money(currency="CNY", amount_minor=total),
            ),
            facts=ofx.OrderFacts(
                order_id=str(order_id),
                channel_id=channel_id,
                lines=[
                    ofx.OrderLineFacts(sku=s, quantity=q, unit_price=common_pb2.Money(currency="CNY", amount_minor=p))
                    for s, q, p in lines
                ],
                total=common_pb2.Money(currency="CNY", amount_minor=total),
                is_open=True,
            ),
        )
        event_id = uuid.uuid4()
        event.meta.event_id = str(event_id)
        expires = datetime.now(UTC) + timedelta(minutes=15)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO orders (id, channel_id, external_order_id, customer_phone, status, currency, total_minor) "
                "VALUES ($1, $2, $3, $4, 'RESERVED', 'CNY', $5)",
                order_id,
                channel_id,
                external_id,
                "13800000000",
                total,
            )
            await conn.execute(
                "INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_minor) "
                "SELECT $1, n, s, q, p "
                "FROM unnest($2::text[], $3::int[], $4::bigint[]) WITH ORDINALITY AS l(s, q, p, n)",
                order_id,
                skus,
                quantities,
                [p for _, _, p in lines],
            )
            reserved = await conn.fetch(
                "UPDATE levels l SET reserved = l.reserved + w.q FROM unnest($1::text[], $2::int[]) AS w(s, q) "
                "WHERE l.sku = w.s AND l.location_id = $3 AND l.on_hand - l.reserved >= w.q RETURNING l.sku",
                skus,
                quantities,
                LOCATION,
            )
            if len(reserved) != len(lines):
                raise RuntimeError("raw place order: a line is sold out")
            await conn.execute(
                "INSERT INTO reservations (id, order_id, sku, location_id, quantity, status, expires_at) "
                "SELECT gen_random_uuid(), $1, s, $4, q, 'ACTIVE', $5 FROM unnest($2::text[], $3::int[]) AS w(s, q)",
                order_id,
                skus,
                quantities,
                LOCATION,
                expires,
            )
            await conn.execute(
                "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, 'orders.order.placed', $2)",
                event_id,
                event.SerializeToString(),
            )
