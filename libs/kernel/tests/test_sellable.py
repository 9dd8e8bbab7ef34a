"""The sellable formula channels show and inventory reserves by: never negative, never above int32."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from onepool_kernel.stock import FULL_SHARE_BPS, MAX_SELLABLE, sellable

available = st.integers(min_value=-(10**6), max_value=10**15)
shares = st.integers(min_value=-1, max_value=FULL_SHARE_BPS + 1)
buffers = st.integers(min_value=0, max_value=10**9)


@given(available, shares, buffers)
def test_sellable_is_never_negative_and_never_above_the_cap(units: int, share: int, buffer: int) -> None:
    assert 0 <= sellable(units, share, buffer) <= MAX_SELLABLE


@given(st.integers(min_value=0, max_value=10**12), shares, buffers)
def test_sellable_never_exceeds_what_is_available(units: int, share: int, buffer: int) -> None:
    assert sellable(units, share, buffer) <= units


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**6), shares, buffers)
def test_more_stock_never_sells_less(units: int, more: int, share: int, buffer: int) -> None:
    assert sellable(units + more, share, buffer) >= sellable(units, share, buffer)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=FULL_SHARE_BPS - 1), buffers)
def test_a_share_is_rounded_down_before_the_buffer(units: int, share: int, buffer: int) -> None:
    assert sellable(units, share, buffer) == max(0, units * share // FULL_SHARE_BPS - buffer)


def test_worked_examples() -> None:
    assert sellable(10, 0, 0) == 10  # no share set: everything
    assert sellable(10, FULL_SHARE_BPS, 0) == 10
    assert sellable(10, 3333, 0) == 3  # 3.333 rounds down
    assert sellable(10, 5000, 2) == 3
    assert sellable(3, 0, 5) == 0  # the buffer holds back more than there is
    assert sellable(2**40, 0, 0) == MAX_SELLABLE  # travels as int32
