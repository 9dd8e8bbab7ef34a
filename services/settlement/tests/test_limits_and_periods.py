"""A balance is a running total of bounded amounts: a caller's posting may not take it beyond the ledger's
bound, and one that left int64 anyway is refused where it would be reported, never a crash. An event's amount
above MAX_AMOUNT_MINOR is dead-lettered. Closing an end closed before (not only the last) returns it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.orders.v1 import facts_pb2
from onepool_kernel.money import MAX_AMOUNT_MINOR
from onepool_runtime.consumer import PermanentError
from onepool_runtime.errors import FailedPrecondition
from onepool_settlement.adapters import mappers
from onepool_settlement.domain import limits, periods
from onepool_settlement.domain.model import JournalLine
from onepool_settlement.domain.statements import build_statement
from onepool_settlement.entrypoints import events_in

BOUND = limits.BALANCE_BOUND
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


def test_a_posting_beyond_the_bound_is_refused_unless_it_brings_the_balance_back() -> None:
    limits.check_posting("CNY", {"clearing": BOUND - 10}, {"clearing": 10})
    with pytest.raises(FailedPrecondition) as caught:
        limits.check_posting("CNY", {"clearing": BOUND - 10, "dealer:D": 0}, {"clearing": 11, "dealer:D": -11})
    assert caught.value.reason == "BALANCE_LIMIT" and caught.value.metadata["party"] == "clearing"
    with pytest.raises(FailedPrecondition):
        limits.check_posting("CNY", {"brand": -BOUND}, {"brand": -1})
    # an over-large balance can always be brought back
    limits.check_posting("CNY", {"dealer:D": 2**63 + 5}, {"dealer:D": -(10**15)})
    # but not by one line no column could hold
    with pytest.raises(FailedPrecondition):
        limits.check_posting("CNY", {"dealer:D": 2**63 + 5}, {"dealer:D": -(2**63 + 5)})


def test_an_amount_beyond_int64_is_refused_where_it_would_be_reported() -> None:
    assert limits.reportable(2**63 - 1, "x") == 2**63 - 1
    for amount in (2**63, -(2**63) - 1, 3 * 2**62):
        with pytest.raises(FailedPrecondition) as caught:
            limits.reportable(amount, "dealer:D's balance", party="dealer:D")
        assert caught.value.reason == "BALANCE_OUT_OF_RANGE" and caught.value.metadata["party"] == "dealer:D"
    with pytest.raises(FailedPrecondition):
        mappers.money("CNY", 3 * 2**62)


def test_a_statement_whose_running_balance_leaves_int64_is_refused() -> None:
    lines = [JournalLine(i, f"e{i}", "dealer:D", "wholesale", 2**62, "CNY", "wholesale") for i in range(3)]
    with pytest.raises(FailedPrecondition) as caught:
        build_statement("s", "dealer:D", "CNY", START, END, 0, lines, max_lines=10)
    assert caught.value.reason == "BALANCE_OUT_OF_RANGE"
    with pytest.raises(FailedPrecondition):
        build_statement("s", "dealer:D", "CNY", START, END, 2**63, [], max_lines=10)


def test_an_event_amount_above_the_kernel_bound_is_permanent() -> None:
    move = dealers_pb2.OwnershipMove(id="M1", from_dealer_id="D1", to_dealer_id="D2", total=cny(MAX_AMOUNT_MINOR))
    assert events_in.goods_moved(move, "CNY").total == MAX_AMOUNT_MINOR
    move.total.amount_minor = MAX_AMOUNT_MINOR + 1
    with pytest.raises(PermanentError, match="above the largest amount"):
        events_in.goods_moved(move, "CNY")
    order = facts_pb2.OrderFacts(order_id="O1", total=cny(2**62), paid=cny(2**62), is_paid=True)
    with pytest.raises(PermanentError, match="above the largest amount"):
        events_in.order_facts(order, default_currency="CNY")
    # each line within bounds, its value not
    line = facts_pb2.OrderLineFacts(sku="TEA", quantity=3, unit_price=cny(MAX_AMOUNT_MINOR // 2))
    order = facts_pb2.OrderFacts(order_id="O1", lines=[line], total=cny(1), paid=cny(1), is_paid=True)
    with pytest.raises(PermanentError, match="value"):
        events_in.order_facts(order, default_currency="CNY")


def test_closing_an_end_closed_before_a_later_close_returns_that_period() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    t1, t2 = now - timedelta(days=2), now - timedelta(days=1)
    p1, p2 = periods.Period(t1, None, now), periods.Period(t2, t1, now)
    assert periods.check_closable(t1, p2, now, p1) == p1
    assert periods.check_closable(t2, p2, now, p2) == p2
    with pytest.raises(FailedPrecondition) as caught:
        periods.check_closable(t1 + timedelta(hours=1), p2, now, None)
    assert caught.value.reason == "PERIOD_ALREADY_CLOSED"
