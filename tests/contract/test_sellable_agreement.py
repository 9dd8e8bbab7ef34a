"""Channels shows and inventory reserves by the same sellable number, because both call the kernel's formula.

A connector must never be told it may sell more than inventory will reserve for the channel (or less), for any
policy and any stock, including totals beyond int32 where only a capped number can travel on the wire.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from onepool_channels.domain.model import AllocationPolicy
from onepool_inventory.domain.model import ChannelPolicy
from onepool_kernel.stock import MAX_SELLABLE

available = st.integers(min_value=0, max_value=10**13)
shares = st.integers(min_value=0, max_value=10_000)
buffers = st.integers(min_value=0, max_value=10**6)


@given(available, shares, buffers)
def test_channels_and_inventory_agree_on_sellable(units: int, share: int, buffer: int) -> None:
    shown = AllocationPolicy(max_share_bps=share, buffer_units=buffer).sellable(units)
    reserved_by = ChannelPolicy("C1", max_share_bps=share, buffer_units=buffer).sellable(units)
    assert shown == reserved_by
    assert 0 <= reserved_by <= MAX_SELLABLE
