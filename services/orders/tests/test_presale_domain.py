"""Presale on the order's domain alone (docs/presale.md): lines that wait for goods follow inventory's news
(idempotently, older news ignored), nothing ships while its units wait, and a deposit, a balance and a lapse
move the money as the channel's terms say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_orders.domain import events
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.model import (
    AllocatedStock,
    CustomerInfo,
    FulfillmentPreference,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
)
from onepool_runtime.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money("CNY", amount)


def new_order(*lines: tuple[str, int, int]) -> Order:
    return Order.place(
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


def reserved(order: Order, *allocations: AllocatedStock) -> Order:
    allocations = allocations or tuple(AllocatedStock(ln.sku, "WH", ln.quantity) for ln in order.lines)
    order.record_reservation("r1", NOW + timedelta(minutes=15), list(allocations), "c1", NOW)
    return order


DAY = timedelta(days=1)
TERMS = PresaleTerms(balance_due_seconds=3600, min_deposit_bps=2000, deposit_rule=DepositRule.KEEP)


def waiting(quantity: int, days: int | None) -> AllocatedStock:
    return AllocatedStock("A", "WH", quantity, awaiting=quantity, promised_at=NOW + days * DAY if days else None)


def test_lines_show_waiting_units_and_follow_fills_and_moved_promises_once() -> None:
    order = reserved(new_order(("A", 3, 500)), waiting(3, 2))
    line = order.lines[0]
    assert (line.awaiting, line.promised_at) == (3, NOW + 2 * DAY)

    order.events.clear()
    assert order.follow_stock("r1", [waiting(3, 5)], NOW + timedelta(seconds=1), NOW, "LATE")
    assert (line.awaiting, line.promised_at) == (3, NOW + 5 * DAY)
    [moved] = order.events
    assert isinstance(moved, events.PromiseMoved) and moved.reason == "LATE"
    assert [(m.sku, m.awaiting, m.previous_promised_at, m.promised_at) for m in moved.lines] == [
        ("A", 3, NOW + 2 * DAY, NOW + 5 * DAY)
    ]
    # The same news again, or older news, changes nothing.
    assert not order.follow_stock("r1", [waiting(3, 5)], NOW + timedelta(seconds=1), NOW, "LATE")
    assert not order.follow_stock("r1", [waiting(3, 2)], NOW, NOW)
    assert not order.follow_stock("other-reservation", [waiting(0, None)], NOW + timedelta(seconds=9), NOW)
    assert line.promised_at == NOW + 5 * DAY

    order.events.clear()
    assert order.follow_stock("r1", [AllocatedStock("A", "WH", 3)], NOW + timedelta(seconds=2), NOW)
    assert (line.awaiting, line.promised_at) == (0, None)
    assert [type(e) for e in order.events] == [events.StockFilled]


def test_each_reason_of_one_inventory_transaction_is_told_of_its_own_lines_once() -> None:
    # A is late and B is given its first date in one inventory transaction: two events, each carrying the
    # reservation as the whole transaction left it, each naming the lines its reason moved.
    order = reserved(new_order(("A", 2, 500), ("B", 2, 500)), waiting(2, 2), waiting_b(2, None))
    after = [waiting(2, 5), waiting_b(2, 3)]
    at = NOW + timedelta(seconds=1)

    order.events.clear()
    assert order.follow_stock("r1", after, at, NOW, "LATE", frozenset({"A"}))
    assert order.follow_stock("r1", after, at, NOW, "PROMISED", frozenset({"B"}))
    told = {p.sku: (e.reason, p.previous_promised_at, p.promised_at) for e in order.events for p in e.lines}
    assert told == {"A": ("LATE", NOW + 2 * DAY, NOW + 5 * DAY), "B": ("PROMISED", None, NOW + 3 * DAY)}
    # Either again (a redelivery), or the whole news without names, changes nothing more.
    assert not order.follow_stock("r1", after, at, NOW, "LATE", frozenset({"A"}))
    assert not order.follow_stock("r1", after, at, NOW, "PROMISED", frozenset({"B"}))
    assert not order.follow_stock("r1", after, at, NOW)
    assert len(order.events) == 2


def test_a_promise_event_naming_other_lines_still_follows_fills_and_news_without_names_moves_every_line() -> None:
    order = reserved(new_order(("A", 2, 500), ("B", 2, 500)), waiting(2, 2), waiting_b(2, 2))
    order.events.clear()
    # B is half filled and late, A is late: the LATE event names A only; B's date waits for its own event.
    after = [waiting(2, 5), waiting_b(1, 4)]
    assert order.follow_stock("r1", after, NOW + timedelta(seconds=1), NOW, "LATE", frozenset({"A"}))
    assert [(ln.sku, ln.awaiting, ln.promised_at) for ln in order.lines] == [
        ("A", 2, NOW + 5 * DAY),
        ("B", 1, NOW + 2 * DAY),
    ]
    assert [type(e) for e in order.events] == [events.StockFilled, events.PromiseMoved]
    # News that names no lines (a promise event without moves) moves every line, as it always did.
    order.events.clear()
    assert order.follow_stock("r1", after, NOW + timedelta(seconds=1), NOW, "SHORT")
    [moved] = order.events
    assert isinstance(moved, events.PromiseMoved)
    assert (moved.reason, [p.sku for p in moved.lines]) == ("SHORT", ["B"])


def waiting_b(quantity: int, days: int | None) -> AllocatedStock:
    return AllocatedStock("B", "WH", quantity, awaiting=quantity, promised_at=NOW + days * DAY if days else None)


def test_nothing_ships_while_its_units_wait() -> None:
    order = reserved(new_order(("A", 3, 500)), waiting(3, 2))
    order.pay(order.total, "pay", NOW)
    with pytest.raises(FailedPrecondition) as refused:
        order.ship(order.fulfillments[0].id, "SF1", NOW)
    assert refused.value.reason == "AWAITING_STOCK"
    order.follow_stock("r1", [AllocatedStock("A", "WH", 3)], NOW + timedelta(seconds=1), NOW)
    assert order.ship(order.fulfillments[0].id, "SF1", NOW)
    assert order.status is OrderStatus.SHIPPED


def test_deposit_balance_and_their_bounds() -> None:
    order = reserved(new_order(("A", 2, 5_000)))  # total 10 000; the least deposit is 2 000
    with pytest.raises(FailedPrecondition) as no_terms:
        order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, PresaleTerms())
    assert no_terms.value.reason == "DEPOSIT_NOT_OFFERED"
    for amount in (1_999, 10_000):
        with pytest.raises(InvalidArgument):
            order.pay(cny(amount), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert (order.status, order.paid, order.deposit, order.is_paid) == (S_DEP, cny(2_000), cny(2_000), False)
    assert order.balance_due_at == NOW + timedelta(hours=1)
    assert [type(r) for r in order.stock_requests] == [sr.CommitReservation]
    assert not order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)  # the same deposit again
    with pytest.raises(FailedPrecondition):
        order.pay(order.total, "full", NOW)  # a deposit was paid: the balance is due, not the total
    with pytest.raises(InvalidArgument):
        order.pay(cny(7_999), "bal", NOW, PaymentKind.BALANCE)
    with pytest.raises(FailedPrecondition) as overdue:
        order.pay(cny(8_000), "bal", NOW + timedelta(hours=1), PaymentKind.BALANCE)
    assert overdue.value.reason == "BALANCE_OVERDUE"
    assert order.pay(cny(8_000), "bal", NOW, PaymentKind.BALANCE)
    assert (order.status, order.paid, order.is_paid) == (OrderStatus.PAID, cny(10_000), True)
    assert not order.pay(cny(8_000), "bal", NOW, PaymentKind.BALANCE)  # the same balance again
    assert not order.lapse_balance(DepositRule.KEEP, NOW + DAY)  # paid: nothing lapses


@pytest.mark.parametrize(("rule", "refunded", "kept"), [(DepositRule.REFUND, 2_000, 0), (DepositRule.KEEP, 0, 2_000)])
def test_a_lapsed_balance_releases_the_units_and_applies_the_rule_the_deposit_was_paid_under(
    rule: DepositRule, refunded: int, kept: int
) -> None:
    order = reserved(new_order(("A", 2, 5_000)))
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, replace(TERMS, deposit_rule=rule))
    assert order.deposit_rule is rule
    order.stock_requests.clear()
    # The channel switched to the other rule since: that is for deposits paid from now on.
    switched = DepositRule.KEEP if rule is DepositRule.REFUND else DepositRule.REFUND
    assert not order.lapse_balance(switched, NOW + timedelta(minutes=59))  # not due yet
    assert order.lapse_balance(switched, NOW + timedelta(hours=1))
    assert order.status is OrderStatus.CANCELLED
    assert (order.refunded, order.deposit_kept, order.is_paid) == (cny(refunded), cny(kept), False)
    assert order.stock_requests == [sr.ReleaseReservation("r1", order.status_reason)]
    assert not order.lapse_balance(switched, NOW + DAY)  # once


@pytest.mark.parametrize(("rule", "refunded", "kept"), [(DepositRule.REFUND, 2_000, 0), (DepositRule.KEEP, 0, 2_000)])
def test_a_deposit_paid_before_its_rule_was_kept_lapses_by_the_channels_rule(
    rule: DepositRule, refunded: int, kept: int
) -> None:
    order = reserved(new_order(("A", 2, 5_000)))
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    order.deposit_rule = None  # as read back from a row written before the column existed
    assert order.lapse_balance(rule, NOW + timedelta(hours=1))
    assert (order.refunded, order.deposit_kept) == (cny(refunded), cny(kept))


@pytest.mark.parametrize(
    ("news", "why"),
    [
        ([waiting(2, 9)], "moved a promised date later"),  # the receipt was rescheduled later
        ([waiting(2, None)], "moved a promised date later or lost it"),  # ... or cancelled: no date at all
    ],
)
def test_a_seller_that_broke_its_promise_keeps_no_deposit(news: list[AllocatedStock], why: str) -> None:
    """定金不退 binds the customer who walks away, not a seller who failed: a deposit paid for goods promised
    on day 2, then moved later or left without a date, is refunded when the balance lapses (it was kept)."""
    order = reserved(new_order(("A", 2, 5_000)), waiting(2, 2))
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert order.follow_stock("r1", news, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1), "LATE")
    assert order.promise_broken_at == NOW + timedelta(seconds=1)
    assert order.lapse_balance(DepositRule.KEEP, NOW + timedelta(hours=1))
    assert (order.refunded, order.deposit_kept) == (cny(2_000), cny(0))
    assert why in order.status_reason


def test_a_seller_that_kept_or_bettered_its_promise_keeps_the_deposit_under_keep() -> None:
    order = reserved(new_order(("A", 2, 5_000)), waiting(2, 5))
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert order.follow_stock("r1", [waiting(2, 3)], NOW + timedelta(seconds=1), NOW, "SOONER")  # sooner
    assert order.promise_broken_at is None
    assert order.lapse_balance(DepositRule.KEEP, NOW + timedelta(hours=1))
    assert (order.refunded, order.deposit_kept) == (cny(0), cny(2_000))


def test_a_date_moved_before_the_deposit_was_paid_breaks_nothing_but_goods_with_no_date_at_the_lapse_do() -> None:
    # Moved later while merely RESERVED: the customer paid the deposit knowing the new date.
    order = reserved(new_order(("A", 2, 5_000)), waiting(2, 2))
    assert order.follow_stock("r1", [waiting(2, 9)], NOW + timedelta(seconds=1), NOW, "LATE")
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert order.promise_broken_at is None
    assert order.lapse_balance(DepositRule.KEEP, NOW + timedelta(hours=1))
    assert order.deposit_kept == cny(2_000)
    # A backorder with no date when the deposit was paid and still none when the balance lapses: the seller
    # never said when the goods would come.
    backorder = reserved(new_order(("A", 2, 5_000)), waiting(2, None))
    backorder.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert backorder.lapse_balance(DepositRule.KEEP, NOW + timedelta(hours=1))
    assert (backorder.refunded, backorder.deposit_kept) == (cny(2_000), cny(0))
    assert "no date" in backorder.status_reason


HOUR = timedelta(hours=1)  # TERMS' balance deadline after a deposit paid at NOW


def due_in(sku: str, quantity: int, after: timedelta, awaiting: int | None = None) -> AllocatedStock:
    """`quantity` of `sku` at WH, `awaiting` of them (all unless said) promised `after` the deposit (paid at NOW)."""
    left = quantity if awaiting is None else awaiting
    return AllocatedStock(sku, "WH", quantity, awaiting=left, promised_at=NOW + after)


@pytest.mark.parametrize(
    ("promised_after", "kept"),
    [
        (-timedelta(minutes=1), False),  # the receipt was already overdue when the deposit was paid
        (timedelta(minutes=10), False),  # due before the deadline, never came, never rescheduled
        (HOUR - timedelta(microseconds=1), False),
        (HOUR, True),  # due at the deadline: the balance was due first (it is overdue at the deadline itself)
        (2 * HOUR, True),  # a presale whose balance comes due before the goods, as sold
    ],
)
def test_goods_promised_before_the_balance_deadline_and_not_come_mean_the_seller_failed(
    promised_after: timedelta, kept: bool
) -> None:
    """定金不退 binds a customer who walks away, not a seller who failed. A receipt merely late is rescheduled by
    no one, so no news moves the line's date: the date passes with the units still waiting. When it passed
    before the balance deadline, the customer could not have had the goods by then: the deposit is refunded
    (it was kept). A date at or after the deadline is the presale's design: the deposit is kept."""
    order = reserved(new_order(("A", 2, 5_000)), due_in("A", 2, promised_after))
    order.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert order.lapse_balance(DepositRule.KEEP, NOW + HOUR)
    assert order.promise_broken_at is None  # nothing moved the date: the lapse itself finds it passed
    assert (order.refunded, order.deposit_kept) == ((cny(0), cny(2_000)) if kept else (cny(2_000), cny(0)))
    assert order.status_reason.endswith("kept") is kept, order.status_reason
    if not kept:
        assert "2 x A promised for" in order.status_reason and "had not come" in order.status_reason


def test_only_lines_still_waiting_at_the_lapse_count_against_the_seller() -> None:
    # A filled on time, B due after the deadline as sold: the seller kept its side.
    on_time = reserved(new_order(("A", 1, 5_000), ("B", 1, 5_000)), due_in("A", 1, HOUR / 4), due_in("B", 1, 2 * HOUR))
    on_time.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert on_time.follow_stock("r1", [AllocatedStock("A", "WH", 1), due_in("B", 1, 2 * HOUR)], NOW + HOUR / 4, NOW)
    assert on_time.lapse_balance(DepositRule.KEEP, NOW + HOUR)
    assert on_time.deposit_kept == cny(2_000)
    # A filled on time, B due before the deadline and still waiting: B alone makes the seller the one who failed.
    b_late = reserved(new_order(("A", 1, 5_000), ("B", 1, 5_000)), due_in("A", 1, HOUR / 4), due_in("B", 1, HOUR / 2))
    b_late.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert b_late.follow_stock("r1", [AllocatedStock("A", "WH", 1), due_in("B", 1, HOUR / 2)], NOW + HOUR / 4, NOW)
    assert b_late.lapse_balance(DepositRule.KEEP, NOW + HOUR)
    assert (b_late.refunded, b_late.deposit_kept) == (cny(2_000), cny(0))
    assert "1 x B promised for" in b_late.status_reason
    # Filled late, but before the deadline: the goods were there to pay for, the customer walked away.
    late_filled = reserved(new_order(("A", 2, 5_000)), due_in("A", 2, HOUR / 6))
    late_filled.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert late_filled.follow_stock("r1", [AllocatedStock("A", "WH", 2)], NOW + HOUR / 2, NOW + HOUR / 2)
    assert late_filled.lapse_balance(DepositRule.KEEP, NOW + HOUR)
    assert late_filled.deposit_kept == cny(2_000)
    # Only a part came: the rest still waits past its date, and the seller failed all the same.
    part = reserved(new_order(("A", 2, 5_000)), due_in("A", 2, HOUR / 6))
    part.pay(cny(2_000), "dep", NOW, PaymentKind.DEPOSIT, TERMS)
    assert part.follow_stock("r1", [due_in("A", 2, HOUR / 6, awaiting=1)], NOW + HOUR / 2, NOW + HOUR / 2)
    assert part.lapse_balance(DepositRule.KEEP, NOW + HOUR)
    assert (part.refunded, part.deposit_kept) == (cny(2_000), cny(0))
    assert "1 x A promised for" in part.status_reason


S_DEP = OrderStatus.DEPOSIT_PAID


def test_two_fills_of_different_skus_applied_in_either_order_leave_nothing_waiting() -> None:
    # Two receipts fill A and B of one reservation at once: each event carries the reservation with the other
    # SKU still waiting, and the one stamped later by its inventory replica's clock may be the one read first.
    for first_stamp, second_stamp in ((2, 1), (1, 2)):
        order = reserved(new_order(("A", 2, 500), ("B", 2, 500)), waiting(2, 2), waiting_b(2, 3))
        order.events.clear()
        a_filled = [AllocatedStock("A", "WH", 2), waiting_b(2, 3)]
        b_filled = [waiting(2, 2), AllocatedStock("B", "WH", 2)]
        assert order.follow_stock("r1", a_filled, NOW + timedelta(seconds=first_stamp), NOW)
        assert order.follow_stock("r1", b_filled, NOW + timedelta(seconds=second_stamp), NOW)
        assert [(ln.sku, ln.awaiting, ln.promised_at) for ln in order.lines] == [("A", 0, None), ("B", 0, None)]
        assert [type(e) for e in order.events] == [events.StockFilled, events.StockFilled]
        # Either again (a redelivery) changes nothing.
        assert not order.follow_stock("r1", a_filled, NOW + timedelta(seconds=first_stamp), NOW)
        assert not order.follow_stock("r1", b_filled, NOW + timedelta(seconds=second_stamp), NOW)


def held(sku: str, quantity: int, days: int | None, version: int) -> AllocatedStock:
    """One allocation of SKU `sku` at WH as inventory's version `version` of it shows it (days None: filled)."""
    if days is None:
        return AllocatedStock(sku, "WH", quantity, version=version)
    return AllocatedStock(sku, "WH", quantity, awaiting=quantity, promised_at=NOW + days * DAY, version=version)


@pytest.mark.parametrize("late_first", [False, True])
def test_a_promise_move_racing_a_fill_of_another_sku_is_kept_whatever_the_stamps_and_order(late_first: bool) -> None:
    # Receipt r1 (A) is rescheduled while r2 (B) is received, in two inventory transactions at once. The fill,
    # stamped later, carries A as it read it (the old date, version 1); the promise move, stamped earlier,
    # carries A at version 2 with its new date and B as it read it (still waiting).
    order = reserved(new_order(("A", 2, 500), ("B", 2, 500)), held("A", 2, 2, 1), held("B", 2, 3, 1))
    fill = ([held("A", 2, 2, 1), held("B", 2, None, 2)], NOW + timedelta(seconds=2), "", None)
    late = ([held("A", 2, 8, 2), held("B", 2, 3, 1)], NOW + timedelta(seconds=1), "LATE", frozenset({"A"}))
    news = [late, fill] if late_first else [fill, late]
    order.events.clear()
    for allocations, stamp, reason, moved in news:
        assert order.follow_stock("r1", allocations, stamp, NOW, reason, moved)
    assert [(ln.sku, ln.awaiting, ln.promised_at) for ln in order.lines] == [("A", 2, NOW + 8 * DAY), ("B", 0, None)]
    moves = [e for e in order.events if isinstance(e, events.PromiseMoved)]
    told = [(e.reason, p.sku, p.promised_at) for e in moves for p in e.lines]
    assert told == [("LATE", "A", NOW + 8 * DAY)]
    assert order.stock_versions == {("A", "WH"): 2, ("B", "WH"): 2}
    # Either again (a redelivery) changes nothing.
    for allocations, stamp, reason, moved in news:
        assert not order.follow_stock("r1", allocations, stamp, NOW, reason, moved)


def test_dates_follow_the_allocations_version_not_the_replicas_clock() -> None:
    order = reserved(new_order(("A", 2, 500)), held("A", 2, 2, 1))
    # The second move was made on a replica whose clock runs behind: its updated_at is older, its version newer.
    assert order.follow_stock("r1", [held("A", 2, 5, 2)], NOW + timedelta(seconds=5), NOW, "LATE")
    assert order.follow_stock("r1", [held("A", 2, 8, 3)], NOW + timedelta(seconds=1), NOW, "LATE")
    assert order.lines[0].promised_at == NOW + 8 * DAY
    # Version 2 again is older than what the line followed, whatever its stamp.
    assert not order.follow_stock("r1", [held("A", 2, 5, 2)], NOW + timedelta(seconds=9), NOW, "LATE")
    assert order.lines[0].promised_at == NOW + 8 * DAY
    # News without versions (an inventory replica not upgraded yet) is ordered by its stamp, as it was.
    assert not order.follow_stock("r1", [held("A", 2, 4, 0)], NOW + timedelta(seconds=8), NOW, "LATE")
    assert order.follow_stock("r1", [held("A", 2, 4, 0)], NOW + timedelta(seconds=10), NOW, "LATE")
    assert order.lines[0].promised_at == NOW + 4 * DAY


def test_a_newer_version_that_changes_nothing_the_line_shows_is_still_saved() -> None:
    # A's receipt was rescheduled to 6 days (version 2) and back to 2 (version 3); version 3 comes first. It
    # changes nothing the line shows, but the order is saved (True) with the version, or version 2, delivered
    # after it, would take the line to a date already undone.
    order = reserved(new_order(("A", 2, 500)), held("A", 2, 2, 1))
    order.events.clear()
    assert order.follow_stock("r1", [held("A", 2, 2, 3)], NOW + timedelta(seconds=2), NOW, "SOONER")
    assert (order.stock_versions, order.events) == ({("A", "WH"): 3}, [])
    assert not order.follow_stock("r1", [held("A", 2, 6, 2)], NOW + timedelta(seconds=3), NOW, "LATE")
    assert order.lines[0].promised_at == NOW + 2 * DAY


@pytest.mark.parametrize(("kind", "amount"), [(PaymentKind.FULL, 100), (PaymentKind.DEPOSIT, 30)])
def test_a_late_payment_or_deposit_on_an_order_cancelled_for_non_payment_is_reservation_expired(
    kind: PaymentKind, amount: int
) -> None:
    """PayOrder's contract: RESERVATION_EXPIRED once the order was cancelled for not being paid in time, for a
    presale deposit as for a full payment (a late deposit got a bare INVALID_ORDER_STATE)."""
    order = reserved(new_order(("A", 1, 100)))
    assert order.record_lapsed_reservation("r1", NOW + timedelta(minutes=20))
    with pytest.raises(FailedPrecondition) as late:
        order.pay(cny(amount), "late", NOW + timedelta(minutes=21), kind=kind, presale=TERMS)
    assert (late.value.reason, late.value.metadata["status"]) == ("RESERVATION_EXPIRED", "CANCELLED")
