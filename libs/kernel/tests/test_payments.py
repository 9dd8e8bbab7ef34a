"""The rule orders states as OrderFacts.is_final (onepool_kernel.payments)."""

from __future__ import annotations

from dataclasses import dataclass

from onepool_kernel.payments import payment_is_final


@dataclass(frozen=True)
class F:
    has_left: bool = False
    is_cancelled: bool = False


def test_a_closed_order_is_final_whatever_its_fulfillments() -> None:
    assert payment_is_final(False, False, [])
    assert payment_is_final(False, True, [F()])


def test_an_open_order_is_final_once_paid_and_every_remaining_fulfillment_left() -> None:
    assert payment_is_final(True, True, [F(has_left=True), F(is_cancelled=True)])
    assert not payment_is_final(True, False, [F(has_left=True)])  # not paid (yet)
    assert not payment_is_final(True, True, [F(has_left=True), F()])  # one still to leave
    assert not payment_is_final(True, True, [F(is_cancelled=True)])  # nothing left at all
    assert not payment_is_final(True, True, [])
