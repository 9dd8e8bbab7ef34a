"""Availability, inventory's hottest read: ONE statement on a connection of the engine's read pool, shared
by the reads that arrive while the reader's statements are all busy (`AvailabilityReader`).

GetAvailability is what storefronts and the channel feed call most. Through an AsyncSession it took three
statements (the channel's policy, the locations, the levels), each compiled and processed by SQLAlchemy:
about 2.4 ms of inventory CPU per call on the bench machine; then two to five hand-written statements on
SQLAlchemy's pooled connection (`db.driver_connection`): 0.85 ms. Now everything the handler decides from
comes back in one row of one statement (`_READ`): the channel's policy, its active dedicated stock and
sales counters of the SKUs (with a channel), the levels joined to their locations, the units inbound (open
transfers) per (sku, location) and the active locations only units inbound are headed for, each an array of
rows. It runs on a connection of `onepool_runtime.readpool` (no SQLAlchemy checkout), outside any
transaction: the one statement reads one committed snapshot. The domain still decides: `ChannelView` (the
channel rules) is applied by the handler. The open expected receipts' slots of the SKUs ride in the same row.

Failure modes: the database unreachable raises asyncpg's or the OS's connection errors, which the call
pipeline answers UNAVAILABLE (`onepool_runtime.infra`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from onepool_runtime.readpool import read_pool
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
# LOCATION_COLUMNS of the locations table joined as `l` (reserve_store.py reads them beside its stock rows too).
LOCATION_OF_LEVEL = ", ".join(f"l.{c}" for c in LOCATION_COLUMNS.split(", "))
ALLOCATION_COLUMNS = (
    "id, channel_id, location_id, sku, quantity, remaining, ends_at, status, created_at, updated_at, returned, version"
)
# The columns `sales_from_row` reads, in its order (reserve_store.py locks and returns the same).
SALES_COLUMNS = (
    "channel_id, sku, counted, cap_units, cap_version, version, presale_units, allow_backorder, presale_counted"
)
# What the open expected receipts of some SKUs still bring (reserve_store.py reads the same). Only lines still
# bringing units (`expected_receipt_lines_open`, migration 0013): a SKU's received history is never read, and
# group_slots drops a line that brings none anyway.
SLOTS = """
SELECT l.sku, r.location_id, r.id, r.expected_at, l.quantity - l.received - l.shortfall
FROM expected_receipt_lines l JOIN expected_receipts r ON r.id = l.receipt_id
WHERE l.sku = ANY($1::text[]) AND l.quantity > l.received + l.shortfall AND r.status = 'OPEN'
ORDER BY r.expected_at, r.id
"""

# The policy's columns come first, as columns of their own (NULL without a policy): asyncpg decodes an array
# column (location_ids) inside an anonymous row only if it has met the type before.
_POLICY_OF_READ = ", ".join(f"p.{c}" for c in POLICY_COLUMNS.split(", "))
_POLICY_WIDTH = len(POLICY_COLUMNS.split(", "))

# $1 the SKUs, $2 the locations asked for (NULL: all), $3 the channel ('' : none). One row: the policy's
# columns, then arrays of rows: allocations, sales, levels (sku, on_hand, reserved, safety_stock, version,
# dedicated, then the location's LOCATION_COLUMNS from column 6, expected, awaiting), inbound (sku, location,
# units), bare, and the open expected receipts' slots (SLOTS' columns, in expected_at order).
_READ = f"""
WITH lv AS (
  SELECT s.sku, s.on_hand, s.reserved, s.safety_stock, s.version, s.dedicated, {LOCATION_OF_LEVEL}, s.expected,
    s.awaiting
  FROM stock_levels s JOIN locations l ON l.id = s.location_id
  WHERE s.sku = ANY($1::text[]) AND l.active AND ($2::text[] IS NULL OR l.id = ANY($2::text[]))),
ib AS (
  SELECT l.sku, t.to_location_id AS location_id, sum(l.quantity)::bigint AS units
  FROM transfer_lines l JOIN transfers t ON t.id = l.transfer_id
  WHERE l.in_transit AND l.sku = ANY($1::text[]) AND t.status = 'IN_TRANSIT' GROUP BY l.sku, t.to_location_id)
SELECT
  {_POLICY_OF_READ},
  ARRAY(SELECT row({ALLOCATION_COLUMNS}) FROM channel_allocations
        WHERE $3::text <> '' AND channel_id = $3 AND sku = ANY($1::text[]) AND status = 'ACTIVE' ORDER BY id)
    AS allocations,
  ARRAY(SELECT row({SALES_COLUMNS}) FROM channel_sales
        WHERE $3::text <> '' AND channel_id = $3 AND sku = ANY($1::text[])) AS sales,
  ARRAY(SELECT row(lv.*) FROM lv ORDER BY lv.sku, lv.id) AS levels,
  ARRAY(SELECT row(ib.*) FROM ib) AS inbound,
  ARRAY(SELECT row({LOCATION_COLUMNS}) FROM locations
        WHERE active AND id IN (SELECT location_id FROM ib) AND id NOT IN (SELECT lv.id FROM lv)
          AND ($2::text[] IS NULL OR id = ANY($2::text[]))) AS bare,
  ARRAY(SELECT row(l.sku, r.location_id, r.id, r.expected_at, l.quantity - l.received - l.shortfall)
        FROM expected_receipt_lines l JOIN expected_receipts r ON r.id = l.receipt_id
        WHERE l.sku = ANY($1::text[]) AND l.quantity > l.received + l.shortfall AND r.status = 'OPEN'
        ORDER BY r.expected_at, r.id) AS slots
FROM (SELECT) AS one LEFT JOIN channel_policies p ON $3::text <> '' AND p.channel_id = $3
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


_Key = tuple[str, tuple[str, ...] | None]  # (channel, the locations asked for or None)
_Readers = list[tuple[Sequence[str], "asyncio.Future[tuple[Any, AvailabilityRead | None]]"]]


class AvailabilityReader:
    """Reads share statements under load. One statement per channel and locations asked for (a key) runs at a
    time, and at most `in_flight` over all keys; a read that finds its key's statement running (or every slot
    busy) joins the key's next statement, sent when that one ends, which reads the union of its readers' SKUs
    and hands each its own part (`_part`: exactly what a statement of its own SKUs returns). Each read still
    sees a snapshot taken after its call arrived: a statement is only ever joined before it is sent. A read
    that finds its key idle and a slot free runs its own statement at once, as before (no wait, no task).

    Why: the round trip (asyncpg's bind and execute, the loopback write that wakes PostgreSQL, the wake-up for
    its answer) cost GetAvailability about as much inventory CPU as all of its Python; shared, it costs each
    read a fraction (`tests.bench.cpu_per_call`-style, one-SKU reads at 64 callers: 0.33-0.42 ms of inventory
    CPU per call, against 0.46-0.53 ms unshared). One statement per key, not two: with two, most reads found
    one free and went alone, and saved little (0.42-0.45 ms). The price: a read arriving while its key's
    statement runs waits for it to end (one statement's time, under a millisecond on a one-SKU read)."""

    def __init__(self, engine: AsyncEngine, in_flight: int = 4) -> None:
        self._engine = engine
        self._limit = in_flight  # a few: the read pool serves the units of work and Reserve batches too
        self._busy: set[_Key] = set()  # the keys whose statement is running
        # Per key: the readers of its statement to send next, in arrival order (the oldest key first).
        self._next: dict[_Key, _Readers] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def read(
        self, skus: Sequence[str], location_ids: Sequence[str] | None, channel_id: str = ""
    ) -> AvailabilityRead:
        """The levels of `skus` at active locations (only `location_ids` when given), each with its location,
        in (sku, location) order; with a channel, its policy, dedicated stock and sales counters."""
        key = (channel_id, tuple(location_ids) if location_ids is not None else None)
        if key not in self._busy and key not in self._next and len(self._busy) < self._limit:
            self._busy.add(key)
            try:
                return _parse(await self._fetch(list(skus), key), channel_id)
            finally:
                self._done(key)
        joined = asyncio.get_running_loop().create_future()
        self._next.setdefault(key, []).append((skus, joined))
        found, shared = await joined
        return _part(found, shared, skus, channel_id)

    async def _fetch(self, skus: list[str], key: _Key) -> Any:
        channel_id, wanted = key
        found = await read_pool(self._engine).fetchrow(
            _READ, skus, list(wanted) if wanted is not None else None, channel_id
        )
        assert found is not None  # a SELECT without FROM always returns its one row
        return found

    def _done(self, key: _Key) -> None:
        """`key`'s statement has ended: start the waiting statements that may go now (the oldest first), each in
        a task of its own (none of its readers owns it: any may go away)."""
        self._busy.discard(key)
        for waiting in list(self._next):
            if len(self._busy) >= self._limit:
                return
            if waiting not in self._busy:
                self._busy.add(waiting)
                task = asyncio.get_running_loop().create_task(self._shared(waiting, self._next.pop(waiting)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _shared(self, key: _Key, readers: _Readers) -> None:
        try:
            skus = list(dict.fromkeys(sku for asked, _ in readers for sku in asked))
            found = await self._fetch(skus, key)
            shared = _parse(found, key[0]) if len(readers) > 1 else None
        except Exception as exc:  # each reader fails as its own statement would have (UNAVAILABLE, mostly)
            for _, joined in readers:
                if not joined.done():
                    joined.set_exception(exc)
            return
        except BaseException:  # the service is stopping
            for _, joined in readers:
                joined.cancel()
            raise
        finally:
            self._done(key)
        for _, joined in readers:
            if not joined.done():
                joined.set_result((found, shared))


def _parse(found: Any, channel_id: str) -> AvailabilityRead:
    allocation_rows, sales_rows, level_rows, inbound_rows, bare_rows, slot_rows = found[_POLICY_WIDTH:]
    if channel_id and found[0] is None:
        return AvailabilityRead(None, [], unknown_channel=True)
    policy = policy_from_row(found) if found[0] is not None else None
    allocations = [allocation_from_row(r) for r in allocation_rows]
    sales = {r[1]: sales_from_row(r) for r in sales_rows}
    inbound = {(r[0], r[1]): int(r[2]) for r in inbound_rows}
    locations: dict[str, Location] = {r[0]: location_from_row(r) for r in bare_rows}
    slots = group_slots(tuple(r) for r in slot_rows)
    out = []
    for r in level_rows:
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


def _part(found: Any, shared: AvailabilityRead | None, skus: Sequence[str], channel_id: str) -> AvailabilityRead:
    """What a statement of `skus` alone returns, from one that read them with others (`shared`, parsed from
    `found`; None: it read only these). Locations come as `_READ` lists them: those only units inbound are
    headed for, then those of the levels, in the levels' order. The parts share the parsed levels, locations
    and allocations: GetAvailability only reads them."""
    if shared is None:
        return _parse(found, channel_id)
    if shared.unknown_channel:
        return AvailabilityRead(None, [], unknown_channel=True)
    mine = set(skus)
    rows = [(level, location) for level, location in shared.rows if level.sku in mine]
    inbound = {key: units for key, units in shared.inbound.items() if key[0] in mine}
    at_levels = {location.id: location for _, location in rows}
    known = {location.id: location for location in shared.locations}
    bare = {
        location_id: known[location_id]
        for _, location_id in inbound
        if location_id in known and location_id not in at_levels
    }
    read = AvailabilityRead(
        shared.policy,
        rows,
        [a for a in shared.allocations if a.sku in mine],
        {sku: sales for sku, sales in shared.sales.items() if sku in mine},
        inbound,
        slots={key: slots for key, slots in shared.slots.items() if key[0] in mine},
    )
    read.locations = [*bare.values(), *at_levels.values()]
    return read
