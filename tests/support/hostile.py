"""A small real world for hostile-input tests (all five services), and a snapshot of everything they store.

`seed` lays out, through the public APIs, a warehouse and a shop with stock, an online channel, a dealer
with its own location and a replenishment, and a paid order, so a hostile request can name real ids and
reach deep into a handler. `snapshot` reads every table of every service schema (row count and a digest of
the rows' text), so "a refused call changed nothing" is checked against all stored state, outboxes,
idempotency keys and inboxes included. `quiesce` waits until that state stops moving (events delivered).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import nats
import sqlalchemy as sa
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.db import asyncpg_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SCHEMAS = ("inventory", "orders", "channels", "dealers", "settlement")
# Background timers parked, so stored state moves only through calls and the events they cause.
PARKED_TIMERS: dict[str, Any] = {
    "sweeper_interval_seconds": 3600.0,
    "recovery_interval_seconds": 3600.0,
}
WAIT = 20.0  # an upper bound for set-up steps, not a performance assertion
POLL_SECONDS = 0.2  # how often `Snapshots.quiesce` looks


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount_minor)


@dataclass
class Seeded:
    warehouse: str
    shop: str
    skus: list[str]
    channel_id: str
    dealer_id: str
    dealer_location: str
    replenishment_id: str
    order: opb.Order
    reservation_id: str
    ids: dict[str, list[str]] = field(default_factory=dict)


async def _until(probe: Any, *, within: float = WAIT) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            value = await probe()
            if value:
                return value
        except Exception:
            if loop.time() > deadline:
                raise
        if loop.time() > deadline:
            raise AssertionError("set-up condition never held")
        await asyncio.sleep(0.1)


async def seed(stack: Any, admin: Any) -> Seeded:
    inventory, channels, orders, dealers = (stack.stub(n) for n in ("inventory", "channels", "orders", "dealers"))
    warehouse, shop = uid("WH"), uid("SHOP")
    for location_id, type_ in ((warehouse, ipb.LOCATION_TYPE_WAREHOUSE), (shop, ipb.LOCATION_TYPE_STORE)):
        await inventory.UpsertLocation(
            ipb.UpsertLocationRequest(
                location=ipb.Location(id=location_id, name=location_id, type=type_, region="CN-SH", ships=True)
            ),
            metadata=admin,
        )
    skus = [uid("SKU") for _ in range(3)]
    for location_id in (warehouse, shop):
        await inventory.ReceiveStock(
            ipb.ReceiveStockRequest(
                request_id=uid("rcv"), location_id=location_id, lines=[ipb.StockLine(sku=s, quantity=50) for s in skus]
            ),
            metadata=admin,
        )
    code = uid("web").lower()
    channel = (
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=code, name="Web", type=cpb.CHANNEL_TYPE_ONLINE_STORE, currency="CNY", request_id=uid("ch")
            ),
            metadata=admin,
        )
    ).channel
    for sku in skus:
        await channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel.id, sku=sku, channel_sku=f"c-{sku}", price=cny(100), active=True
            ),
            metadata=admin,
        )
    dealer = (
        await dealers.RegisterDealer(
            dpb.RegisterDealerRequest(
                name="Dealer",
                tier=dpb.DEALER_TIER_GOLD,
                credit_limit=cny(10_000_000),
                region="CN-SH",
                request_id=uid("d"),
            ),
            metadata=admin,
        )
    ).dealer
    dealer_location = uid("DWH")
    await dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=ipb.Location(id=dealer_location, name="DWH", type=ipb.LOCATION_TYPE_DEALER_WAREHOUSE, ships=True),
        ),
        metadata=admin,
    )
    for sku in skus:
        await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(80)), metadata=admin)

    async def replenish() -> str:
        reply = await dealers.PlaceReplenishment(
            dpb.PlaceReplenishmentRequest(
                request_id=uid("rep"),
                dealer_id=dealer.id,
                from_location_id=warehouse,
                to_location_id=dealer_location,
                lines=[dpb.ReplenishmentLine(sku=skus[0], quantity=1)],
            ),
            metadata=admin,
        )
        return str(reply.replenishment.id)

    replenishment_id = await _until(replenish)  # the dealer's location reaches inventory by event

    async def place() -> opb.Order:
        reply = await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=channel.id,
                external_order_id=uid("EXT"),
                customer=opb.Customer(phone="13800000000", name="Ann"),
                lines=[opb.OrderLine(sku=skus[1], quantity=2, unit_price=cny(100))],
                fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="1 Rd"),
            ),
            metadata=admin,
        )
        return reply.order if reply.order.status == opb.ORDER_STATUS_RESERVED else None  # type: ignore[return-value]

    order = await _until(place)  # the channel reaches inventory by event
    order = (
        await orders.PayOrder(
            opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total), metadata=admin
        )
    ).order
    return Seeded(
        warehouse=warehouse,
        shop=shop,
        skus=skus,
        channel_id=channel.id,
        dealer_id=dealer.id,
        dealer_location=dealer_location,
        replenishment_id=replenishment_id,
        order=order,
        reservation_id=order.reservation_id,
    )


class Snapshots:
    """Row count and a digest of the rows of every table in the five service schemas."""

    def __init__(self, database_url: str, nats_url: str = "") -> None:
        self.engine: AsyncEngine = create_async_engine(asyncpg_url(database_url), pool_size=2)
        self.nats_url = nats_url  # where `in_flight` asks the durable consumers (none: only the outboxes)
        self._query: str | None = None

    async def close(self) -> None:
        await self.engine.dispose()

    async def take(self) -> dict[str, tuple[int, str]]:
        async with self.engine.connect() as conn:
            if self._query is None:
                rows = await conn.execute(
                    sa.text(
                        "SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema = ANY(:schemas) AND table_type = 'BASE TABLE' ORDER BY 1, 2"
                    ),
                    {"schemas": list(SCHEMAS)},
                )
                # One statement for every table: a consistent view, and one round trip.
                self._query = " UNION ALL ".join(
                    f"SELECT '{s}.{t}', count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') "
                    f'FROM "{s}"."{t}" r'
                    for s, t in rows
                )
            result = await conn.execute(sa.text(self._query))
            return {str(name): (int(count), str(digest)) for name, count, digest in result}

    async def in_flight(self) -> list[str]:
        """What is still on its way: outbox rows not yet published, and messages a durable consumer has not been
        given or has not acknowledged yet (a nak'ed one waiting for its redelivery included)."""
        busy: list[str] = []
        async with self.engine.connect() as conn:
            for schema in SCHEMAS:
                unpublished = await conn.scalar(
                    sa.text(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
                )
                if unpublished:
                    busy.append(f"{schema}.outbox: {unpublished} unpublished")
        if self.nats_url:
            nc = await nats.connect(self.nats_url, allow_reconnect=False)
            try:
                js = nc.jetstream()
                for stream in await js.streams_info():
                    for info in await js.consumers_info(str(stream.config.name)):
                        if info.num_pending or info.num_ack_pending:
                            busy.append(f"{info.name}: {info.num_pending} pending, {info.num_ack_pending} unacked")
            finally:
                await nc.close()
        return busy

    async def quiesce(
        self, *, within: float = 60.0, still: float = 1.0, brief: float | None = None
    ) -> dict[str, tuple[int, str]]:
        """Wait until the state stops moving (events delivered, outboxes relayed): unchanged for `still` seconds,
        or, with `brief`, unchanged for `brief` seconds with nothing `in_flight`. Snapshots are taken every
        POLL_SECONDS, so a change is seen (and the wait restarted) within that, not only at the end of a wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        last = await self.take()
        since = loop.time()  # when `last` was first seen: the state has been unchanged at least this long
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = await self.take()
            if now != last:
                if loop.time() > deadline:
                    raise AssertionError(f"state never settled: {diff(last, now)}")
                last, since = now, loop.time()
                continue
            unchanged = loop.time() - since
            if unchanged >= still or (brief is not None and unchanged >= brief and not await self.in_flight()):
                return last


def diff(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> dict[str, Any]:
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
