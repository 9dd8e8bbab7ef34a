"""What a Reserve batch reads and writes, as prepared statements on the batch's own asyncpg transaction.

The coalescer (service_layer/reserving.py) runs each batch in one transaction on a pooled connection's asyncpg
connection (`onepool_runtime.db.driver_transaction`): no session, no SQLAlchemy compilation. Through the
unit of work a batch cost about thirteen statements, each compiled for its row count (multi-row VALUES) and
processed by SQLAlchemy; here it is, with BEGIN and COMMIT: claim the keys (runtime), the locations, the
channels' policies (only when a request names a channel), lock the SKUs' stock rows, ONE statement writing
the levels, reservations and allocations (data-modifying CTEs over `unnest` arrays, whatever the batch
size), the outbox rows and the idempotency answers (runtime): eight round trips for any batch.

Locking discipline as everywhere in inventory: stock rows in (sku, location_id) order, after the keys.
The database's CHECK constraints (0 <= reserved <= on_hand) still stand behind the domain's checks.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from google.protobuf.message import Message

from onepool_inventory.adapters.availability import LOCATION_COLUMNS, POLICY_COLUMNS, location_from_row, policy_from_row
from onepool_inventory.domain.model import ChannelPolicy, Location, Reservation, StockLevel

Key = tuple[str, str]  # (sku, location_id)

_LOCATIONS = f"SELECT {LOCATION_COLUMNS} FROM locations ORDER BY id"
_POLICIES = f"SELECT {POLICY_COLUMNS} FROM channel_policies WHERE channel_id = ANY($1::text[])"
_LOCK = """
SELECT sku, location_id, on_hand, reserved, safety_stock, version FROM stock_levels
WHERE sku = ANY($1::text[]) ORDER BY sku, location_id FOR UPDATE
"""
_WRITE = """
WITH levels AS (
    UPDATE stock_levels s
    SET on_hand = u.on_hand, reserved = u.reserved, safety_stock = u.safety_stock, version = u.version
    FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::bigint[])
        AS u(sku, location_id, on_hand, reserved, safety_stock, version)
    WHERE s.sku = u.sku AND s.location_id = u.location_id
), held AS (
    INSERT INTO reservations (id, order_id, channel_id, status, expires_at, created_at, updated_at, release_reason)
    SELECT * FROM unnest(
        $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[],
        $13::timestamptz[], $14::text[]
    )
)
INSERT INTO allocations (reservation_id, sku, location_id, quantity, fulfilled, owner_dealer_id, location_type)
SELECT * FROM unnest($15::text[], $16::text[], $17::text[], $18::int[], $19::int[], $20::text[], $21::text[])
"""


class ReserveStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._loaded: dict[Key, int] = {}
        # The batch's integration events, written to the outbox with it (runtime outbox.add_events_on).
        self.events: list[Message] = []

    async def locations(self) -> list[Location]:
        return [location_from_row(r) for r in await self.conn.fetch(_LOCATIONS)]

    async def policies(self, channel_ids: Iterable[str]) -> dict[str, ChannelPolicy]:
        ids = sorted(set(channel_ids))
        if not ids:
            return {}
        return {r[0]: policy_from_row(r) for r in await self.conn.fetch(_POLICIES, ids)}

    async def lock_skus(self, skus: Iterable[str], locations: dict[str, Location]) -> dict[Key, StockLevel]:
        """Lock every location's row of these SKUs, in (sku, location) order; each level knows its location's
        type and owner (carried on its stock event)."""
        levels: dict[Key, StockLevel] = {}
        for r in await self.conn.fetch(_LOCK, sorted(set(skus))):
            location = locations.get(r[1])
            level = StockLevel(r[0], r[1], r[2], r[3], r[4], r[5])
            if location is not None:
                level.location_type, level.owner_dealer_id = location.type, location.owner_dealer_id
            levels[(r[0], r[1])] = level
            self._loaded[(r[0], r[1])] = level.version
        return levels

    async def write(self, levels: Iterable[StockLevel], created: list[Reservation]) -> list[StockLevel]:
        """Write the levels that changed, and the new reservations with their allocations, in one statement.
        Returns the changed levels."""
        changed = [lvl for lvl in levels if lvl.version != self._loaded.get((lvl.sku, lvl.location_id))]
        if not changed and not created:
            return []
        allocations = [(r.id, a) for r in created for a in r.allocations]
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
        )
        return changed
