"""What must hold after a fault, checked from the outside: the gRPC APIs, the JetStream API for consumers and
dead letters, and (the one thing no API shows) a read-only SQL count of each service's unpublished outbox rows.

`wait_quiet` first gives the system a bounded time to settle (sweepers, recovery loops, redeliveries after
`ack_wait`): it polls until nothing is left to do. `check_run` then lists every violation it finds; an empty
list is the target.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import nats
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.errors import NotFoundError
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.consumer import DLQ_STREAM
from onepool_runtime.messaging import server_urls

from tests.faults.supervisor import SERVICE_NAMES, FaultStack
from tests.faults.workload import Client, RunData, World

# Orders that hold or consumed stock (a REJECTED or CANCELLED order holds none).
ALIVE = {
    opb.ORDER_STATUS_RESERVED,
    opb.ORDER_STATUS_PAID,
    opb.ORDER_STATUS_READY_FOR_PICKUP,
    opb.ORDER_STATUS_FULFILLING,
    opb.ORDER_STATUS_SHIPPED,
    opb.ORDER_STATUS_COMPLETED,
}
EXPIRY_GRACE_SECONDS = 5.0  # sweeper interval + the expiry event's trip to orders, on a busy machine
# A reservation expiring this soon is work still scheduled: quiet waits for it. Without this, a short-TTL order
# placed near the end expired during check_run, and channels (one event behind for a moment) were blamed.
# (Far below the default 15-minute payment TTL, far above the workload's 3 s one.)
SCHEDULED_WITHIN_SECONDS = 60.0


@dataclass
class Settled:
    seconds: float
    quiet: bool
    waiting_for: list[str] = field(default_factory=list)


async def dead_letters(stack: FaultStack) -> dict[str, int]:
    """Messages in the DLQ stream per subject (dlq.<service>.<consumer>)."""
    nc = await nats.connect(server_urls(stack.nats.url), allow_reconnect=False)
    try:
        info = await nc.jetstream().stream_info(DLQ_STREAM, subjects_filter="dlq.>")
        return dict(info.state.subjects or {})
    except NotFoundError:
        return {}
    finally:
        await nc.close()


async def consumers_busy(stack: FaultStack) -> list[str]:
    """Durable consumers with messages not yet delivered or not yet acknowledged."""
    nc = await nats.connect(server_urls(stack.nats.url), allow_reconnect=False)
    busy = []
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            name = stream.config.name
            if name is None or name == DLQ_STREAM:
                continue
            for info in await js.consumers_info(name):
                if info.num_pending or info.num_ack_pending:
                    busy.append(f"{info.name}: {info.num_pending} pending, {info.num_ack_pending} unacked")
    finally:
        await nc.close()
    return busy


async def outbox_backlog(stack: FaultStack) -> dict[str, int]:
    """Unpublished outbox rows per service (SQL: no API exposes the outbox)."""
    found = {}
    for schema in SERVICE_NAMES:
        rows = await stack.sql(f'SELECT count(*) AS n FROM "{schema}".outbox WHERE published_at IS NULL')
        found[schema] = int(rows[0]["n"])
    return {k: v for k, v in found.items() if v}


async def run_orders(client: Client, world: World, run: RunData) -> list[opb.Order]:
    """Every order of this run, as ListOrders reports it (newest first; stop past the run's start)."""
    found = []
    for channel_id in world.channel_ids:
        token = ""
        while True:
            reply = await client.call(
                "ListOrders",
                client.orders.ListOrders,
                opb.ListOrdersRequest(channel_id=channel_id, page_size=500, page_token=token),
            )
            found += [o for o in reply.orders if o.external_order_id.startswith(f"{run.tag}-")]
            older = reply.orders and reply.orders[-1].created_at.seconds < run.started_at - 120
            token = reply.next_page_token
            if not token or older:
                break
    return found


def _overdue(order: opb.Order, now: float) -> bool:
    expires = order.reservation_expires_at
    return order.status == opb.ORDER_STATUS_RESERVED and expires.seconds and expires.seconds < now


async def channel_stock_mismatches(client: Client, world: World, run: RunData) -> list[str]:
    found = []
    for channel_id in world.channel_ids:
        listed = await client.call(
            "GetChannelStock",
            client.channels.GetChannelStock,
            cpb.GetChannelStockRequest(channel_id=channel_id, skus=run.skus),
        )
        pool = await client.call(
            "GetAvailability",
            client.inventory.GetAvailability,
            ipb.GetAvailabilityRequest(skus=run.skus, channel_id=channel_id),
        )
        inventory_says = {a.sku: a.available for a in pool.items}
        for item in listed.items:
            if item.sellable != inventory_says.get(item.sku, 0):
                found.append(
                    f"channel stock {channel_id}/{item.sku}: channels {item.sellable}, "
                    f"inventory {inventory_says.get(item.sku, 0)}"
                )
    return found


async def wait_quiet(stack: FaultStack, client: Client, world: World, run: RunData, within: float) -> Settled:
    """Poll until no consumer, outbox, saga, sweeper or stock feed has work left, none scheduled soon either
    (a short-TTL reservation about to expire), or `within` passes."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting: list[str] = []
    while True:
        waiting = []
        try:
            if backlog := await outbox_backlog(stack):
                waiting.append(f"outbox {backlog}")
            waiting += await consumers_busy(stack)
            orders = await run_orders(client, world, run)
            now = time.time()
            pending = sum(o.status == opb.ORDER_STATUS_PENDING for o in orders)
            expiring = sum(_overdue(o, now + SCHEDULED_WITHIN_SECONDS) for o in orders)
            if pending or expiring:
                waiting.append(f"{pending} orders PENDING, {expiring} RESERVED expiring or past expiry")
            if not waiting:
                waiting += await channel_stock_mismatches(client, world, run)
            if not waiting:  # e.g. a release still queued in orders after a crash (its lease must lapse)
                waiting += await stock_violations(client, world, run, orders)
        except Exception as exc:  # a service still coming back: keep waiting
            waiting.append(f"not answering: {exc!r}"[:200])
        if not waiting:
            return Settled(loop.time() - started, True)
        if loop.time() - started > within:
            return Settled(loop.time() - started, False, waiting)
        await asyncio.sleep(1.0)


async def check_run(client: Client, world: World, run: RunData, stack: FaultStack) -> list[str]:
    violations: list[str] = []
    orders = await run_orders(client, world, run)
    now = time.time()

    # One order per external id, and it is the one the driver was answered with.
    per_external = Counter((o.channel_id, o.external_order_id) for o in orders)
    violations += [f"{n} orders for external id {ext}" for (_, ext), n in per_external.items() if n > 1]
    by_external = {o.external_order_id: o for o in orders}
    for placed in run.placed:
        listed = by_external.get(placed.external_id)
        if placed.order_id and listed is None:
            violations.append(f"{placed.external_id}: answered with {placed.order_id}, not listed")
        elif placed.order_id and listed is not None and listed.id != placed.order_id:
            violations.append(f"{placed.external_id}: answered with {placed.order_id}, listed as {listed.id}")

    # No order stuck PENDING, none RESERVED past its expiry.
    for o in orders:
        if o.status == opb.ORDER_STATUS_PENDING:
            violations.append(f"order {o.id} stuck PENDING")
        if _overdue(o, now - EXPIRY_GRACE_SECONDS):
            violations.append(f"order {o.id} RESERVED past its expiry")

    violations += await stock_violations(client, world, run, orders)

    # Every paid order settled exactly once; the ledger balances.
    paid = [o for o in orders if o.paid.amount_minor > 0]
    # The period starts exactly when this run did: the previous run's last entries are just before it.
    start = Timestamp()
    start.FromNanoseconds(int(run.started_at * 1e9))
    end = Timestamp(seconds=int(time.time()) + 1)
    rec = await client.call(
        "Reconcile",
        client.settlement.Reconcile,
        spb.ReconcileRequest(period_start=start, period_end=end, currency="CNY"),
    )
    gross = sum(o.paid.amount_minor for o in paid)
    refunds = sum(o.refunded.amount_minor for o in paid)
    if rec.ledger_sum.amount_minor != 0:
        violations.append(f"ledger sums to {rec.ledger_sum.amount_minor}, not 0")
    if rec.orders_settled != len(paid) or rec.gross.amount_minor != gross:
        violations.append(
            f"settled {rec.orders_settled} orders for {rec.gross.amount_minor}; {len(paid)} were paid, {gross}"
        )
    if abs(rec.refunds.amount_minor) != refunds:
        violations.append(f"ledger refunds {rec.refunds.amount_minor}, orders refunded {refunds}")
    violations += [f"reconcile: {d.kind} {d.order_id} {d.detail}" for d in rec.discrepancies]

    # Channels publish what inventory says; no event left behind.
    violations += await channel_stock_mismatches(client, world, run)
    if backlog := await outbox_backlog(stack):
        violations.append(f"events left in outboxes: {backlog}")
    return violations


async def stock_violations(client: Client, world: World, run: RunData, orders: list[opb.Order]) -> list[str]:
    """0 <= reserved <= on_hand and on_hand = sum of movements per (sku, location); no oversell; and every
    unit accounted for: unreserved on hand = received + returned - units of orders holding or having sold stock."""
    violations: list[str] = []
    reply = await client.call(
        "GetAvailability",
        client.inventory.GetAvailability,
        ipb.GetAvailabilityRequest(skus=run.skus, location_ids=world.locations),
    )
    available: dict[str, int] = defaultdict(int)
    for item in reply.items:
        for level in item.by_location:
            key = f"{item.sku}@{level.location_id}"
            if not 0 <= level.reserved <= level.on_hand:
                violations.append(f"{key}: reserved {level.reserved}, on_hand {level.on_hand}")
            movements = await _movements_sum(client, item.sku, level.location_id)
            if movements != level.on_hand:
                violations.append(f"{key}: on_hand {level.on_hand} but movements sum to {movements}")
            available[item.sku] += level.on_hand - level.reserved
    sold: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    for o in orders:
        if o.status in ALIVE:
            for line in o.lines:
                sold[line.sku] += line.quantity
                returned[line.sku] += line.returned_quantity
    for sku in run.skus:
        if sold[sku] > run.received[sku] + returned[sku]:
            violations.append(
                f"{sku}: oversold ({sold[sku]} sold, {run.received[sku]} received + {returned[sku]} returned)"
            )
        expected = run.received[sku] + returned[sku] - sold[sku]
        if available[sku] != expected:
            violations.append(
                f"{sku}: {available[sku]} units unreserved on hand, orders account for {expected} "
                f"({run.received[sku]} received + {returned[sku]} returned - {sold[sku]} held or sold)"
            )

    return violations


async def _movements_sum(client: Client, sku: str, location_id: str) -> int:
    total, token = 0, ""
    while True:
        reply: Any = await client.call(
            "ListMovements",
            client.inventory.ListMovements,
            ipb.ListMovementsRequest(sku=sku, location_id=location_id, page_size=500, page_token=token),
        )
        total += sum(m.delta for m in reply.movements)
        token = reply.next_page_token
        if not token:
            return total
