"""Money: exact integer minor units, one currency at a time, and a split that always adds up."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onepool_kernel.money import Money, units_value

currencies = st.sampled_from(["CNY", "USD", "EUR"])
amounts = st.integers(min_value=-(10**15), max_value=10**15)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(lambda ws: sum(ws) > 0)


@given(currencies, amounts, weights)
def test_a_split_sums_to_the_total_exactly(currency: str, amount: int, ws: list[int]) -> None:
    pieces = Money(currency, amount).split(ws)
    assert len(pieces) == len(ws)
    assert {p.currency for p in pieces} == {currency}
    assert sum(p.amount_minor for p in pieces) == amount


@given(currencies, amounts, weights)
def test_each_piece_is_within_one_minor_unit_of_its_exact_share(currency: str, amount: int, ws: list[int]) -> None:
    total = sum(ws)
    for piece, w in zip(Money(currency, amount).split(ws), ws, strict=True):
        assert abs(piece.amount_minor * total - amount * w) < total


@given(currencies, amounts, amounts, st.integers(min_value=0, max_value=10**6))
def test_arithmetic_is_exact_integer_arithmetic(currency: str, a: int, b: int, quantity: int) -> None:
    x, y = Money(currency, a), Money(currency, b)
    assert (x + y).amount_minor == a + b
    assert (x - y).amount_minor == a - b
    assert (-x).amount_minor == -a
    assert x.times(quantity).amount_minor == a * quantity
    assert (x + y).currency == (x - y).currency == x.times(quantity).currency == currency


def test_mixing_currencies_is_refused() -> None:
    cny, usd = Money("CNY", 100), Money("USD", 100)
    with pytest.raises(ValueError, match="cannot mix CNY and USD"):
        _ = cny + usd
    with pytest.raises(ValueError, match="cannot mix CNY and USD"):
        _ = cny - usd


def test_money_is_immutable_and_compares_by_value() -> None:
    price = Money("CNY", 1999)
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.amount_minor = 0  # type: ignore[misc]
    assert price == Money("CNY", 1999)
    assert Money.zero("CNY") == Money("CNY", 0)
    assert Money("CNY", 1) < Money("CNY", 2)
    assert str(price) == "1999 CNY"
    assert {price, Money("CNY", 1999)} == {price}


def test_a_split_with_no_weights_or_no_positive_total_is_refused() -> None:
    with pytest.raises(ValueError):
        Money("CNY", 5).split([])
    with pytest.raises(ValueError):
        Money("CNY", 5).split([0, 0])
    assert Money("CNY", 100).split([1, 1, 1]) == [Money("CNY", 34), Money("CNY", 33), Money("CNY", 33)]


@given(
    st.integers(min_value=1, max_value=10_000),
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
)
def test_the_values_of_parts_of_a_line_never_add_up_to_more_than_its_total(
    unit_price: int, discount_seed: int, parts: list[int]
) -> None:
    quantity = sum(parts)
    line_total = quantity * unit_price - discount_seed % (quantity * unit_price + 1)
    values = [units_value(line_total, units, quantity) for units in parts]
    assert 0 <= sum(values) <= line_total
    assert units_value(line_total, quantity, quantity) == line_total  # the whole line is worth its total
    assert all(abs(v * quantity - line_total * u) < quantity for v, u in zip(values, parts, strict=True))
