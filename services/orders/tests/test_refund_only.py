"""A refund with no goods back (Order.refund_only) on the order's domain alone: recorded as a return of no goods,
counted by later returns (refunds stay cumulative, never past what was paid), and only on an order paid in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_orders.domain import events
from onepool_orders.domain.model import (
    AllocatedStock,
    CustomerInfo,
    FulfillmentPreference,
    Order,
    OrderLine,
    PaymentKind,
)
from onepool_orders.domain.model import OrderStatus as S
from onepool_orders.domain.stock_requests import StockLine
from onepool_runtime.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money("CNY", amount)


def reserved(*lines: tuple[str, int, int]) -> Order:
    order = Order.place(
        order_id="o1",
        channel_id="web",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine(sku, q, cny(p)) for sku, q, p in lines],
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
        now=NOW,
    )
    allocations = [AllocatedStock(ln.sku, "WH", ln.quantity) for ln in order.lines]
    order.record_reservation("r1", NOW + timedelta(minutes=15), allocations, "c1", NOW)
    return order


def shipped(*lines: tuple[str, int, int]) -> Order:
    order = reserved(*lines)
    order.pay(order.total, "pay-1", NOW)
    for f in order.fulfillments:
        order.ship(f.id, "T", NOW)
    order.events.clear()
    order.stock_requests.clear()
    return order


def test_a_refund_only_is_a_return_of_no_goods_and_moves_no_stock() -> None:
    order = shipped(("A", 2, 5_000))
    refund = order.refund_only("ret-1", "ch:key", cny(3_000), "scratched box", NOW)
    assert (refund.lines, refund.location_id, refund.refund, refund.request_id) == ((), "", cny(3_000), "ch:key")
    assert order.refunded == cny(3_000) and order.status is S.SHIPPED
    assert order.stock_requests == [] and order.lines[0].returned == 0
    [event] = order.events
    assert isinstance(event, events.ItemsReturned) and event.order_return is refund
    assert order.new_returns == [refund]
    assert not order.is_final


def test_later_returns_count_it_and_never_refund_past_what_was_paid() -> None:
    order = shipped(("A", 2, 5_000))
    order.refund_only("g1", "k1", cny(2_000), "", NOW)
    # Cumulative: half the goods are due half the payment, of which 2 000 is refunded already.
    half = order.return_items("r1", "k2", [StockLine("A", 1)], "SHOP", "", NOW)
    assert half.refund == cny(3_000)
    rest = order.return_items("r2", "k3", [StockLine("A", 1)], "SHOP", "", NOW)
    assert rest.refund == cny(5_000)  # exactly the rest
    assert order.refunded == order.paid and order.is_final
    with pytest.raises(InvalidArgument) as nothing_left:
        order.refund_only("g2", "k4", cny(1), "", NOW)
    assert [v.field for v in nothing_left.value.violations] == ["amount.amount_minor"]


def test_a_refund_beyond_what_is_left_or_in_another_currency_is_refused_naming_the_field() -> None:
    order = shipped(("A", 1, 10_000))
    order.refund_only("g1", "k1", cny(4_000), "", NOW)
    with pytest.raises(InvalidArgument) as too_much:
        order.refund_only("g2", "k2", cny(6_001), "", NOW)
    assert [v.field for v in too_much.value.violations] == ["amount.amount_minor"]
    assert "at most 6000" in too_much.value.violations[0].description
    with pytest.raises(InvalidArgument) as foreign:
        order.refund_only("g2", "k2", Money("USD", 1), "", NOW)
    assert [v.field for v in foreign.value.violations] == ["amount.currency"]
    assert order.refunded == cny(4_000) and len(order.new_returns) == 1


@pytest.mark.parametrize("state", ["reserved", "deposit_paid", "cancelled"])
def test_only_an_order_paid_in_full_is_refunded(state: str) -> None:
    order = reserved(("A", 1, 10_000))
    if state == "deposit_paid":
        # A deposit alone sells nothing yet: its lapse decides it by its rule, settlement has booked no sale.
        terms = PresaleTerms(balance_due_seconds=3600, min_deposit_bps=2000, deposit_rule=DepositRule.KEEP)
        order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, terms)
        assert order.status is S.DEPOSIT_PAID
    if state == "cancelled":
        order.pay(order.total, "pay-1", NOW)
        order.cancel("buyer", NOW)
    with pytest.raises(FailedPrecondition) as refused:
        order.refund_only("g1", "k1", cny(100), "", NOW)
    assert refused.value.reason == "INVALID_ORDER_STATE"


def test_after_the_window_only_when_accepted_late() -> None:
    order = shipped(("A", 1, 10_000))
    late = order.returnable_until + timedelta(seconds=1)  # type: ignore[operator]
    with pytest.raises(FailedPrecondition) as closed:
        order.refund_only("g1", "k1", cny(100), "", late)
    assert closed.value.reason == "RETURN_WINDOW_CLOSED"
    assert order.refund_only("g1", "k1", cny(100), "", late, accept_after_window=True).refund == cny(100)


def test_everything_back_while_goods_are_still_to_leave_is_a_cancellation_not_a_refund() -> None:
    """Review N2: refunding all of a paid, unshipped order left it PAID and final (wholly refunded), and its
    goods still shipped. Refused, pointing to CancelOrder; a part is still refunded, and once the goods have
    left the rest may be too."""
    order = reserved(("A", 1, 10_000))
    order.pay(order.total, "pay-1", NOW)
    with pytest.raises(FailedPrecondition) as caught:
        order.refund_only("g1", "k1", cny(10_000), "", NOW)
    assert caught.value.reason == "INVALID_ORDER_STATE" and "CancelOrder" in caught.value.message
    assert order.refunded == cny(0) and not order.new_returns
    order.refund_only("g1", "k1", cny(4_000), "", NOW)
    order.ship(order.fulfillments[0].id, "T", NOW)
    order.refund_only("g2", "k2", cny(6_000), "", NOW)
    assert order.refunded == cny(10_000)
