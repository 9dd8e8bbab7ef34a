"""Flow 1/6 across orders and inventory: goods leave only while inventory holds the order's stock.

An order paid while inventory is unreachable has its commit queued; until inventory confirms it, shipping is
refused with retry advice (UNAVAILABLE), because inventory may still refuse the commit (the payment TTL passed
meanwhile) and give the units back to the pool: had the goods left, they would be sold twice. A release orders
did not ask for (an operator's ReleaseReservation on a paid order) is heard and cancels the order, its payment
due back, so nothing of it ships either; and since inventory itself is asked before a shipment is recorded, a
shipment made after the release but before orders heard of it is refused too (STOCK_NOT_HELD)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_orders.domain.stock_requests import FulfillReservation
from onepool_orders.service_layer import handlers
from onepool_runtime.testing.services import error_info, status_of

from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio


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


async def _ship(world: World, order: opb.Order) -> opb.Order:
    request = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id, tracking_no="T")
    return (await world.orders.ShipFulfillment(request, metadata=world.admin)).order


async def _refused_ship(world: World, order: opb.Order) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _ship(world, order)
    return refused.value


def _retry_advised(error: grpc.aio.AioRpcError) -> bool:
    status = status_of(error)
    return status is not None and any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)


async def _placed(world: World, payment_ttl_seconds: int = 900) -> tuple[opb.Order, str, str]:
    warehouse = await world.location("WH")
    sku = uid("SKU")
    await world.stock(warehouse, {sku: 1})
    channel_id = await world.channel(location_ids=[warehouse])

    # One request, retried as it is: an attempt answered UNAVAILABLE may still have reserved the only unit
    # (orders gave up waiting, inventory did not), and a retry under a new external id would be refused for stock.
    request = world.place_request(channel_id, {sku: (1, 100)}, payment_ttl_seconds=payment_ttl_seconds)

    async def place() -> opb.Order | None:
        try:
            return (await world.orders.PlaceOrder(request, metadata=world.admin)).order
        except grpc.aio.AioRpcError as exc:  # orders reconnecting to an inventory an earlier test restarted
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
            return None

    order = await eventually(place, lambda o: o is not None)
    assert order.status == opb.ORDER_STATUS_RESERVED
    return order, sku, warehouse


async def _paid_while_inventory_is_down(stack, world: World, payment_ttl_seconds: int) -> tuple[opb.Order, str, str]:  # type: ignore[no-untyped-def]
    order, sku, warehouse = await _placed(world, payment_ttl_seconds)
    await stack.stop("inventory")
    paid = await world.pay(order)  # recorded; its commit waits for inventory
    assert paid.status == opb.ORDER_STATUS_PAID
    return paid, sku, warehouse


async def _restart_inventory(stack, world: World) -> None:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    world.inventory = stack.stub("inventory")


async def test_a_paid_order_whose_commit_lapsed_never_ships_and_its_unit_is_sold_once(stack, world: World) -> None:  # type: ignore[no-untyped-def]
    try:
        paid, sku, warehouse = await _paid_while_inventory_is_down(stack, world, payment_ttl_seconds=3)
        pending = await _refused_ship(world, paid)
        assert pending.code() == grpc.StatusCode.UNAVAILABLE, pending
        assert _retry_advised(pending), "UNAVAILABLE without RetryInfo"
        assert (await world.get(paid.id)).status == opb.ORDER_STATUS_PAID
        await asyncio.sleep(4)  # past the payment TTL
    finally:
        await _restart_inventory(stack, world)

    # Inventory refuses the queued commit (or expires the reservation): the order is cancelled, payment due back.
    cancelled = await eventually(lambda: world.get(paid.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
    assert cancelled.refunded == paid.paid
    lvl = await world.level(sku, warehouse)
    assert (lvl.on_hand, lvl.reserved, lvl.available) == (1, 0, 1)
    gone = await _refused_ship(world, paid)
    assert gone.code() == grpc.StatusCode.FAILED_PRECONDITION, gone


async def test_a_paid_order_ships_once_inventory_confirmed_its_queued_commit(stack, world: World) -> None:  # type: ignore[no-untyped-def]
    try:
        paid, sku, warehouse = await _paid_while_inventory_is_down(stack, world, payment_ttl_seconds=900)
        assert (await _refused_ship(world, paid)).code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await _restart_inventory(stack, world)

    async def ship() -> opb.Order | grpc.StatusCode:
        try:
            return await _ship(world, paid)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
            return exc.code()

    shipped = await eventually(ship, lambda r: isinstance(r, opb.Order))
    assert shipped.status == opb.ORDER_STATUS_SHIPPED
    lvl = await eventually(lambda: world.level(sku, warehouse), lambda lv: lv.on_hand == 0)
    assert (lvl.on_hand, lvl.reserved, lvl.available) == (0, 0, 0)


async def test_an_operator_release_of_a_paid_orders_reservation_cancels_it_and_nothing_ships(world: World) -> None:
    order, sku, warehouse = await _placed(world)
    paid = await world.pay(order)

    async def reservation_status() -> int:
        request = ipb.GetReservationRequest(reservation_id=paid.reservation_id)
        return (await world.inventory.GetReservation(request, metadata=world.admin)).reservation.status

    # The payment's commit may still be queued (orders' 1 s inventory timeout here): release after it, as an
    # operator would, or the queued commit meets a released reservation and cancels for that reason instead.
    await eventually(reservation_status, lambda s: s == ipb.RESERVATION_STATUS_COMMITTED)
    await world.inventory.ReleaseReservation(
        ipb.ReleaseReservationRequest(reservation_id=paid.reservation_id, reason="ops"), metadata=world.admin
    )

    cancelled = await eventually(lambda: world.get(paid.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
    assert cancelled.refunded == paid.paid
    assert "stock released in inventory (ops)" in cancelled.status_reason
    refused = await _refused_ship(world, paid)
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, refused
    info = error_info(refused)
    assert info is not None and info.reason == "INVALID_FULFILLMENT_STATE", info
    lvl = await world.level(sku, warehouse)
    assert (lvl.on_hand, lvl.reserved, lvl.available) == (1, 0, 1)


async def test_a_release_orders_asked_for_changes_nothing_more(world: World) -> None:
    order, _, _ = await _placed(world)
    paid = await world.pay(order)
    cancelled = (
        await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=paid.id, reason="buyer"), metadata=world.admin)
    ).order
    assert cancelled.status == opb.ORDER_STATUS_CANCELLED
    await asyncio.sleep(1)  # inventory.reservation.released reaches orders
    after = await world.get(paid.id)
    assert (after.status, after.status_reason, after.refunded) == (
        opb.ORDER_STATUS_CANCELLED,
        cancelled.status_reason,
        cancelled.refunded,
    )


async def _committed(world: World, paid: opb.Order) -> None:
    async def reservation_status() -> int:
        request = ipb.GetReservationRequest(reservation_id=paid.reservation_id)
        return (await world.inventory.GetReservation(request, metadata=world.admin)).reservation.status

    await eventually(reservation_status, lambda s: s == ipb.RESERVATION_STATUS_COMMITTED)


async def test_a_shipment_right_after_an_operator_release_is_refused_and_the_unit_is_sold_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release is applied by inventory before ShipFulfillment is called, and orders has not heard of it yet
    (its release consumer is held back): inventory is asked before the shipment is recorded and refuses it, so
    the order never ships with its unit back on sale. Each round, not just most."""
    held_back = asyncio.Event()
    apply_release = handlers.reservation_released

    async def after_the_shipment(*args: Any, **kwargs: Any) -> bool:
        await held_back.wait()
        return await apply_release(*args, **kwargs)

    monkeypatch.setattr(handlers, "reservation_released", after_the_shipment)
    for _ in range(3):
        held_back.clear()
        order, sku, warehouse = await _placed(world)
        paid = await world.pay(order)
        await _committed(world, paid)
        await world.inventory.ReleaseReservation(
            ipb.ReleaseReservationRequest(reservation_id=paid.reservation_id, reason="ops"), metadata=world.admin
        )

        refused = await _refused_ship(world, paid)

        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, refused
        info = error_info(refused)
        assert info is not None and info.reason == "STOCK_NOT_HELD", info
        assert (await world.get(paid.id)).status == opb.ORDER_STATUS_PAID  # nothing recorded
        held_back.set()
        cancelled = await eventually(partial(world.get, paid.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
        assert cancelled.refunded == paid.paid
        lvl = await world.level(sku, warehouse)
        assert (lvl.on_hand, lvl.reserved, lvl.available) == (1, 0, 1)  # on sale again, and still on the shelf


async def test_a_shipment_inventory_applied_is_recorded_though_orders_stopped_before_it_could(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders stops between inventory's accept and its own commit (here: its commit fails), and the caller
    never retries: inventory.reservation.fulfilled records the shipment, so the order does not stay PAID with
    its stock gone. A late retry is answered as the first call would have been."""
    order, sku, warehouse = await _placed(world)
    paid = await world.pay(order)
    await _committed(world, paid)
    leave = handlers._leave

    async def told_then_stopped(uow: Any, changed: Any, hand_over: Any) -> None:
        for request in [r for r in changed.stock_requests if isinstance(r, FulfillReservation)]:
            await hand_over(request)
        raise RuntimeError("orders stopped before its commit")

    monkeypatch.setattr(handlers, "_leave", told_then_stopped)
    with pytest.raises(grpc.aio.AioRpcError):
        await _ship(world, paid)
    monkeypatch.setattr(handlers, "_leave", leave)

    shipped = await eventually(lambda: world.get(paid.id), lambda o: o.status == opb.ORDER_STATUS_SHIPPED)
    assert shipped.fulfillments[0].status == opb.FULFILLMENT_STATUS_SHIPPED
    lvl = await world.level(sku, warehouse)
    assert (lvl.on_hand, lvl.reserved, lvl.available) == (0, 0, 0)
    retried = await _ship(world, paid)
    assert (retried.status, retried.fulfillments[0].tracking_no) == (opb.ORDER_STATUS_SHIPPED, "T")
