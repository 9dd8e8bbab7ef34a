"""Flow 1 across orders and inventory: a CancelOrder never refunds goods inventory let leave.

Inventory applies a ShipFulfillment's FulfillReservation, but its answer reaches orders after orders' deadline
(asked twice: both late): the caller hears UNAVAILABLE, nothing recorded, and cancels the order before
inventory's news of the shipment reaches orders. Before, the order was CANCELLED and refunded in full (or, partly
shipped, the late part refunded) while inventory counted the goods gone. CancelOrder of a paid order now asks
inventory first (ReleaseReservation while the order is locked, before recording): what inventory says had left
is recorded as left, and only the rest is cancelled and refunded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_orders.adapters.inventory import GrpcInventory
from onepool_orders.service_layer import handlers
from onepool_runtime.errors import Unavailable
from onepool_runtime.testing.services import error_info

from tests.support.orders import World, eventually, order_events, ship_to, uid

pytestmark = pytest.mark.asyncio
PRICE = 1000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start(
        "orders",
        recovery_interval_seconds=0.2,
        recovery_after_seconds=0.5,
        inventory_timeout_seconds=1,
        stock_retry_seconds=0.2,
        stock_retry_max_seconds=1,
    )
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


class LateAnswers:
    """Reservations whose FulfillReservation inventory applies but answers after orders' deadline. Inventory's
    news of it (inventory.reservation.fulfilled) waits for `news` to be set, as when the stream lags: otherwise
    it may record the shipment before the test's CancelOrder, which then never meets the gap."""

    def __init__(self) -> None:
        self.reservations: set[str] = set()
        self.news = asyncio.Event()


@pytest.fixture
async def late(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LateAnswers]:
    answers = LateAnswers()
    fulfill = GrpcInventory.fulfill
    fulfilled_in_inventory = handlers.fulfilled_in_inventory

    async def answered_late(self: Any, reservation_id: str, *args: Any) -> None:
        await fulfill(self, reservation_id, *args)
        if reservation_id in answers.reservations:
            raise Unavailable("inventory unavailable: DEADLINE_EXCEEDED: Deadline Exceeded")

    async def held_back(uow: Any, order_id: str, reservation_id: str, *args: Any) -> bool:
        if reservation_id in answers.reservations:
            await answers.news.wait()
        return await fulfilled_in_inventory(uow, order_id, reservation_id, *args)

    monkeypatch.setattr(GrpcInventory, "fulfill", answered_late)
    monkeypatch.setattr(handlers, "fulfilled_in_inventory", held_back)
    yield answers
    answers.news.set()


async def _paid(world: World, locations: int) -> tuple[opb.Order, str, list[str]]:
    """One unit at each of `locations` warehouses, all in one order (split), paid and committed."""
    sku = uid("SKU")
    warehouses = [await world.location(f"WH{i}", priority=10 - i) for i in range(locations)]
    for warehouse in warehouses:
        await world.stock(warehouse, {sku: 1})
    channel = await world.channel(location_ids=warehouses)
    order = await world.place(channel, {sku: (locations, PRICE)}, fulfillment=ship_to(allow_split=True))
    paid = await world.pay(order)

    async def status() -> int:
        request = ipb.GetReservationRequest(reservation_id=paid.reservation_id)
        return (await world.inventory.GetReservation(request, metadata=world.admin)).reservation.status

    await eventually(status, lambda s: s == ipb.RESERVATION_STATUS_COMMITTED)
    return paid, sku, warehouses


def _at(order: opb.Order, warehouse: str) -> str:
    return next(f.id for f in order.fulfillments if f.location_id == warehouse)


async def _ship(world: World, order: opb.Order, warehouse: str) -> opb.Order:
    request = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=_at(order, warehouse), tracking_no="T")
    return (await world.orders.ShipFulfillment(request, metadata=world.admin)).order


async def _cancel(world: World, order: opb.Order) -> opb.Order:
    request = opb.CancelOrderRequest(order_id=order.id, reason="lost")
    return (await world.orders.CancelOrder(request, metadata=world.admin)).order


async def _shipped_late(world: World, order: opb.Order, warehouse: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await _ship(world, order, warehouse)
    assert late.value.code() == grpc.StatusCode.UNAVAILABLE, late.value
    fulfillment = next(f for f in (await world.get(order.id)).fulfillments if f.location_id == warehouse)
    assert fulfillment.status == opb.FULFILLMENT_STATUS_PENDING  # nothing recorded


async def test_a_cancel_after_a_shipment_answered_late_refunds_nothing_and_the_order_is_shipped(
    world: World, late: LateAnswers
) -> None:
    paid, sku, [warehouse] = await _paid(world, 1)
    late.reservations.add(paid.reservation_id)
    await _shipped_late(world, paid, warehouse)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _cancel(world, paid)
    late.news.set()

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value
    info = error_info(refused.value)
    assert info is not None and info.reason == "INVALID_ORDER_STATE", info
    await asyncio.sleep(1)  # inventory's fulfilled and released news reach orders: they change nothing
    after = await world.get(paid.id)
    assert (after.status, after.refunded.amount_minor) == (opb.ORDER_STATUS_SHIPPED, 0)
    assert after.fulfillments[0].status == opb.FULFILLMENT_STATUS_SHIPPED
    lvl = await world.level(sku, warehouse)
    assert (lvl.on_hand, lvl.reserved, lvl.available) == (0, 0, 0)
    subjects = [subject for subject, _ in await order_events(world.nats_url, paid.id)]
    assert "orders.order.cancelled" not in subjects and "orders.order.returned" not in subjects
    assert subjects.count("orders.order.shipped") == 1


async def test_a_cancel_of_a_split_order_refunds_only_what_did_not_leave(world: World, late: LateAnswers) -> None:
    paid, sku, [a, b, c] = await _paid(world, 3)
    await _ship(world, paid, a)
    late.reservations.add(paid.reservation_id)
    await _shipped_late(world, paid, b)

    cancelled = await _cancel(world, paid)
    late.news.set()

    by_location = {f.location_id: f.status for f in cancelled.fulfillments}
    assert by_location == {
        a: opb.FULFILLMENT_STATUS_SHIPPED,
        b: opb.FULFILLMENT_STATUS_SHIPPED,
        c: opb.FULFILLMENT_STATUS_CANCELLED,
    }
    assert (cancelled.status, cancelled.refunded.amount_minor) == (opb.ORDER_STATUS_SHIPPED, PRICE)
    await asyncio.sleep(1)  # inventory's news reach orders: they change nothing
    assert await world.get(paid.id) == cancelled
    levels = [await world.level(sku, w) for w in (a, b, c)]
    assert [(lv.on_hand, lv.reserved, lv.available) for lv in levels] == [(0, 0, 0), (0, 0, 0), (1, 0, 1)]
