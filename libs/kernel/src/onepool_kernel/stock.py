"""The sellable quantity: what a channel may sell of one SKU. Inventory reserves by it and channels show it,
so both call this one function: a connector must never be told it may sell more than inventory will reserve.
"""

from __future__ import annotations

from enum import StrEnum

FULL_SHARE_BPS = 10_000
MAX_SELLABLE = 2**31 - 1  # sellable and available travel as int32


def sellable(available: int, max_share_bps: int, buffer_units: int) -> int:
    """The channel's share of the units available in the locations it may sell from, minus its buffer.

    A share of 0 or 10000 basis points (or anything outside 1..9999) means all of it; the share is rounded
    down. The result is never negative and never above MAX_SELLABLE.
    """
    share = max_share_bps if 0 < max_share_bps < FULL_SHARE_BPS else FULL_SHARE_BPS
    return min(MAX_SELLABLE, max(0, available * share // FULL_SHARE_BPS - buffer_units))


class SourcingMode(StrEnum):
    """How inventory picks the locations of a reservation: to ship the goods, or for the buyer to pick up."""

    SHIP = "SHIP"
    PICKUP = "PICKUP"
