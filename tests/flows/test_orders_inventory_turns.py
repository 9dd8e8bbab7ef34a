"""Flow 1 across orders and inventory: a slow inventory never takes every database connection from orders.

ShipFulfillment, ConfirmPickup and CancelOrder ask inventory while the order's row is locked (goods leave, or
a paid order is cancelled, only once inventory agrees), so each holds a connection until inventory answers.
Before, a stalled inventory let as many of them hold a connection as the pool had: with a pool of 4, four
stalled shipments left a GetOrder waiting for a connection until its deadline. Now at most
`inventory_calls_holding_connection` do at once; the others wait for a turn without a connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_orders.adapters.inventory import GrpcInventory

from tests.support.orders import World, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio
TURNS = 2


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory")
    await stack.start("orders", db_pool_size=4, inventory_calls_holding_connection=TURNS, inventory_timeout_seconds=30)
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


class Stalled:
    """Inventory's FulfillReservation answers only once `answer` is set; `inside` counts the calls waiting."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.inside = 0
        self.most = 0


@pytest.fixture
async def stalled(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stalled]:
    state = Stalled()
    fulfill = GrpcInventory.fulfill

    async def slow(self: Any, *args: Any) -> None:
        state.inside += 1
        state.most = max(state.most, state.inside)
        try:
            await state.answer.wait()
        finally:
            state.inside -= 1
        await fulfill(self, *args)

    monkeypatch.setattr(GrpcInventory, "fulfill", slow)
    yield state
    state.answer.set()


async def _paid(world: World, channel: str, warehouse: str, sku: str) -> opb.Order:
    order = await world.place(channel, {sku: (1, 1000)}, fulfillment=ship_to())
    paid = await world.pay(order)

    async def status() -> int:
        request = ipb.GetReservationRequest(reservation_id=paid.reservation_id)
        return (await world.inventory.GetReservation(request, metadata=world.admin)).reservation.status

    await eventually(status, lambda s: s == ipb.RESERVATION_STATUS_COMMITTED)
    return paid


async def test_shipments_waiting_on_a_stalled_inventory_leave_connections_for_other_calls(
    world: World, stalled: Stalled
) -> None:
    sku = uid("SKU")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 7})
    channel = await world.channel(location_ids=[warehouse])
    orders = [await _paid(world, channel, warehouse, sku) for _ in range(6)]

    async def ship(order: opb.Order) -> opb.Order:
        request = opb.ShipFulfillmentRequest(
            order_id=order.id, fulfillment_id=order.fulfillments[0].id, tracking_no="T"
        )
        return (await world.orders.ShipFulfillment(request, metadata=world.admin)).order

    shipments = [asyncio.create_task(ship(o)) for o in orders]
    await eventually(lambda: asyncio.sleep(0, stalled.inside), lambda n: n == TURNS)
    # Four shipments wait for a turn, none with a connection: other calls are served meanwhile.
    got = await world.orders.GetOrder(opb.GetOrderRequest(order_id=orders[0].id), metadata=world.admin, timeout=10)
    assert got.order.status == opb.ORDER_STATUS_PAID
    placed = await world.place(channel, {sku: (1, 1000)}, fulfillment=ship_to())
    assert placed.status == opb.ORDER_STATUS_RESERVED  # placed while the shipments wait
    assert stalled.inside == TURNS

    stalled.answer.set()
    shipped = await asyncio.gather(*shipments)
    assert {o.status for o in shipped} == {opb.ORDER_STATUS_SHIPPED}
    assert stalled.most == TURNS
    lvl = await world.level(sku, warehouse)
    assert (lvl.on_hand, lvl.reserved) == (1, 1)  # the order placed meanwhile holds the last unit
