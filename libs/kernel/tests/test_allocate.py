"""Splitting money: pieces always add up exactly and each is within one minor unit of its exact share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onepool_kernel.money import allocate, bps_of

amounts = st.integers(min_value=-(10**13), max_value=10**13)
positive_weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)
signed_weights = st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


@given(amounts, signed_weights)
def test_pieces_sum_exactly_to_the_amount(amount: int, weights: list[int]) -> None:
    assert sum(allocate(amount, weights)) == amount


@given(amounts, signed_weights)
def test_each_piece_is_within_one_unit_of_its_exact_share(amount: int, weights: list[int]) -> None:
    total = sum(weights)
    for piece, w in zip(allocate(amount, weights), weights, strict=True):
        # |piece - amount*w/total| < 1, in integers
        assert abs(piece * total - amount * w) < total


@given(st.integers(min_value=0, max_value=10**13), positive_weights)
def test_zero_weights_get_nothing_and_nobody_gets_a_negative_piece(amount: int, weights: list[int]) -> None:
    pieces = allocate(amount, weights)
    assert all(p == 0 for p, w in zip(pieces, weights, strict=True) if w == 0)
    assert all(p >= 0 for p in pieces)


@given(amounts, signed_weights)
def test_allocation_is_deterministic(amount: int, weights: list[int]) -> None:
    assert allocate(amount, weights) == allocate(amount, list(weights))


def test_leftover_units_go_to_the_largest_remainders_then_the_earlier_piece() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate(1, [1, 2]) == [0, 1]
    assert allocate(-100, [1, 1, 1]) == [-33, -33, -34]


def test_weights_that_do_not_sum_to_more_than_zero_are_refused_unless_nothing_is_split() -> None:
    assert allocate(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        allocate(5, [])


def test_basis_points_round_half_away_from_zero() -> None:
    assert bps_of(10_000, 1500) == 1500
    assert bps_of(333, 1500) == 50  # 49.95
    assert bps_of(10, 500) == 1  # 0.5
    assert bps_of(9, 500) == 0  # 0.45
    assert bps_of(-10, 500) == -1
