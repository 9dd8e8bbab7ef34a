"""Overload is shed, not queued (issue 9, item 6), against real orders + inventory, PostgreSQL and NATS.

Orders runs with a small admission budget (4 running, 2 queued), so a few seconds of open-loop load are far
above it. Each test asserts codes, counts and structure, never latencies: the excess is refused with
RESOURCE_EXHAUSTED carrying retry advice; no order is made for a call that was not answered OK; a call
whose deadline has (nearly) passed is not started; what is left of a deadline travels to inventory; and the
service serves normally once the load stops. The 30-second run at twice the measured knee is slow_test.py.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool_runtime.server import ServiceHost

from tests.overload.load import codes, open_loop, orders_made, placer, rss_mib
from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio

LIMIT, QUEUE = 4, 2
ORDERS_MARGIN = 0.5  # orders starts no call with less than this left to its deadline
INVENTORY_MARGIN = 1.0  # and inventory none with less than this


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2, deadline_margin_seconds=INVENTORY_MARGIN)
    await stack.start(
        "orders",
        recovery_interval_seconds=0.2,
        recovery_after_seconds=1.0,
        max_concurrent_rpcs=LIMIT,
        max_queued_rpcs=QUEUE,
        max_queue_wait_seconds=0.2,
        deadline_margin_seconds=ORDERS_MARGIN,
    )
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


@pytest.fixture(scope="module")
def orders_host(stack, world: World) -> ServiceHost:  # type: ignore[no-untyped-def]
    return stack.hosts["orders"]  # type: ignore[no-any-return]


async def _shelf(world: World, units: int = 100_000) -> tuple[str, str]:
    sku = uid("SKU")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: units})
    return await world.channel(location_ids=[warehouse]), sku


async def test_excess_calls_are_refused_at_once_with_retry_advice_and_get_no_order(
    world: World, orders_host: ServiceHost
) -> None:
    channel, sku = await _shelf(world)
    gate = orders_host.admission.unary
    rss_before = rss_mib()

    outcomes = await open_loop(placer(world, channel, sku, timeout=10.0), rate=250, seconds=1.2)

    seen = codes(outcomes)
    assert set(seen) <= {"OK", "RESOURCE_EXHAUSTED"}, seen  # no DEADLINE_EXCEEDED: accepted calls finish
    assert seen["RESOURCE_EXHAUSTED"] > 0 and seen["OK"] >= LIMIT, seen
    for shed in (o for o in outcomes if o.code is grpc.StatusCode.RESOURCE_EXHAUSTED):
        assert shed.retry_delay is not None and shed.retry_delay > 0, shed
        assert shed.reason == "OVERLOADED", shed
    # The server did no work for a call it did not answer OK: one order per OK, none for the refused.
    answered = {o.external_id for o in outcomes if o.code is grpc.StatusCode.OK}
    assert await orders_made(orders_host, channel) == answered
    # Bounded: never more running or waiting than configured; nothing left running once callers are done.
    assert gate.peak_in_flight <= LIMIT and gate.peak_queued <= QUEUE
    assert (gate.in_flight, gate.queued) == (0, 0)
    assert rss_mib() - rss_before < 200, (rss_before, rss_mib())

    # Recovers by itself: with the load gone, a normal call is served.
    order = await world.place(channel, {sku: (1, 100)})
    assert order.id


async def test_health_checks_are_never_shed(world: World, stack, orders_host: ServiceHost) -> None:  # type: ignore[no-untyped-def]
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    channel, sku = await _shelf(world)
    health = health_pb2_grpc.HealthStub(stack.channel("orders"))
    load = asyncio.create_task(open_loop(placer(world, channel, sku, timeout=10.0), rate=250, seconds=0.8))
    checks = []
    while not load.done():
        checks.append(await health.Check(health_pb2.HealthCheckRequest(), timeout=10.0))
        await asyncio.sleep(0.02)
    assert "RESOURCE_EXHAUSTED" in codes(await load)  # the checks ran while calls were being shed
    assert {c.status for c in checks} == {health_pb2.HealthCheckResponse.SERVING}


async def test_a_call_whose_deadline_has_nearly_passed_is_not_started(world: World, orders_host: ServiceHost) -> None:
    channel, sku = await _shelf(world)
    before = orders_host.admission.unary.expired

    outcome = await placer(world, channel, sku, timeout=ORDERS_MARGIN * 0.8)()

    assert outcome.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert orders_host.admission.unary.expired == before + 1  # refused by the server, not timed out in the client
    assert await orders_made(orders_host, channel) == set()


async def test_what_is_left_of_a_deadline_travels_to_the_calls_it_makes(world: World, stack) -> None:  # type: ignore[no-untyped-def]
    """Orders admits a call with 0.9 s left (its margin is 0.5 s) and asks inventory to Reserve within what is
    left, under inventory's 1 s margin: inventory refuses to start it. With orders' own 5 s timeout instead,
    inventory would have reserved stock for a caller about to give up."""
    channel, sku = await _shelf(world)
    inventory_gate = stack.hosts["inventory"].admission.unary
    before = inventory_gate.expired

    outcome = await placer(world, channel, sku, timeout=INVENTORY_MARGIN * 0.9)()

    assert outcome.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), outcome
    assert inventory_gate.expired == before + 1


async def test_a_caller_giving_up_mid_saga_stops_it_and_leaves_nothing_inconsistent(
    world: World,
    stack,  # type: ignore[no-untyped-def]
    orders_host: ServiceHost,
) -> None:
    """PlaceOrder is not shielded from its caller: when the deadline passes while inventory is stuck (its stock
    row locked here), the call is cancelled where it stands and gives its slot back. The order it recorded
    PENDING is finished by the recovery loop with the same reservation: stock is held once, for an order
    that exists."""
    from onepool.orders.v1 import orders_pb2 as opb
    from sqlalchemy import text

    channel, sku = await _shelf(world, units=10)
    engine = stack.hosts["inventory"].infra.engine
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text("SELECT * FROM stock_levels WHERE sku = :s FOR UPDATE"), {"s": sku})
        outcome = await placer(world, channel, sku, timeout=INVENTORY_MARGIN + 1.5)()
        assert outcome.code is grpc.StatusCode.DEADLINE_EXCEEDED, outcome
        await eventually(lambda: asyncio.sleep(0, orders_host.admission.unary.in_flight), lambda n: n == 0)

    async def placed() -> list[opb.Order]:
        reply = await world.orders.ListOrders(opb.ListOrdersRequest(channel_id=channel), metadata=world.admin)
        return list(reply.orders)

    orders = await eventually(placed, lambda found: [o.status for o in found] == [opb.ORDER_STATUS_RESERVED])
    assert orders[0].external_order_id == outcome.external_id and orders[0].reservation_id
    assert await world.reserved(sku) == 1
