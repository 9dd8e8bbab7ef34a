"""Expected receipts: SQL in, ExpectedReceipt out.

Lock order (with stock_levels.py): whoever receives on, reschedules or cancels a receipt locks every stock row
of its lines first, then the receipt's row (`get(lock=True)`); anyone else locks a receipt's row only last of
all, to publish the units it promises (adapters/receipt_promises.py). A receipt's location and skus never
change, so they may be read unlocked to know which stock rows to lock. The lines' numbers (received, shortfall)
change only by whoever holds the receipt's row and all its stock rows, so a reader holding a stock row (the
reservation path, the waiting line) sees them settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import Repository
from sqlalchemy import and_, bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import ExpectedReceiptLineRow, ExpectedReceiptRow, LocationRow, metadata
from onepool_inventory.domain.expected import ExpectedLine, ExpectedReceipt, ExpectedReceiptStatus, Slot

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

_RECEIPT = metadata.tables[ExpectedReceiptRow.__tablename__]
_LINE = metadata.tables[ExpectedReceiptLineRow.__tablename__]
_LOC = metadata.tables[LocationRow.__tablename__]
Key = tuple[str, str]  # (sku, location_id)


class ExpectedReceiptRepository(Repository):
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        super().__init__(session, uow)
        self._held: dict[str, ExpectedReceipt] = {}

    def held(self) -> dict[str, ExpectedReceipt]:
        """The receipts this unit of work locked or recorded, by id."""
        return dict(self._held)

    async def _lines(self, receipt_ids: list[str]) -> dict[str, list[ExpectedLine]]:
        rows = (
            await self.session.execute(
                select(_LINE).where(_LINE.c.receipt_id.in_(receipt_ids)).order_by(_LINE.c.receipt_id, _LINE.c.sku)
            )
        ).all()
        out: dict[str, list[ExpectedLine]] = {i: [] for i in receipt_ids}
        for r in rows:
            out[r.receipt_id].append(ExpectedLine(r.sku, r.quantity, r.received, r.shortfall))
        return out

    def _receipt(self, row: Any, lines: list[ExpectedLine]) -> ExpectedReceipt:
        receipt = build(ExpectedReceipt, row, lines=lines, status=ExpectedReceiptStatus(row.status))
        receipt.owner_dealer_id = row.owner_dealer_id
        return receipt

    def _select(self) -> Any:
        return select(_RECEIPT, _LOC.c.owner_dealer_id).join(_LOC, _LOC.c.id == _RECEIPT.c.location_id)

    async def get(self, receipt_id: str, *, lock: bool = False) -> ExpectedReceipt | None:
        query = self._select().where(_RECEIPT.c.id == receipt_id)
        if lock:
            query = query.with_for_update(of=_RECEIPT)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        receipt = self._receipt(row, (await self._lines([receipt_id]))[receipt_id])
        if lock:
            self._uow.track(receipt)
            self._held[receipt.id] = receipt
        return receipt

    async def find(
        self, location_ids: Iterable[str] | None, sku: str, *, include_closed: bool, after: str, limit: int
    ) -> list[ExpectedReceipt]:
        """Receipts in id order after `after` (a page), of these locations (None: all), with a line of `sku`."""
        query = self._select().where(_RECEIPT.c.id > after).order_by(_RECEIPT.c.id).limit(limit)
        if location_ids is not None:
            query = query.where(_RECEIPT.c.location_id.in_(list(location_ids)))
        if sku:
            query = query.where(_RECEIPT.c.id.in_(select(_LINE.c.receipt_id).where(_LINE.c.sku == sku)))
        if not include_closed:
            query = query.where(_RECEIPT.c.status == ExpectedReceiptStatus.OPEN.value)
        rows = (await self.session.execute(query)).all()
        lines = await self._lines([r.id for r in rows])
        return [self._receipt(r, lines[r.id]) for r in rows]

    async def add(self, receipt: ExpectedReceipt) -> None:
        await self.session.execute(insert(_RECEIPT).values(**row_values(_RECEIPT, receipt)))
        await self.session.execute(
            insert(_LINE),
            [{"receipt_id": receipt.id, **row_values(_LINE, ln)} for ln in receipt.lines],
        )
        self._uow.track(receipt)
        self._held[receipt.id] = receipt

    async def save(self, receipt: ExpectedReceipt) -> None:
        await self.session.execute(
            update(_RECEIPT)
            .where(_RECEIPT.c.id == receipt.id)
            .values(
                status=receipt.status.value,
                expected_at=receipt.expected_at,
                cancel_reason=receipt.cancel_reason[:500],
                version=receipt.version,
                updated_at=receipt.updated_at,
            )
        )
        await self.session.execute(
            update(_LINE)
            .where(and_(_LINE.c.receipt_id == receipt.id, _LINE.c.sku == bindparam("b_sku")))
            .values(received=bindparam("b_received"), shortfall=bindparam("b_shortfall")),
            [{"b_sku": ln.sku, "b_received": ln.received, "b_shortfall": ln.shortfall} for ln in receipt.lines],
        )

    async def slots(self, keys: Iterable[Key]) -> dict[Key, list[Slot]]:
        """What the OPEN receipts still bring per (sku, location), in expected_at order (the caller holds those
        stock rows, so the numbers are settled)."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(
                    _LINE.c.sku,
                    _RECEIPT.c.location_id,
                    _RECEIPT.c.id,
                    _RECEIPT.c.expected_at,
                    (_LINE.c.quantity - _LINE.c.received - _LINE.c.shortfall).label("remaining"),
                )
                .join(_RECEIPT, _RECEIPT.c.id == _LINE.c.receipt_id)
                .where(
                    _RECEIPT.c.status == ExpectedReceiptStatus.OPEN.value,
                    tuple_(_LINE.c.sku, _RECEIPT.c.location_id).in_(wanted),
                )
                .order_by(_RECEIPT.c.expected_at, _RECEIPT.c.id)
            )
        ).all()
        return group_slots((r.sku, r.location_id, r.id, r.expected_at, r.remaining) for r in rows)


def group_slots(rows: Iterable[tuple[str, str, str, datetime, int]]) -> dict[Key, list[Slot]]:
    """(sku, location_id, receipt_id, expected_at, remaining) rows in expected_at order -> slots per key."""
    out: dict[Key, list[Slot]] = {}
    for sku, location_id, receipt_id, expected_at, remaining in rows:
        if remaining > 0:
            out.setdefault((sku, location_id), []).append(Slot(receipt_id, expected_at, remaining))
    return out
