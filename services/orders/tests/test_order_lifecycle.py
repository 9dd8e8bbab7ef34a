"""The order's state machine and money rules, on the domain alone (no database, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool_kernel.money import MAX_AMOUNT_MINOR, Money
from onepool_kernel.presale import PresaleTerms
from onepool_orders.domain import events
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.model import (
    TRANSITIONS,
    AllocatedStock,
    CustomerInfo,
    FulfillmentMode,
    FulfillmentPreference,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
    Shortage,
)
from onepool_orders.domain.stock_requests import StockLine
from onepool_runtime.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = OrderStatus


def cny(amount: int) -> Money:
    return Money("CNY", amount)


def new_order(*lines: tuple[str, int, int], mode: FulfillmentMode = FulfillmentMode.SHIP) -> Order:
    pref = FulfillmentPreference(
        mode=mode, address="x", pickup_location_id="SHOP" if mode.name.startswith("PICK") else ""
    )
    return Order.place(
        order_id="o1",
        channel_id="web",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine(sku, q, cny(p)) for sku, q, p in lines or [("A", 2, 500)]],
        fulfillment=pref,
        dealer_id="",
        payment_ttl_seconds=0,
        now=NOW,
    )


def reserved(order: Order, *allocations: AllocatedStock, expires_in: float = 900) -> Order:
    allocations = allocations or tuple(AllocatedStock(ln.sku, "WH", ln.quantity) for ln in order.lines)
    order.record_reservation("r1", NOW + timedelta(seconds=expires_in), list(allocations), "c1", NOW)
    return order


def paid(order: Order) -> Order:
    order.pay(order.total, "pay-1", NOW)
    return order


def shipped(order: Order) -> Order:
    for f in order.fulfillments:
        order.ship(f.id, "T", NOW)
    return order


def event_types(order: Order) -> list[str]:
    return [type(e).__name__ for e in order.events]


def test_total_is_the_sum_of_unit_price_times_quantity() -> None:
    assert new_order(("A", 2, 500), ("B", 3, 199)).total == cny(1597)


def test_lines_in_different_currencies_are_refused_naming_the_line() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Order.place(
            order_id="o",
            channel_id="c",
            external_order_id="e",
            customer=CustomerInfo(),
            lines=[OrderLine("A", 1, cny(1)), OrderLine("B", 1, Money("USD", 1))],
            fulfillment=FulfillmentPreference(),
            dealer_id="",
            payment_ttl_seconds=0,
            now=NOW,
        )
    assert [v.field for v in caught.value.violations] == ["lines[1].unit_price.currency"]


def test_a_line_worth_more_than_any_service_books_is_refused_even_when_its_discount_brings_it_down() -> None:
    """Audit X: 2 x 6e14 less 3e14 is a 9e14 total, within the limit, but settlement values the line before its
    discount (1.2e15): the paid order's event was dead-lettered and its sale never booked. Refused at placing."""
    with pytest.raises(InvalidArgument) as caught:
        Order.place(
            order_id="o",
            channel_id="c",
            external_order_id="e",
            customer=CustomerInfo(),
            lines=[OrderLine("A", 2, cny(6 * 10**14), discount_minor=3 * 10**14)],
            fulfillment=FulfillmentPreference(),
            dealer_id="",
            payment_ttl_seconds=0,
            now=NOW,
        )
    assert [v.field for v in caught.value.violations] == ["lines[0].unit_price.amount_minor"]


def test_reservation_makes_one_fulfillment_per_location_with_its_owner() -> None:
    order = new_order(("A", 3, 100), ("B", 1, 100))
    reserved(
        order, AllocatedStock("A", "WH", 2), AllocatedStock("A", "DS", 1, "dealer-9"), AllocatedStock("B", "WH", 1)
    )
    assert order.status is S.RESERVED
    by_location = {f.location_id: (f.lines, f.owner_dealer_id) for f in order.fulfillments}
    assert by_location == {
        "DS": ((StockLine("A", 1),), "dealer-9"),
        "WH": ((StockLine("A", 2), StockLine("B", 1)), ""),
    }
    assert event_types(order) == ["OrderPlaced"]


def test_a_reservation_that_does_not_cover_the_order_is_never_recorded() -> None:
    order = new_order(("A", 3, 100))
    with pytest.raises(ValueError):
        reserved(order, AllocatedStock("A", "WH", 2))
    assert order.status is S.PENDING


def test_payment_must_equal_the_total_in_its_currency_and_changes_nothing_otherwise() -> None:
    order = reserved(new_order(("A", 2, 500)))
    for wrong in (cny(999), cny(1001), Money("USD", 1000)):
        with pytest.raises(InvalidArgument):
            order.pay(wrong, "p", NOW)
    assert order.status is S.RESERVED and order.paid == cny(0) and order.stock_requests == []


def test_paying_commits_the_reservation_and_repeating_the_same_payment_is_harmless() -> None:
    order = paid(reserved(new_order()))
    assert order.status is S.PAID
    assert order.stock_requests == [sr.CommitReservation("r1")]
    assert order.pay(order.total, "pay-1", NOW) is False
    with pytest.raises(FailedPrecondition):
        order.pay(order.total, "another-payment", NOW)


def test_payment_after_the_reservation_expired_is_refused() -> None:
    order = reserved(new_order(), expires_in=-1)
    with pytest.raises(FailedPrecondition) as caught:
        order.pay(order.total, "p", NOW)
    assert caught.value.reason == "RESERVATION_EXPIRED"
    assert order.status is S.RESERVED


def test_pickup_orders_are_ready_for_pickup_once_paid_and_shipped_when_handed_over() -> None:
    order = paid(reserved(new_order(mode=FulfillmentMode.PICKUP_IN_STORE)))
    assert order.status is S.READY_FOR_PICKUP
    with pytest.raises(FailedPrecondition):
        order.ship(order.fulfillments[0].id, "T", NOW)
    order.confirm_pickup(order.fulfillments[0].id, NOW)
    assert order.status is S.SHIPPED
    assert order.fulfillments[0].status is FulfillmentStatus.PICKED_UP


def test_a_cancelled_pickup_order_is_not_handed_over_and_the_counter_is_not_told_to_take_payment() -> None:
    """Audit S: a paid pickup order cancelled by the seller was refused at the counter "it must be paid first":
    staff could ask a customer who is owed a refund to pay again."""
    unpaid = reserved(new_order(mode=FulfillmentMode.PICKUP_IN_STORE))
    cancelled = paid(reserved(new_order(mode=FulfillmentMode.PICKUP_IN_STORE)))
    cancelled.cancel("seller", NOW)
    for order, told in ((cancelled, "was cancelled"), (unpaid, "must be paid first")):
        with pytest.raises(FailedPrecondition) as caught:
            order.confirm_pickup(order.fulfillments[0].id, NOW)
        assert caught.value.reason == "INVALID_ORDER_STATE"
        assert told in caught.value.message and ("paid first" in caught.value.message) is (order is unpaid)


def test_order_is_fulfilling_until_every_fulfillment_has_left_then_shipped() -> None:
    order = new_order(("A", 3, 100))
    paid(reserved(order, AllocatedStock("A", "WH1", 1), AllocatedStock("A", "WH2", 1), AllocatedStock("A", "WH3", 1)))
    statuses = []
    for f in order.fulfillments:
        order.ship(f.id, "T", NOW)
        statuses.append(order.status)
    assert statuses == [S.FULFILLING, S.FULFILLING, S.SHIPPED]
    assert [type(r).__name__ for r in order.stock_requests[1:]] == ["FulfillReservation"] * 3


def test_shipping_an_unpaid_order_or_an_unknown_fulfillment_is_refused() -> None:
    order = reserved(new_order())
    with pytest.raises(FailedPrecondition):
        order.ship(order.fulfillments[0].id, "T", NOW)
    paid(order)
    with pytest.raises(NotFound):
        order.ship("nope", "T", NOW)


def test_shipping_a_fulfillment_that_left_or_was_cancelled_says_so() -> None:
    """INVALID_FULFILLMENT_STATE, as the contract says: not the order's INVALID_ORDER_STATE, which is what a fully
    shipped (SHIPPED) or cancelled order used to answer."""
    order = paid(reserved(new_order()))
    [fulfillment] = order.fulfillments
    order.ship(fulfillment.id, "T-1", NOW)
    assert order.ship(fulfillment.id, "T-1", NOW) is False  # the same shipment again: nothing changes
    with pytest.raises(FailedPrecondition) as caught:
        order.ship(fulfillment.id, "T-2", NOW)
    assert (caught.value.reason, caught.value.metadata["status"]) == ("INVALID_FULFILLMENT_STATE", "SHIPPED")

    cancelled = paid(reserved(new_order()))
    cancelled.cancel("changed mind", NOW)
    with pytest.raises(FailedPrecondition) as caught:
        cancelled.ship(cancelled.fulfillments[0].id, "T", NOW)
    assert (caught.value.reason, caught.value.metadata["status"]) == ("INVALID_FULFILLMENT_STATE", "CANCELLED")


def test_cancel_before_shipping_releases_and_refunds_and_after_something_left_cancels_the_rest() -> None:
    order = paid(reserved(new_order()))
    order.cancel("changed mind", NOW)
    assert order.status is S.CANCELLED
    assert order.refunded == order.paid
    assert sr.ReleaseReservation("r1", "changed mind") in order.stock_requests
    assert event_types(order)[-1] == "OrderCancelled"
    assert order.cancel("again", NOW) is False  # a repeated cancel changes nothing

    split = new_order(("A", 2, 100))
    paid(reserved(split, AllocatedStock("A", "WH1", 1), AllocatedStock("A", "WH2", 1)))
    split.ship(split.fulfillments[0].id, "T", NOW)
    assert split.cancel("WH2 lost it", NOW)
    assert split.status is S.SHIPPED and split.fulfillments[1].status is FulfillmentStatus.CANCELLED
    assert split.refunded == cny(100)  # the unit never sent
    assert (split.never_sent("A"), event_types(split)[-1]) == (1, "ItemsReturned")
    assert sr.ReleaseReservation("r1", "WH2 lost it") in split.stock_requests
    assert split.cancel("again", NOW) is False
    with pytest.raises(FailedPrecondition):  # all of it left: return it instead
        shipped(paid(reserved(new_order()))).cancel("too late", NOW)


def test_expiry_cancels_only_the_order_holding_that_reservation_and_only_before_payment_is_confirmed() -> None:
    order = reserved(new_order())
    assert order.record_lapsed_reservation("other-reservation", NOW) is False
    assert order.record_lapsed_reservation("r1", NOW) is True
    assert order.status is S.CANCELLED
    assert not any(isinstance(r, sr.ReleaseReservation) for r in order.stock_requests)  # inventory already did

    shipped_order = shipped(paid(reserved(new_order())))
    assert shipped_order.record_lapsed_reservation("r1", NOW) is False
    assert shipped_order.status is S.SHIPPED


def test_rejected_orders_keep_the_shortfall() -> None:
    order = new_order(("A", 5, 100))
    order.record_rejection([Shortage("A", 5, 2)], "insufficient stock", "c1", NOW)
    assert order.status is S.REJECTED
    assert order.shortfalls == [Shortage("A", 5, 2)]
    with pytest.raises(FailedPrecondition):
        order.pay(order.total, "p", NOW)


def test_returns_refund_in_proportion_and_the_last_one_refunds_the_rest_exactly() -> None:
    # 3 units at 333: thirds of a payment that does not divide evenly.
    order = shipped(paid(reserved(new_order(("A", 3, 333)))))
    refunds = [
        order.return_items(f"r{i}", f"q{i}", [StockLine("A", 1)], "SHOP", "", NOW).refund.amount_minor for i in range(3)
    ]
    assert refunds == [333, 333, 333]
    assert sum(refunds) == order.paid.amount_minor == order.refunded.amount_minor  # type: ignore[union-attr]
    assert order.stock_requests[-1] == sr.RestockReturn(
        "SHOP", (StockLine("A", 1),), "orders:return:r2", "o1", "customer return"
    )


def test_returning_more_than_was_delivered_or_a_foreign_sku_is_refused() -> None:
    order = shipped(paid(reserved(new_order(("A", 2, 100)))))
    with pytest.raises(FailedPrecondition) as caught:
        order.return_items("r", "q", [StockLine("A", 3)], "SHOP", "", NOW)
    assert caught.value.metadata == {"sku": "A", "requested": "3", "available": "2"}
    with pytest.raises(InvalidArgument):
        order.return_items("r", "q", [StockLine("Z", 1)], "SHOP", "", NOW)
    assert order.refunded == cny(0)


def test_nothing_can_be_returned_before_it_was_delivered() -> None:
    order = paid(reserved(new_order()))
    with pytest.raises(FailedPrecondition):
        order.return_items("r", "q", [StockLine("A", 1)], "SHOP", "", NOW)


ALL_COMMANDS = {
    "pay": lambda o: o.pay(o.total, "pay-x", NOW),
    "cancel": lambda o: o.cancel("x", NOW),
    "ship": lambda o: o.ship(o.fulfillments[0].id if o.fulfillments else "f", "T", NOW),
    "complete": lambda o: o.complete(NOW),
}


def _in_state(status: OrderStatus) -> Order:
    order = new_order()
    if status is S.PENDING:
        return order
    if status is S.REJECTED:
        order.record_rejection([], "no", "", NOW)
        return order
    reserved(order)
    if status is S.RESERVED:
        return order
    if status is S.CANCELLED:
        order.cancel("x", NOW)
        return order
    paid(order)
    if status is S.PAID:
        return order
    shipped(order)
    if status is S.COMPLETED:
        order.complete(NOW)
    return order


@pytest.mark.parametrize("status", [S.PENDING, S.RESERVED, S.PAID, S.SHIPPED, S.COMPLETED, S.CANCELLED, S.REJECTED])
@pytest.mark.parametrize("command", sorted(ALL_COMMANDS))
def test_every_command_either_follows_the_transition_table_or_is_refused_changing_nothing(
    status: OrderStatus, command: str
) -> None:
    order = _in_state(status)
    before = (order.status, [f.status for f in order.fulfillments], order.paid, order.refunded)
    try:
        ALL_COMMANDS[command](order)
    except (FailedPrecondition, NotFound, Conflict):  # Conflict: PENDING, still being placed (retry)
        assert (order.status, [f.status for f in order.fulfillments], order.paid, order.refunded) == before
        return
    assert order.status is before[0] or order.status in TRANSITIONS[before[0]]


def test_events_carry_the_order_as_committed() -> None:
    order = paid(reserved(new_order()))
    assert [type(e) for e in order.events] == [events.OrderPlaced, events.OrderPaid]
    assert all(e.order is order for e in order.events)


def test_the_order_decides_whether_it_is_open_and_paid_in_every_state() -> None:
    """What orders' events state as facts; readers never work it out from the status themselves."""

    def facts(order: Order) -> tuple[OrderStatus, bool, bool]:
        return order.status, order.is_open, order.is_paid

    order = reserved(new_order())
    assert facts(order) == (S.RESERVED, True, False)
    assert facts(paid(order)) == (S.PAID, True, True)
    assert facts(shipped(order)) == (S.SHIPPED, True, True)
    order.complete(NOW)
    assert facts(order) == (S.COMPLETED, False, True)

    pickup = paid(reserved(new_order(mode=FulfillmentMode.PICKUP_IN_STORE)))
    assert facts(pickup) == (S.READY_FOR_PICKUP, True, True)

    split = new_order(("A", 2, 100))
    paid(reserved(split, AllocatedStock("A", "WH1", 1), AllocatedStock("A", "WH2", 1)))
    split.ship(split.fulfillments[0].id, "T", NOW)
    assert facts(split) == (S.FULFILLING, True, True)
    assert [split.delivered("A")] == [1]

    unpaid = reserved(new_order())
    unpaid.cancel("changed mind", NOW)
    assert facts(unpaid) == (S.CANCELLED, False, False)
    cancelled_after_payment = paid(reserved(new_order()))
    cancelled_after_payment.cancel("changed mind", NOW)
    assert facts(cancelled_after_payment) == (S.CANCELLED, False, True)  # paid, and all of it due back
    assert all(f.is_cancelled for f in cancelled_after_payment.fulfillments)

    rejected = new_order()
    rejected.record_rejection([Shortage("A", 2, 0)], "insufficient stock", "c1", NOW)
    assert facts(rejected) == (S.REJECTED, False, False)


# --- repricing (RepriceOrder) ------------------------------------------------------------------------------


def test_only_an_unpaid_order_is_repriced_a_placing_one_is_retried() -> None:
    with pytest.raises(Conflict):
        new_order().reprice({"A": cny(100)}, cny(0), NOW)
    deposit = reserved(new_order())
    deposit.pay(cny(200), "dep", NOW, PaymentKind.DEPOSIT, PresaleTerms(balance_due_seconds=3600))
    cancelled = reserved(new_order())
    cancelled.cancel("buyer", NOW)
    for order in (deposit, paid(reserved(new_order())), cancelled):
        with pytest.raises(FailedPrecondition) as caught:
            order.reprice({"A": cny(100)}, cny(0), NOW)
        assert caught.value.reason == "INVALID_ORDER_STATE"
        assert order.total == cny(1_000)
    # Its own prices again are no change, whatever its state; nor is an older adjustment.
    assert paid(reserved(new_order())).reprice({"A": cny(0)}, cny(0), NOW) is False
    order = reserved(new_order())
    later = NOW + timedelta(seconds=1)
    assert order.reprice({"A": cny(100)}, cny(0), later, NOW - timedelta(seconds=1)) is False
    assert order.reprice({"A": cny(100)}, cny(0), later, later) is True
    assert event_types(order)[-1] == "OrderRepriced"
    assert (order.total, order.placed_prices_or_now.discounts) == (cny(900), (("A", 0),))


def test_a_payment_for_an_order_still_being_placed_is_to_be_retried_not_refused() -> None:
    """Review of 6b285f5: channels' import paid a PENDING order (its inventory call had failed), orders refused
    INVALID_ORDER_STATE, the import took that for "already paid" and answered OK: the buyer's payment was lost."""
    for kind, amount in (
        (PaymentKind.FULL, cny(1_000)),
        (PaymentKind.DEPOSIT, cny(200)),
        (PaymentKind.BALANCE, cny(800)),
    ):
        order = new_order()
        with pytest.raises(Conflict):
            order.pay(amount, "p", NOW, kind, PresaleTerms(balance_due_seconds=3600))
        assert (order.status, order.paid) == (S.PENDING, cny(0))


def test_a_reprice_never_takes_the_total_past_what_placing_allows() -> None:
    order = reserved(new_order(("A", 1, MAX_AMOUNT_MINOR - 10)))
    with pytest.raises(InvalidArgument) as caught:
        order.reprice({"A": cny(0)}, cny(11), NOW)
    assert [v.field for v in caught.value.violations] == ["shipping_fee.amount_minor"]
    assert order.total == cny(MAX_AMOUNT_MINOR - 10)
    assert order.reprice({"A": cny(0)}, cny(10), NOW) is True


# --- the delivery address ----------------------------------------------------------------------------------


def test_the_address_moves_until_something_ships_and_the_region_and_stock_stay() -> None:
    order = paid(reserved(new_order()))
    order.events.clear()
    later = NOW + timedelta(minutes=5)

    assert order.change_delivery_address("2 New Rd", later) is True
    assert (order.fulfillment.address, order.fulfillment.mode, order.updated_at) == (
        "2 New Rd",
        FulfillmentMode.SHIP,
        later,
    )
    assert [f.location_id for f in order.fulfillments] == ["WH"] and order.stock_requests == [
        sr.CommitReservation("r1")
    ]
    assert event_types(order) == ["DeliveryAddressChanged"]
    assert order.events[0].previous_address == "x"
    # Already there: nothing changes, nothing is published.
    assert order.change_delivery_address("2 New Rd", later) is False
    assert event_types(order) == ["DeliveryAddressChanged"]


def test_the_address_stays_once_shipped_for_pickup_and_for_closed_orders() -> None:
    cancelled = reserved(new_order())
    cancelled.cancel("buyer", NOW)
    for order in (
        shipped(paid(reserved(new_order()))),
        paid(reserved(new_order(mode=FulfillmentMode.PICKUP_IN_STORE))),
        cancelled,
    ):
        with pytest.raises(FailedPrecondition) as caught:
            order.change_delivery_address("2 New Rd", NOW)
        assert caught.value.reason == "INVALID_ORDER_STATE"
        assert order.fulfillment.address == "x"


def test_a_pending_order_is_retried_not_moved() -> None:
    with pytest.raises(Conflict):
        new_order().change_delivery_address("2 New Rd", NOW)
