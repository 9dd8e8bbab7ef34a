"""The units each open expected receipt line is published as promising: SQL in, domain objects out, on the
transaction's asyncpg connection (the Reserve batch's own, or a unit of work's `driver()`), so both paths share
one spelling of these statements.

Locks: a line's `promised` is written only by whoever holds the stock row of its (sku, location) (the waiting
line there is guarded by that row), so writing it takes no lock anyone else waits for. The receipts whose
numbers moved are locked last of all (after stock rows, channel allocations and sales counters), in id order,
to bump their version: a transaction holding one never waits for anything but another receipt, and those it
takes in one ordered statement. The only other holder of a receipt's row is one receiving on, rescheduling or
cancelling it, and that one holds every stock row of the receipt first, so no one who could move its promises
is running meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import asyncpg

from onepool_inventory.domain.expected import ExpectedLine, ExpectedReceipt, ExpectedReceiptStatus, PublishedPromise

Key = tuple[str, str]  # (sku, location_id)

# The open receipts' lines of these SKUs at these locations (the caller keeps the exact pairs it holds).
_LINES = """
SELECT l.receipt_id, l.sku, r.location_id, r.expected_at, l.quantity - l.received - l.shortfall, l.promised
FROM expected_receipt_lines l JOIN expected_receipts r ON r.id = l.receipt_id
WHERE l.sku = ANY($1::text[]) AND r.location_id = ANY($2::text[]) AND r.status = 'OPEN'
"""
_SET_PROMISED = """
UPDATE expected_receipt_lines l SET promised = u.promised
FROM unnest($1::text[], $2::text[], $3::int[]) AS u(receipt_id, sku, promised)
WHERE l.receipt_id = u.receipt_id AND l.sku = u.sku AND l.receipt_id = ANY($1::text[])
"""
_LOCK = """
SELECT r.id, r.location_id, r.expected_at, r.reference, r.status, r.created_at, r.updated_at, r.cancel_reason,
       r.version, loc.owner_dealer_id
FROM expected_receipts r JOIN locations loc ON loc.id = r.location_id
WHERE r.id = ANY($1::text[]) ORDER BY r.id FOR UPDATE OF r
"""
_RECEIPT_LINES = """
SELECT receipt_id, sku, quantity, received, shortfall, promised FROM expected_receipt_lines
WHERE receipt_id = ANY($1::text[]) ORDER BY receipt_id, sku
"""
_SAVE = """
UPDATE expected_receipts r SET version = u.version, updated_at = u.updated_at
FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, version, updated_at)
WHERE r.id = u.id AND r.id = ANY($1::text[])
"""


class ReceiptPromises:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def published(self, keys: Iterable[Key]) -> list[PublishedPromise]:
        """The open receipts' lines at these (sku, location)s, with the units last published as promised."""
        wanted = set(keys)
        if not wanted:
            return []
        rows = await self.conn.fetch(_LINES, sorted({sku for sku, _ in wanted}), sorted({loc for _, loc in wanted}))
        return [PublishedPromise(*r) for r in rows if (r[1], r[2]) in wanted]

    async def publish(self, moved: Mapping[tuple[str, str], int]) -> list[ExpectedReceipt]:
        """Store the new numbers (by (receipt_id, sku)), then lock their receipts (id order) and read them
        whole, each with the units every line of it is promised now."""
        ids = sorted({receipt_id for receipt_id, _ in moved})
        keys = sorted(moved)
        await self.conn.execute(_SET_PROMISED, [r for r, _ in keys], [sku for _, sku in keys], [moved[k] for k in keys])
        heads = await self.conn.fetch(_LOCK, ids)
        lines: dict[str, list[tuple[ExpectedLine, int]]] = {i: [] for i in ids}
        for r in await self.conn.fetch(_RECEIPT_LINES, ids):
            lines[r[0]].append((ExpectedLine(r[1], r[2], r[3], r[4]), r[5]))
        out = []
        for h in heads:
            receipt = ExpectedReceipt(
                h[0], h[1], [ln for ln, _ in lines[h[0]]], h[2], h[3], ExpectedReceiptStatus(h[4]), h[5], h[6],
                h[7], h[8],
            )  # fmt: skip
            receipt.owner_dealer_id = h[9]
            receipt.promised = {ln.sku: promised for ln, promised in lines[h[0]]}
            out.append(receipt)
        return out

    async def save(self, receipts: list[ExpectedReceipt]) -> None:
        """Write the version and updated_at of receipts whose promises moved."""
        if receipts:
            await self.conn.execute(
                _SAVE, [r.id for r in receipts], [r.version for r in receipts], [r.updated_at for r in receipts]
            )
