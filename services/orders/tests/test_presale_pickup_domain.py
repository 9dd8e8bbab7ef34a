"""A pickup order whose units wait for goods (docs/presale.md), on the domain alone: paid, it stays PAID until
the last waiting unit is at the shop, then it is READY_FOR_PICKUP (with StockFilled); meanwhile it cannot be
handed over (AWAITING_STOCK) and may be cancelled like any paid order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool_kernel.money import Money
from onepool_kernel.presale import PresaleTerms
from onepool_orders.domain import events
from onepool_orders.domain.model import (
    AllocatedStock,
    CustomerInfo,
    FulfillmentMode,
    FulfillmentPreference,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
)
from onepool_runtime.errors import FailedPrecondition

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(seconds=1)
DAYS_3 = timedelta(days=3)
S = OrderStatus


def pickup_order(*allocations: AllocatedStock) -> Order:
    order = Order.place(
        order_id="o1",
        channel_id="web",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine("A", 2, Money("CNY", 5_000)), OrderLine("B", 1, Money("CNY", 1_000))],
        fulfillment=FulfillmentPreference(mode=FulfillmentMode.PICKUP_IN_STORE, pickup_location_id="SHOP"),
        dealer_id="",
        payment_ttl_seconds=0,
        now=NOW,
    )
    order.record_reservation("r1", NOW + timedelta(minutes=15), list(allocations), "c1", NOW)
    return order


def held(sku: str, quantity: int, awaiting: int = 0) -> AllocatedStock:
    return AllocatedStock(sku, "SHOP", quantity, awaiting=awaiting, promised_at=NOW + DAYS_3 if awaiting else None)


def test_a_paid_pickup_order_is_ready_only_once_its_last_waiting_unit_arrives() -> None:
    order = pickup_order(held("A", 2, awaiting=2), held("B", 1, awaiting=1))
    order.pay(order.total, "pay", NOW)
    assert order.status is S.PAID
    fulfillment = order.fulfillments[0].id
    with pytest.raises(FailedPrecondition) as refused:
        order.confirm_pickup(fulfillment, NOW)
    assert refused.value.reason == "AWAITING_STOCK"
    with pytest.raises(FailedPrecondition) as not_shipped:
        order.ship(fulfillment, "SF1", NOW)  # a pickup order is handed over, waiting or not
    assert not_shipped.value.reason == "INVALID_ORDER_STATE"

    order.events.clear()
    assert order.follow_stock("r1", [held("A", 2), held("B", 1, awaiting=1)], LATER, LATER)
    assert order.status is S.PAID  # B still waits
    assert order.follow_stock("r1", [held("A", 2), held("B", 1)], LATER, LATER)
    assert order.status is S.READY_FOR_PICKUP
    assert [type(e) for e in order.events] == [events.StockFilled, events.StockFilled]
    assert (order.is_open, order.is_paid) == (True, True)
    assert not order.follow_stock("r1", [held("A", 2), held("B", 1)], LATER, LATER)  # the same news again

    assert order.confirm_pickup(fulfillment, LATER)
    assert order.status is S.SHIPPED


def test_units_filled_before_payment_or_a_balance_leave_the_order_ready_at_payment() -> None:
    order = pickup_order(held("A", 2, awaiting=2), held("B", 1))
    order.follow_stock("r1", [held("A", 2), held("B", 1)], LATER, LATER)
    assert order.status is S.RESERVED  # nothing is ready before it is paid
    order.pay(order.total, "pay", LATER)
    assert order.status is S.READY_FOR_PICKUP

    deposit = pickup_order(held("A", 2, awaiting=2), held("B", 1))
    deposit.pay(Money("CNY", 1_000), "dep", NOW, PaymentKind.DEPOSIT, PresaleTerms(balance_due_seconds=3600))
    deposit.pay(deposit.balance, "bal", NOW, PaymentKind.BALANCE)
    assert deposit.status is S.PAID  # A still waits
    deposit.follow_stock("r1", [held("A", 2), held("B", 1)], LATER, LATER)
    assert deposit.status is S.READY_FOR_PICKUP


def test_a_paid_pickup_order_waiting_for_goods_is_cancelled_or_lapses_like_any_paid_order() -> None:
    cancelled = pickup_order(held("A", 2, awaiting=2), held("B", 1))
    cancelled.pay(cancelled.total, "pay", NOW)
    assert cancelled.cancel("customer changed their mind", LATER)
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, cancelled.paid)

    released = pickup_order(held("A", 2, awaiting=2), held("B", 1))
    released.pay(released.total, "pay", NOW)
    assert released.record_lapsed_reservation("r1", LATER, released="operator")
    assert released.status is S.CANCELLED
    assert not released.follow_stock("r1", [held("A", 2), held("B", 1)], LATER, LATER)
