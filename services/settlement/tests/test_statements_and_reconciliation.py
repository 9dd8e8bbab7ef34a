"""Statements add up (opening + lines = closing) and reconciliation names what does not add up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onepool_runtime.errors import FailedPrecondition
from onepool_settlement.domain.model import JournalLine
from onepool_settlement.domain.reconciliation import OffBalanceEntry, OrderTotals, find_discrepancies
from onepool_settlement.domain.statements import LedgerInconsistent, build_statement

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def lines_from(amounts: list[int]) -> list[JournalLine]:
    return [JournalLine(i, f"e{i}", "dealer:D1", "sale", a, "CNY", "sale") for i, a in enumerate(amounts, start=1)]


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(-(10**9), 10**9), max_size=30))
def test_opening_plus_the_lines_is_the_closing_balance(opening: int, amounts: list[int]) -> None:
    statement = build_statement("s", "dealer:D1", "CNY", START, END, opening, lines_from(amounts), max_lines=100)
    assert statement.closing == opening + sum(amounts)
    assert [sl.running_balance for sl in statement.lines] == [
        opening + sum(amounts[:i]) for i in range(1, len(amounts) + 1)
    ]
    assert statement.line_count == len(amounts)


def test_a_final_statement_whose_closing_disagrees_with_the_kept_balance_is_refused() -> None:
    """A closed period's kept balance is what its statement must close at; a difference means the journal
    was altered outside the service."""
    lines = lines_from([100, 200])
    assert build_statement("s", "dealer:D1", "CNY", START, END, 0, lines, max_lines=100, final=True, kept_closing=300)
    with pytest.raises(LedgerInconsistent):
        build_statement("s", "dealer:D1", "CNY", START, END, 0, lines, max_lines=100, final=True, kept_closing=299)


def test_a_period_with_too_many_lines_must_be_split() -> None:
    with pytest.raises(FailedPrecondition):
        build_statement("s", "brand", "CNY", START, END, 0, lines_from([1, 2, 3]), max_lines=2)


def test_a_clean_order_has_no_discrepancies() -> None:
    ok = OrderTotals("O1", gross=10_000, refunds=2_500, has_sale=True, reported_paid=10_000, reported_refunded=2_500)
    assert find_discrepancies([ok], []) == []


def test_each_kind_of_discrepancy_is_named() -> None:
    orders = [
        OrderTotals("O1", gross=1_000, refunds=1_500, has_sale=True, reported_paid=1_000, reported_refunded=1_500),
        OrderTotals("O2", gross=0, refunds=500, has_sale=False),
        OrderTotals("O3", gross=1_000, refunds=0, has_sale=True, reported_paid=1_200),
        OrderTotals("O4", gross=1_000, refunds=0, has_sale=True, reported_paid=1_000, reported_refunded=300),
        OrderTotals("O5", gross=1_000, refunds=1_000, has_sale=True, reported_paid=1_000, cancelled=True),
    ]
    found = find_discrepancies(orders, [OffBalanceEntry("E9", "O9", 7)])
    assert {(d.order_id, d.kind) for d in found} == {
        ("O9", "unbalanced_entry"),
        ("O1", "refund_exceeds_sale"),
        ("O2", "missing_settlement"),
        ("O3", "gross_mismatch"),
        ("O4", "refund_mismatch"),
    }
