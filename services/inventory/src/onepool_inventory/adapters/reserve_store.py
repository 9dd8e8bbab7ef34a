"""What a Reserve batch reads and writes, as prepared statements on the batch's own asyncpg transaction.

The coalescer (service_layer/reserving.py) runs each batch in one transaction on a pooled connection's asyncpg
connection (`onepool_runtime.db.pooled_transaction`): no session, no SQLAlchemy compilation. Through the
unit of work a batch cost about thirteen statements, each compiled for its row count (multi-row VALUES) and
processed by SQLAlchemy; here it is, with BEGIN and COMMIT: claim the keys (runtime), the channels' policies
(only when a request names a channel), lock the SKUs' stock rows (with their locations; a location a request
names without holding the SKU is read apart), ONE statement writing the levels, reservations and allocations
(data-modifying CTEs over `unnest` arrays, whatever the batch size), the outbox rows and the idempotency
answers (runtime): seven round trips for any batch, and no work for locations that hold none of its SKUs.

Channel rules (docs/channel-rules.md): after the stock rows, the SKUs' ACTIVE dedicated allocations are locked
(only when a level has dedicated units) and the batch's (channel, sku) sales counters are created and locked by
one ordered upsert; the changed ones are written back with one statement each (`write_rules`).

Presale and backorder (domain/expected.py): only a batch with a request that may wait for goods, on SKUs some
location expects, reads the open receipts' slots (one statement, `slots`); waiting units ride in the same
write statement (the levels' `awaiting`, the allocations' waiting columns).

Locking discipline as everywhere in inventory: stock rows in (sku, location_id) order, after the keys, then
channel allocations (id order), then sales counters ((channel_id, sku) order).
The database's CHECK constraints (0 <= reserved <= on_hand) still stand behind the domain's checks.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from google.protobuf.message import Message

from onepool_inventory.adapters.availability import (
    ALLOCATION_COLUMNS,
    LOCATION_COLUMNS,
    LOCATION_OF_LEVEL,
    POLICY_COLUMNS,
    SALES_COLUMNS,
    SLOTS,
    allocation_from_row,
    location_from_row,
    policy_from_row,
    sales_from_row,
)
from onepool_inventory.adapters.expected_receipts import group_slots
from onepool_inventory.domain.expected import Slot
from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelPolicy,
    ChannelSales,
    Location,
    Reservation,
    StockLevel,
)

Key = tuple[str, str]  # (sku, location_id)

# Only the locations a batch can use: those of its stock rows (read with them, `_LOCK`) and those its requests
# name. Reading every location made each batch cost as much as the brand's shop count (2,000 shops holding
# none of the SKUs: 15.9 against 2.3 ms of inventory CPU per Reserve).
_NAMED_LOCATIONS = f"SELECT {LOCATION_COLUMNS} FROM locations WHERE id = ANY($1::text[])"
_POLICIES = f"SELECT {POLICY_COLUMNS} FROM channel_policies WHERE channel_id = ANY($1::text[])"
# The SKUs' stock rows, locked, each with its location's LOCATION_COLUMNS from column 9 (not locked).
_LOCK = f"""
SELECT s.sku, s.location_id, s.on_hand, s.reserved, s.safety_stock, s.version, s.dedicated, s.expected, s.awaiting,
       {LOCATION_OF_LEVEL}
FROM stock_levels s JOIN locations l ON l.id = s.location_id
WHERE s.sku = ANY($1::text[]) ORDER BY s.sku COLLATE "C", s.location_id COLLATE "C" FOR UPDATE OF s
"""
# Each `UPDATE t ... FROM unnest(...)` also says `t.key = ANY(<the keys>)`, for the index: the join alone was run
# as a hash join over a seq scan of the whole table in the bench, for every batch (test_reserve_plans.py).
_WRITE = """
WITH levels AS (
    UPDATE stock_levels s
    SET on_hand = u.on_hand, reserved = u.reserved, safety_stock = u.safety_stock, version = u.version,
        dedicated = u.dedicated, awaiting = u.awaiting
    FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::bigint[], $22::int[], $23::int[])
        AS u(sku, location_id, on_hand, reserved, safety_stock, version, dedicated, awaiting)
    WHERE s.sku = u.sku AND s.location_id = u.location_id AND s.sku = ANY($1::text[])
), held AS (
    INSERT INTO reservations (id, order_id, channel_id, status, expires_at, created_at, updated_at, release_reason)
    SELECT * FROM unnest(
        $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[],
        $13::timestamptz[], $14::text[]
    )
)
INSERT INTO allocations (
    reservation_id, sku, location_id, quantity, fulfilled, owner_dealer_id, location_type, awaiting, promised_at,
    receipt_id, source
)
SELECT * FROM unnest(
    $15::text[], $16::text[], $17::text[], $18::int[], $19::int[], $20::text[], $21::text[], $24::int[],
    $25::timestamptz[], $26::text[], $27::text[]
)
"""

_LOCK_ALLOCATIONS = f"""
SELECT {ALLOCATION_COLUMNS} FROM channel_allocations
WHERE sku = ANY($1::text[]) AND status = 'ACTIVE' ORDER BY id FOR UPDATE
"""
_LOCK_SALES = f"""
INSERT INTO channel_sales (channel_id, sku, counted, cap_units)
SELECT c, s, 0, 0 FROM unnest($1::text[], $2::text[]) AS k(c, s) ORDER BY c COLLATE "C", s COLLATE "C"
ON CONFLICT (channel_id, sku) DO UPDATE SET version = channel_sales.version
RETURNING {SALES_COLUMNS}, xmax = 0 AS inserted
"""
# Counters the batch created only to lock them and then left untouched (every request on them was refused):
# a refused request changes nothing, so they go again. Still locked by this transaction, so nobody else used them.
_DROP_UNUSED_SALES = """
DELETE FROM channel_sales c USING unnest($1::text[], $2::text[]) AS k(channel_id, sku)
WHERE c.channel_id = k.channel_id AND c.sku = k.sku AND c.channel_id = ANY($1::text[]) AND c.sku = ANY($2::text[])
    AND c.counted = 0 AND c.presale_counted = 0 AND c.cap_version = 0
"""
_WRITE_ALLOCATIONS = """
UPDATE channel_allocations a SET remaining = u.remaining, version = u.version, updated_at = u.updated_at
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::timestamptz[]) AS u(id, remaining, version, updated_at)
WHERE a.id = u.id AND a.id = ANY($1::text[])
"""
_WRITE_SALES = """
UPDATE channel_sales c SET counted = u.counted, version = u.version, presale_counted = u.presale_counted
FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[])
    AS u(channel_id, sku, counted, version, presale_counted)
WHERE c.channel_id = u.channel_id AND c.sku = u.sku
  AND c.channel_id = ANY($1::text[]) AND c.sku = ANY($2::text[])
"""


class ReserveStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._loaded: dict[Key, int] = {}
        self._allocation_versions: dict[str, int] = {}
        self._sales_versions: dict[tuple[str, str], int] = {}
        self._sales_created: set[tuple[str, str]] = set()
        # The batch's integration events, written to the outbox with it (runtime outbox.add_events_on).
        self.events: list[Message] = []

    async def policies(self, channel_ids: Iterable[str]) -> dict[str, ChannelPolicy]:
        ids = sorted(set(channel_ids))
        if not ids:
            return {}
        return {r[0]: policy_from_row(r) for r in await self.conn.fetch(_POLICIES, ids)}

    async def lock_skus(
        self, skus: Iterable[str], named: Iterable[str] = ()
    ) -> tuple[dict[Key, StockLevel], list[Location]]:
        """Lock every location's row of these SKUs, in (sku, location) order, and read the locations the batch
        can use, in id order: those of these rows, and those `named` (a pinned line's location, a pickup store:
        one without the SKU must still be known, to be short of it rather than unknown). Each level knows its
        location's type and owner (carried on its stock event)."""
        levels: dict[Key, StockLevel] = {}
        locations: dict[str, Location] = {}
        for r in await self.conn.fetch(_LOCK, sorted(set(skus))):
            location = locations.get(r[1])
            if location is None:
                location = locations[r[1]] = location_from_row(r, 9)
            level = StockLevel(r[0], r[1], r[2], r[3], r[4], r[5], dedicated=r[6], expected=r[7], awaiting=r[8])
            level.location_type, level.owner_dealer_id = location.type, location.owner_dealer_id
            levels[(r[0], r[1])] = level
            self._loaded[(r[0], r[1])] = level.version
        missing = sorted(set(named) - locations.keys())
        if missing:
            locations.update((r[0], location_from_row(r)) for r in await self.conn.fetch(_NAMED_LOCATIONS, missing))
        return levels, [locations[i] for i in sorted(locations)]

    async def write(self, levels: Iterable[StockLevel], created: list[Reservation]) -> list[StockLevel]:
        """Write the levels that changed, and the new reservations with their allocations, in one statement.
        Returns the changed levels."""
        changed = [lvl for lvl in levels if lvl.version != self._loaded.get((lvl.sku, lvl.location_id))]
        if not changed and not created:
            return []
        allocations = [(r.id, a) for r in created for a in r.allocations]
        waiting = [a for _, a in allocations]
        await self.conn.execute(
            _WRITE,
            [lvl.sku for lvl in changed],
            [lvl.location_id for lvl in changed],
            [lvl.on_hand for lvl in changed],
            [lvl.reserved for lvl in changed],
            [lvl.safety_stock for lvl in changed],
            [lvl.version for lvl in changed],
            [r.id for r in created],
            [r.order_id for r in created],
            [r.channel_id for r in created],
            [r.status.value for r in created],
            [r.expires_at for r in created],
            [r.created_at for r in created],
            [r.updated_at for r in created],
            [r.release_reason for r in created],
            [rid for rid, _ in allocations],
            [a.sku for _, a in allocations],
            [a.location_id for _, a in allocations],
            [a.quantity for _, a in allocations],
            [a.fulfilled for _, a in allocations],
            [a.owner_dealer_id for _, a in allocations],
            [a.location_type.value for _, a in allocations],
            [lvl.dedicated for lvl in changed],
            [lvl.awaiting for lvl in changed],
            [a.awaiting for a in waiting],
            [a.promised_at for a in waiting],
            [a.receipt_id for a in waiting],
            [a.source.value for a in waiting],
        )
        return changed

    async def slots(self, skus: Iterable[str]) -> dict[Key, list[Slot]]:
        """What the open expected receipts of these SKUs still bring, per (sku, location), in expected_at order
        (their numbers change only under the stock rows this batch holds)."""
        return group_slots(tuple(r) for r in await self.conn.fetch(SLOTS, sorted(set(skus))))

    async def lock_allocations(self, skus: Iterable[str]) -> list[ChannelAllocation]:
        """Lock the ACTIVE dedicated allocations of these SKUs (their stock rows are locked already)."""
        found = [allocation_from_row(r) for r in await self.conn.fetch(_LOCK_ALLOCATIONS, sorted(set(skus)))]
        self._allocation_versions = {a.id: a.version for a in found}
        return found

    async def lock_sales(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ChannelSales]:
        """Create (at zero) and lock the sales counters of these (channel, sku) pairs, in key order."""
        ordered = sorted(set(keys))
        if not ordered:
            return {}
        rows = await self.conn.fetch(_LOCK_SALES, [c for c, _ in ordered], [s for _, s in ordered])
        found = {(r[0], r[1]): sales_from_row(r) for r in rows}
        self._sales_versions = {k: v.version for k, v in found.items()}
        self._sales_created = {(r[0], r[1]) for r in rows if r["inserted"]}
        return found

    async def write_rules(
        self, allocations: Iterable[ChannelAllocation], sales: Iterable[ChannelSales]
    ) -> list[ChannelAllocation | ChannelSales]:
        """Write back the allocations and counters the batch changed; returns them (their events follow)."""
        versions = self._allocation_versions
        taken = [a for a in allocations if a.version != versions.get(a.id)]
        if taken:
            await self.conn.execute(
                _WRITE_ALLOCATIONS,
                [a.id for a in taken],
                [a.remaining for a in taken],
                [a.version for a in taken],
                [a.updated_at for a in taken],
            )
        counts = self._sales_versions
        counted = [s for s in sales if s.version != counts.get((s.channel_id, s.sku))]
        if counted:
            await self.conn.execute(
                _WRITE_SALES,
                [s.channel_id for s in counted],
                [s.sku for s in counted],
                [s.counted for s in counted],
                [s.version for s in counted],
                [s.presale_counted for s in counted],
            )
        unused = sorted(self._sales_created - {(s.channel_id, s.sku) for s in counted})
        if unused:
            await self.conn.execute(_DROP_UNUSED_SALES, [c for c, _ in unused], [k for _, k in unused])
        return [*taken, *counted]
