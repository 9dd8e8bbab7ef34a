"""ShipFulfillment / ConfirmPickup over a real database and a fake inventory: goods leave only if inventory
lets them, asked before anything is recorded. An operator's release that inventory applied first refuses
them (STOCK_NOT_HELD) with the order as it was; inventory unreachable is UNAVAILABLE with nothing recorded;
orders stopping after inventory's accept is made good by the caller's retry (the same request id) or, without
one, by inventory's news of the goods leaving. The flow versions against the real inventory are in
tests/flows/test_orders_stock_held.py."""

from __future__ import annotations

from typing import Any

import pytest
from onepool_kernel.money import Money
from onepool_orders.domain import commands
from onepool_orders.domain.model import (
    CustomerInfo,
    FulfillmentMode,
    FulfillmentPreference,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from onepool_orders.domain.stock_requests import FulfillReservation
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.ports import ReservationState
from onepool_runtime.errors import FailedPrecondition, Unavailable
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.servicer import UseCases
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


def _anyone(order: Order) -> None:
    """No scoping: the test is the operator."""


class Crash(Exception):
    """Stands for orders dying between inventory's accept and its own commit."""


async def _paid(saga: Saga, external_id: str, *, pickup: bool = False) -> Order:
    saga.inventory.stock = {"A": 5, "B": 5}
    mode = FulfillmentMode.PICKUP_IN_STORE if pickup else FulfillmentMode.SHIP
    order = await saga.placement.place(
        commands.PlaceOrder(
            channel_id="web",
            external_order_id=external_id,
            customer=CustomerInfo(phone="13800000000"),
            lines=(OrderLine("A", 1, Money("CNY", 100)),),
            fulfillment=FulfillmentPreference(mode=mode, address="x", pickup_location_id="WH" if pickup else ""),
            dealer_id="",
            payment_ttl_seconds=0,
        )
    )
    return await saga.lifecycle.pay(commands.PayOrder(order.id, "pay-1", order.total), _anyone)


async def _stored(saga: Saga, order_id: str) -> Order:
    return await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order_id))


async def _queued_fulfillments(saga: Saga) -> int:
    async with saga.uow() as uow:
        found = await uow.session.execute(text("SELECT count(*) FROM stock_requests WHERE kind = 'fulfil'"))
        return int(found.scalar_one())


async def _leave(saga: Saga, order: Order, tracking_no: str = "T") -> Order:
    fid = order.fulfillments[0].id
    if order.is_pickup:
        return await saga.lifecycle.confirm_pickup(commands.ConfirmPickup(order.id, fid), _anyone)
    return await saga.lifecycle.ship(commands.ShipFulfillment(order.id, fid, tracking_no), _anyone)


@pytest.mark.parametrize("pickup", [False, True], ids=["ship", "pickup"])
async def test_goods_do_not_leave_once_inventory_released_the_reservation(saga: Saga, pickup: bool) -> None:
    paid = await _paid(saga, f"REL-{pickup}", pickup=pickup)
    # An operator's ReleaseReservation, applied by inventory before orders heard of it.
    saga.inventory.states[paid.reservation_id] = ReservationState.RELEASED

    with pytest.raises(FailedPrecondition) as refused:
        await _leave(saga, paid)

    assert refused.value.reason == "STOCK_NOT_HELD"
    assert refused.value.metadata["fulfillment_id"] == paid.fulfillments[0].id
    assert "RELEASED" in refused.value.message
    after = await _stored(saga, paid.id)
    assert (after.status, after.fulfillments[0].status) == (paid.status, FulfillmentStatus.PENDING)
    assert saga.inventory.fulfilled == [] and await _queued_fulfillments(saga) == 0
    # Inventory's release event then cancels the order with its payment due back; nothing of it left.
    await run_in_transaction(
        saga.uow, lambda uow: handlers.reservation_released(uow, paid.id, paid.reservation_id, "ops")
    )
    cancelled = await _stored(saga, paid.id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.refunded == cancelled.paid


async def test_inventory_unreachable_records_nothing_and_the_retry_ships(saga: Saga) -> None:
    paid = await _paid(saga, "DOWN")
    saga.inventory.unreachable = True
    with pytest.raises(Unavailable):
        await _leave(saga, paid)
    after = await _stored(saga, paid.id)
    assert (after.status, after.fulfillments[0].status) == (OrderStatus.PAID, FulfillmentStatus.PENDING)
    assert await _queued_fulfillments(saga) == 0

    saga.inventory.unreachable = False
    shipped = await _leave(saga, paid)
    assert shipped.status is OrderStatus.SHIPPED
    assert saga.inventory.fulfilled == [f"orders:fulfil:{paid.fulfillments[0].id}"]
    assert await _queued_fulfillments(saga) == 0  # told already: nothing left to send


async def test_a_crash_after_inventorys_accept_is_answered_the_same_on_retry(
    saga: Saga, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid = await _paid(saga, "CRASH")
    fulfill = saga.inventory.fulfill

    async def accepted_then_crash(*args: Any) -> None:
        await fulfill(*args)
        raise Crash

    monkeypatch.setattr(saga.inventory, "fulfill", accepted_then_crash)
    with pytest.raises(Crash):
        await _leave(saga, paid)
    assert (await _stored(saga, paid.id)).status is OrderStatus.PAID  # nothing committed
    monkeypatch.setattr(saga.inventory, "fulfill", fulfill)

    shipped = await _leave(saga, paid)  # the same request id: inventory answers it as done
    assert shipped.status is OrderStatus.SHIPPED and shipped.fulfillments[0].tracking_no == "T"
    assert saga.inventory.fulfilled == [f"orders:fulfil:{paid.fulfillments[0].id}"]


@pytest.mark.parametrize("pickup", [False, True], ids=["ship", "pickup"])
async def test_a_shipment_inventory_applied_and_orders_never_recorded_is_recorded_from_its_news(
    saga: Saga, pickup: bool
) -> None:
    paid = await _paid(saga, f"NEWS-{pickup}", pickup=pickup)
    fulfillment = paid.fulfillments[0]
    await saga.hand_over(
        FulfillReservation(paid.reservation_id, "WH", fulfillment.lines, f"orders:fulfil:{fulfillment.id}")
    )  # inventory let the goods leave; orders stopped before recording it and the caller never retried

    def news(uow: Any) -> Any:
        return handlers.fulfilled_in_inventory(uow, paid.id, paid.reservation_id, frozenset({"WH"}))

    assert await run_in_transaction(saga.uow, news) is True
    left = await _stored(saga, paid.id)
    assert left.status is OrderStatus.SHIPPED
    expected = FulfillmentStatus.PICKED_UP if pickup else FulfillmentStatus.SHIPPED
    assert (left.fulfillments[0].status, left.fulfillments[0].tracking_no) == (expected, "")
    assert await run_in_transaction(saga.uow, news) is False  # redelivered: nothing more
    assert await _queued_fulfillments(saga) == 0

    again = await _leave(saga, paid, "T-late")  # the caller's retry after all: answered as the first call
    assert again.status is OrderStatus.SHIPPED
    if not pickup:
        assert again.fulfillments[0].tracking_no == "T-late"
    assert len(saga.inventory.fulfilled) == 1


async def test_a_release_after_part_of_the_order_left_in_inventory_keeps_that_part_whatever_came_first(
    saga: Saga,
) -> None:
    """Two locations; inventory let the first leave, orders did not record it, then an operator released the
    rest: the release event alone (the fulfilled one may come later, on another durable) records what left
    and cancels only the rest, with its share of the payment due back."""
    saga.inventory.stock = {"A": 5, "B": 5}
    saga.inventory.location_of = {"A": "WH1", "B": "WH2"}
    order = await saga.placement.place(
        commands.PlaceOrder(
            channel_id="web",
            external_order_id="SPLIT",
            customer=CustomerInfo(phone="13800000000"),
            lines=(OrderLine("A", 1, Money("CNY", 100)), OrderLine("B", 1, Money("CNY", 300))),
            fulfillment=FulfillmentPreference(address="x", allow_split=True),
            dealer_id="",
            payment_ttl_seconds=0,
        )
    )
    await saga.lifecycle.pay(commands.PayOrder(order.id, "pay-1", order.total), _anyone)

    released = await run_in_transaction(
        saga.uow,
        lambda uow: handlers.reservation_released(uow, order.id, order.reservation_id, "ops", frozenset({"WH1"})),
    )

    assert released is True
    after = await _stored(saga, order.id)
    by_location = {f.location_id: f.status for f in after.fulfillments}
    assert by_location == {"WH1": FulfillmentStatus.SHIPPED, "WH2": FulfillmentStatus.CANCELLED}
    assert after.status is OrderStatus.SHIPPED
    assert after.refunded == Money("CNY", 300)  # B's share; A left
