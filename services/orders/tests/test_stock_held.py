"""Goods leave only while inventory holds the order's stock, on the domain alone: a commit not yet confirmed
is retried (UNAVAILABLE), a refused one or a release orders did not ask for stops them (STOCK_NOT_HELD, or the
order is cancelled with its payment due back), since their units are back in the pool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool_kernel.money import Money
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.model import (
    AllocatedStock,
    CustomerInfo,
    FulfillmentMode,
    FulfillmentPreference,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from onepool_runtime.errors import FailedPrecondition, Unavailable

NOW = datetime(2026, 1, 1, tzinfo=UTC)
C = sr.CommitState


def paid_order(mode: FulfillmentMode = FulfillmentMode.SHIP, *locations: str) -> Order:
    pickup = mode is FulfillmentMode.PICKUP_IN_STORE
    order = Order.place(
        order_id="o1",
        channel_id="web",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine(f"S{i}", 1, Money("CNY", 500)) for i, _ in enumerate(locations or ("WH",))],
        fulfillment=FulfillmentPreference(mode=mode, address="x", pickup_location_id="WH" if pickup else ""),
        dealer_id="",
        payment_ttl_seconds=0,
        now=NOW,
    )
    held = [AllocatedStock(f"S{i}", loc, 1) for i, loc in enumerate(locations or ("WH",))]
    order.record_reservation("r1", NOW + timedelta(minutes=15), held, "c1", NOW)
    order.pay(order.total, "pay-1", NOW)
    order.stock_requests.clear()
    order.events.clear()
    return order


@pytest.mark.parametrize("mode", [FulfillmentMode.SHIP, FulfillmentMode.PICKUP_IN_STORE])
def test_nothing_leaves_until_inventory_confirmed_the_commit(mode: FulfillmentMode) -> None:
    order = paid_order(mode)
    fid = order.fulfillments[0].id

    def leave(commit: sr.CommitState) -> bool:
        if mode is FulfillmentMode.SHIP:
            return order.ship(fid, "T", NOW, commit=commit)
        return order.confirm_pickup(fid, NOW, commit=commit)

    before = order.status
    with pytest.raises(Unavailable):  # UNAVAILABLE with retry advice: the commit is still being sent
        leave(C.PENDING)
    with pytest.raises(FailedPrecondition) as refused:
        leave(C.REFUSED)
    assert refused.value.reason == "STOCK_NOT_HELD"
    assert refused.value.metadata == {"order_id": "o1", "reservation_id": "r1", "fulfillment_id": fid}
    # Refused leaves the order as it was: nothing recorded, nothing for inventory.
    assert (order.status, order.fulfillments[0].status) == (before, FulfillmentStatus.PENDING)
    assert order.stock_requests == [] and order.events == []
    assert leave(C.CONFIRMED)
    assert order.status is OrderStatus.SHIPPED
    assert leave(C.REFUSED) is False  # a repeat of what already left answers as before


@pytest.mark.parametrize("mode", [FulfillmentMode.SHIP, FulfillmentMode.PICKUP_IN_STORE])
def test_a_release_orders_did_not_ask_for_cancels_the_paid_order_with_its_payment_due_back(
    mode: FulfillmentMode,
) -> None:
    order = paid_order(mode)
    assert order.record_lapsed_reservation("r1", NOW, released="ops") is True
    assert order.status is OrderStatus.CANCELLED
    assert order.refunded == order.paid
    assert "stock released in inventory (ops)" in order.status_reason
    assert order.stock_requests == []  # inventory already gave the units back
    assert order.record_lapsed_reservation("r1", NOW, released="ops") is False  # redelivered: nothing more
    assert order.record_lapsed_reservation("other", NOW, released="ops") is False


def test_a_release_of_a_partly_shipped_order_cancels_what_has_not_left() -> None:
    order = paid_order(FulfillmentMode.SHIP, "WH1", "WH2")
    first, second = order.fulfillments
    order.ship(first.id, "T", NOW, commit=C.CONFIRMED)
    assert order.status is OrderStatus.FULFILLING

    assert order.record_lapsed_reservation("r1", NOW, released="ops") is True
    assert (order.status, first.status, second.status) == (
        OrderStatus.SHIPPED,
        FulfillmentStatus.SHIPPED,
        FulfillmentStatus.CANCELLED,
    )
    assert order.refunded == Money("CNY", 500)  # the share of what never left
    with pytest.raises(FailedPrecondition):
        order.ship(second.id, "T", NOW, commit=C.CONFIRMED)
    assert order.record_lapsed_reservation("r1", NOW, released="ops") is False
