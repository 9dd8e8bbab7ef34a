"""The sellable quantity: what a channel may sell of one SKU. Inventory reserves by it and channels show it,
so both call this one function: a connector must never be told it may sell more than inventory will reserve.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from onepool_kernel.locations import LocationType

FULL_SHARE_BPS = 10_000
# The most one count may hold: stock columns are PostgreSQL integers and counts travel as int32. One location's
# count of one SKU is refused past it (STOCK_LIMIT); a total over many locations is reported capped at it.
MAX_UNITS = 2**31 - 1
MAX_SELLABLE = MAX_UNITS  # sellable and available travel as int32
# How long units may be held for an order not yet paid (a reservation's TTL): by default, and at the most.
# Orders asks inventory for the hold a PlaceOrder names, so both refuse past the same bound by default: an
# order orders accepted must not be refused by inventory for its TTL.
DEFAULT_HOLD_SECONDS = 15 * 60
MAX_HOLD_SECONDS = 7 * 24 * 3600


def capped(units: int) -> int:
    """A total of counts as a reply can carry it: never above MAX_UNITS."""
    return min(MAX_UNITS, units)


def sellable(available: int, max_share_bps: int, buffer_units: int) -> int:
    """The channel's share of the units available in the locations it may sell from, minus its buffer.

    A share of 0 or 10000 basis points (or anything outside 1..9999) means all of it; the share is rounded
    down. The result is never negative and never above MAX_SELLABLE.
    """
    share = max_share_bps if 0 < max_share_bps < FULL_SHARE_BPS else FULL_SHARE_BPS
    return min(MAX_SELLABLE, max(0, available * share // FULL_SHARE_BPS - buffer_units))


def channel_sellable(exposed: int, dedicated: int, sales_cap_units: int, sales_counted: int) -> int:
    """What a channel may sell of one SKU under its three rules (docs/channel-rules.md): what its exposure
    ratio shows of the shared pool (`sellable` above) plus its own dedicated units, never beyond what its
    sales cap has left (a cap of 0 means none). Never negative, never above MAX_SELLABLE."""
    total = exposed + dedicated
    if sales_cap_units > 0:
        total = min(total, sales_cap_units - sales_counted)
    return min(MAX_SELLABLE, max(0, total))


def presale_sellable(presale_left: int, room: int, sales_cap_units: int, sales_counted: int, sellable: int) -> int:
    """What a channel may sell of one SKU beyond `sellable`, waiting for expected receipts (docs/presale.md):
    what its listing's presale allowance has left, within the unpromised expected units (`room`) in its
    locations and what its sales cap (0: none) leaves after `sellable`. Inventory waits by it and channels show
    it. Never negative, never above MAX_SELLABLE."""
    left = min(presale_left, room)
    if sales_cap_units > 0:
        left = min(left, sales_cap_units - sales_counted - sellable)
    return min(MAX_SELLABLE, max(0, left))


class Located(Protocol):
    """What deciding whether a channel may sell from a location needs to know of it."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> LocationType: ...

    @property
    def active(self) -> bool: ...


class PoolShare:
    """Which part of the pool a channel may sell: the rule channels sets (`AllocationPolicy`) and inventory
    applies to its copy of it (`ChannelPolicy`). Both are this class, so the two can never disagree.

    Locations: the union of `location_ids` and `location_types`; both empty means every location; an inactive
    location sells nothing. Share: `sellable` above, of what the allowed locations have available.
    """

    location_ids: frozenset[str]
    location_types: frozenset[LocationType]
    max_share_bps: int
    buffer_units: int

    def allows(self, location: Located) -> bool:
        if not location.active:
            return False
        if not self.location_ids and not self.location_types:
            return True
        return location.id in self.location_ids or location.type in self.location_types

    def sellable(self, available_in_allowed_locations: int) -> int:
        """The channel's share of the units available in its locations, minus its buffer."""
        return sellable(available_in_allowed_locations, self.max_share_bps, self.buffer_units)


class SourcingMode(StrEnum):
    """How inventory picks the locations of a reservation: to ship the goods, or for the buyer to pick up."""

    SHIP = "SHIP"
    PICKUP = "PICKUP"
