"""A PostgreSQL outage answers UNAVAILABLE, never INTERNAL, and a caller retrying with the same keys ends
with the right answer (issue 9, item 2).

Inventory and orders run in-process on their OWN embedded PostgreSQL (the session's is shared with every
other test), which is shut down immediately (SIGQUIT, what `pg_ctl stop -m immediate` sends) while calls are
in flight and made while it is down, then started again. Every call made meanwhile must be OK or
UNAVAILABLE; retried with the same request ids / external ids afterwards, each ends once: one order per
external id, stock reserved exactly for the orders that hold it, nothing half-done.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.testing.services import status_of

from tests.conftest import Stack
from tests.support.orders import World, uid

pytestmark = pytest.mark.asyncio
T = TypeVar("T")
CALL_TIMEOUT = 30.0  # generous: a deadline is not what this test is about


@pytest.fixture(scope="module")
async def own_postgres() -> AsyncIterator[EmbeddedPostgres]:
    # Not under pytest's tmp_path: pytest keeps that root private to root, and PostgreSQL runs as its own user.
    base = Path(tempfile.mkdtemp(prefix="onepool-outage-"))
    pg = EmbeddedPostgres(base / "pg", durable=True)
    await asyncio.to_thread(pg.start)
    yield pg
    await asyncio.to_thread(pg.stop)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
async def world(own_postgres: EmbeddedPostgres, nats_url: str, admin) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    stack = Stack(await asyncio.to_thread(own_postgres.create_database, "outage"), nats_url)
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, recovery_after_seconds=1.0)
    yield World(stack.stub("inventory"), stack.stub("orders"), admin, nats_url)
    await stack.stop_all()


async def _code(call: Awaitable[Any]) -> str:
    """The status code's name; UNAVAILABLE must carry google.rpc.RetryInfo (when to try again)."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:
            status = status_of(exc)
            if status is None or not any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details):
                return "UNAVAILABLE without RetryInfo"
        return str(exc.code().name)
    return "OK"


async def _until_answered(call: Callable[[], Awaitable[T]], within: float = 60.0) -> T:
    """Retry on UNAVAILABLE (and only on it), as a well-behaved client does, with the same request."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or loop.time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def test_outage_answers_unavailable_and_retries_with_the_same_keys_end_right(
    world: World, own_postgres: EmbeddedPostgres
) -> None:
    o, i, md = world.orders, world.inventory, world.admin
    sku = uid("OUT")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 100})
    channel = await world.channel(location_ids=[warehouse])

    to_pay = await world.place(channel, {sku: (2, 1000)})
    to_ship = await world.pay(await world.place(channel, {sku: (3, 1000)}))
    held = (
        await i.Reserve(
            ipb.ReserveRequest(
                request_id=uid("direct"),
                order_id=uid("ORD"),
                channel_id=channel,
                lines=[ipb.ReserveLine(sku=sku, quantity=4)],
                hint=ipb.SourcingHint(mode=ipb.SOURCING_MODE_SHIP, region="CN-SH"),
            ),
            metadata=md,
        )
    ).reservation

    pay = opb.PayOrderRequest(order_id=to_pay.id, payment_ref=uid("PAY"), amount=to_pay.total)
    ship = opb.ShipFulfillmentRequest(
        order_id=to_ship.id, fulfillment_id=to_ship.fulfillments[0].id, tracking_no="SF-OUTAGE"
    )
    commit = ipb.CommitReservationRequest(reservation_id=held.id)
    receive = ipb.ReceiveStockRequest(
        request_id=uid("receipt"), location_id=warehouse, lines=[ipb.StockLine(sku=sku, quantity=5)]
    )
    # Placed as the database goes down: some finish, some are cut mid-transaction, some never start.
    in_flight = [world.place_request(channel, {sku: (1, 1000)}) for _ in range(12)]

    racing = [asyncio.create_task(_code(o.PlaceOrder(r, metadata=md, timeout=CALL_TIMEOUT))) for r in in_flight]
    await asyncio.sleep(0.05)
    await asyncio.to_thread(own_postgres.stop_immediate)
    codes = {"PlaceOrder (in flight)": set(await asyncio.gather(*racing))}
    during = world.place_request(channel, {sku: (1, 1000)})
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "PlaceOrder": lambda: o.PlaceOrder(during, metadata=md, timeout=CALL_TIMEOUT),
        "PayOrder": lambda: o.PayOrder(pay, metadata=md, timeout=CALL_TIMEOUT),
        "ShipFulfillment": lambda: o.ShipFulfillment(ship, metadata=md, timeout=CALL_TIMEOUT),
        "GetOrder": lambda: o.GetOrder(opb.GetOrderRequest(order_id=to_pay.id), metadata=md, timeout=CALL_TIMEOUT),
        "CommitReservation": lambda: i.CommitReservation(commit, metadata=md, timeout=CALL_TIMEOUT),
        "ReceiveStock": lambda: i.ReceiveStock(receive, metadata=md, timeout=CALL_TIMEOUT),
    }
    for name, call in calls.items():
        codes[name] = {await _code(call())}
    print("status codes while PostgreSQL was down:", codes)
    await asyncio.to_thread(own_postgres.start)

    assert codes["PlaceOrder (in flight)"] <= {"OK", "UNAVAILABLE"}, codes
    assert all(codes[name] == {"UNAVAILABLE"} for name in calls), codes

    # The same requests again, until the database answers: each ends once, with the right answer.
    placed = [(await _until_answered(lambda r=r: o.PlaceOrder(r, metadata=md))).order for r in [*in_flight, during]]
    assert all(p.status == opb.ORDER_STATUS_RESERVED for p in placed), [p.status for p in placed]
    assert len({p.id for p in placed}) == len(placed)
    again = [(await o.PlaceOrder(r, metadata=md)).order.id for r in [*in_flight, during]]
    assert again == [p.id for p in placed]  # one order per external id
    paid = (await _until_answered(lambda: o.PayOrder(pay, metadata=md))).order
    assert paid.status == opb.ORDER_STATUS_PAID
    assert (await o.PayOrder(pay, metadata=md)).order == paid
    shipped = (await _until_answered(lambda: o.ShipFulfillment(ship, metadata=md))).order
    assert shipped.status == opb.ORDER_STATUS_SHIPPED
    committed = (await _until_answered(lambda: i.CommitReservation(commit, metadata=md))).reservation
    assert committed.status == ipb.RESERVATION_STATUS_COMMITTED
    await _until_answered(lambda: i.ReceiveStock(receive, metadata=md))
    await i.ReceiveStock(receive, metadata=md)  # a replay: received once

    # Stock: 100 + 5 received, 3 shipped; held: 13 placed + 2 paid + 4 committed directly.
    level = await world.level(sku, warehouse)
    assert (level.on_hand, level.reserved) == (102, 13 + 2 + 4)
