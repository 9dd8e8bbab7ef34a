"""Availability, inventory's hottest read: one prepared statement on a pooled asyncpg connection.

GetAvailability is what storefronts and the channel feed call most. Through an AsyncSession it took three
statements (the channel's policy, the locations, the levels), each compiled and processed by SQLAlchemy:
about 2.4 ms of inventory CPU per call on the bench machine. Here the levels come joined to their
locations in ONE statement, run through asyncpg's own prepared-statement cache on the engine's pool
(`onepool_runtime.db.driver_connection`, no transaction: each statement reads a committed snapshot, as a
read in a transaction would under READ COMMITTED), plus the policy's one-row statement only when a channel
is named. The domain still decides: `ChannelView` (the channel rules) is applied by the handler. With a
channel, two more one-table statements read its active dedicated stock and sales counters of the SKUs; the
units inbound (open transfers) are one grouped statement over the SKUs' in-transit lines; the open expected
receipts' slots one more, only when some level expects units.

Failure modes: the database unreachable raises asyncpg's or SQLAlchemy's connection errors, which the call
pipeline answers UNAVAILABLE (`onepool_runtime.infra`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from onepool_runtime.db import driver_connection
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_inventory.adapters.expected_receipts import group_slots
from onepool_inventory.domain.expected import Slot
from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelAllocationStatus,
    ChannelPolicy,
    ChannelSales,
    Location,
    LocationType,
    StockLevel,
)

# The columns `location_from_row` and `policy_from_row` read, in their order (reserve_store.py uses them too).
LOCATION_COLUMNS = "id, name, type, owner_dealer_id, region, ships, pickup, priority, active"
POLICY_COLUMNS = (
    "channel_id, location_ids, location_types, max_share_bps, buffer_units, owner_dealer_id, active, version,"
    " fill_own_first"
)
_LOCATION_OF_LEVEL = ", ".join(f"l.{c}" for c in LOCATION_COLUMNS.split(", "))

_LEVELS = f"""
SELECT s.sku, s.on_hand, s.reserved, s.safety_stock, s.version, s.dedicated, {_LOCATION_OF_LEVEL}, s.expected,
    s.awaiting
FROM stock_levels s JOIN locations l ON l.id = s.location_id
WHERE s.sku = ANY($1::text[]) AND l.active AND ($2::text[] IS NULL OR l.id = ANY($2::text[]))
ORDER BY s.sku, s.location_id
"""
_POLICY = f"SELECT {POLICY_COLUMNS} FROM channel_policies WHERE channel_id = $1"
ALLOCATION_COLUMNS = (
    "id, channel_id, location_id, sku, quantity, remaining, ends_at, status, created_at, updated_at, returned, version"
)
_ALLOCATIONS = f"""
SELECT {ALLOCATION_COLUMNS} FROM channel_allocations
WHERE channel_id = $1 AND sku = ANY($2::text[]) AND status = 'ACTIVE' ORDER BY id
"""
# The columns `sales_from_row` reads, in its order (reserve_store.py locks and returns the same).
SALES_COLUMNS = (
    "channel_id, sku, counted, cap_units, cap_version, version, presale_units, allow_backorder, presale_counted"
)
_SALES = f"SELECT {SALES_COLUMNS} FROM channel_sales WHERE channel_id = $1 AND sku = ANY($2::text[])"
_ACTIVE_LOCATIONS = f"SELECT {LOCATION_COLUMNS} FROM locations WHERE id = ANY($1::text[]) AND active"
# What the open expected receipts of some SKUs still bring (reserve_store.py reads the same).
SLOTS = """
SELECT l.sku, r.location_id, r.id, r.expected_at, l.quantity - l.received - l.shortfall
FROM expected_receipt_lines l JOIN expected_receipts r ON r.id = l.receipt_id
WHERE l.sku = ANY($1::text[]) AND r.status = 'OPEN' ORDER BY r.expected_at, r.id
"""
_INBOUND = """
SELECT l.sku, t.to_location_id, sum(l.quantity) FROM transfer_lines l JOIN transfers t ON t.id = l.transfer_id
WHERE t.status = 'IN_TRANSIT' AND l.sku = ANY($1::text[]) GROUP BY l.sku, t.to_location_id
"""


def allocation_from_row(r: Sequence[Any]) -> ChannelAllocation:
    """A ChannelAllocation from ALLOCATION_COLUMNS."""
    return ChannelAllocation(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], ChannelAllocationStatus(r[7]), r[8], r[9], r[10], r[11]
    )


def sales_from_row(r: Sequence[Any]) -> ChannelSales:
    """A ChannelSales from SALES_COLUMNS."""
    return ChannelSales(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])


@dataclass
class AvailabilityRead:
    """What GetAvailability decides from: the channel's policy (None without a channel), the levels with their
    locations, the channel's dedicated stock and sales counters, and units inbound per (sku, location)."""

    policy: ChannelPolicy | None
    rows: list[tuple[StockLevel, Location]]
    allocations: list[ChannelAllocation] = field(default_factory=list)
    sales: dict[str, ChannelSales] = field(default_factory=dict)
    inbound: dict[tuple[str, str], int] = field(default_factory=dict)
    unknown_channel: bool = False
    # Every active location seen (of the levels, and those only units inbound are headed for).
    locations: list[Location] = field(default_factory=list)
    # What the open expected receipts still bring per (sku, location), in expected_at order.
    slots: dict[tuple[str, str], list[Slot]] = field(default_factory=dict)


def location_from_row(r: Sequence[Any], at: int = 0) -> Location:
    """A Location from LOCATION_COLUMNS, starting at column `at` of the row."""
    return Location(
        id=r[at],
        name=r[at + 1],
        type=LocationType(r[at + 2]),
        owner_dealer_id=r[at + 3],
        region=r[at + 4],
        ships=r[at + 5],
        pickup=r[at + 6],
        priority=r[at + 7],
        active=r[at + 8],
    )


def policy_from_row(r: Sequence[Any]) -> ChannelPolicy:
    """A ChannelPolicy from POLICY_COLUMNS."""
    return ChannelPolicy(
        channel_id=r[0],
        location_ids=frozenset(r[1]),
        location_types=frozenset(LocationType(t) for t in r[2]),
        max_share_bps=r[3],
        buffer_units=r[4],
        owner_dealer_id=r[5],
        active=r[6],
        version=r[7],
        fill_own_first=r[8],
    )


class AvailabilityReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(
        self, skus: Sequence[str], location_ids: Sequence[str] | None, channel_id: str = ""
    ) -> AvailabilityRead:
        """The levels of `skus` at active locations (only `location_ids` when given), each with its location,
        in (sku, location) order; with a channel, its policy, dedicated stock and sales counters."""
        async with driver_connection(self._engine) as conn:
            policy = None
            allocations: list[ChannelAllocation] = []
            sales: dict[str, ChannelSales] = {}
            if channel_id:
                row = await conn.fetchrow(_POLICY, channel_id)
                if row is None:
                    return AvailabilityRead(None, [], unknown_channel=True)
                policy = policy_from_row(row)
                allocations = [allocation_from_row(r) for r in await conn.fetch(_ALLOCATIONS, channel_id, list(skus))]
                sales = {r[1]: sales_from_row(r) for r in await conn.fetch(_SALES, channel_id, list(skus))}
            rows = await conn.fetch(_LEVELS, list(skus), list(location_ids) if location_ids is not None else None)
            inbound = {(r[0], r[1]): int(r[2]) for r in await conn.fetch(_INBOUND, list(skus))}
            # Units on their way to a location that holds none of the SKU yet: that location is shown too.
            bare = {loc for _, loc in inbound} - {r[6] for r in rows}
            if location_ids is not None:
                bare &= set(location_ids)
            extra = await conn.fetch(_ACTIVE_LOCATIONS, sorted(bare)) if bare else []
            expecting = any(r[15] for r in rows)
            slots = group_slots(tuple(r) for r in await conn.fetch(SLOTS, list(skus))) if expecting else {}
        locations: dict[str, Location] = {r[0]: location_from_row(r) for r in extra}
        out = []
        for r in rows:
            location = locations.get(r[6])
            if location is None:
                location = locations[r[6]] = location_from_row(r, 6)
            level = StockLevel(
                r[0], location.id, r[1], r[2], r[3], r[4], location.type, location.owner_dealer_id, dedicated=r[5],
                expected=r[15], awaiting=r[16],
            )  # fmt: skip
            out.append((level, location))
        read = AvailabilityRead(policy, out, allocations, sales, inbound, slots=slots)
        read.locations = list(locations.values())
        return read
