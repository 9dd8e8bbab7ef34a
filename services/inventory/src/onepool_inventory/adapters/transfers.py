"""Transfers between locations: SQL in, Transfer out (a transfer row is locked before any stock row)."""

from __future__ import annotations

from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import Repository, by_id
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from onepool_inventory.adapters.orm import TransferLineRow, TransferRow, metadata
from onepool_inventory.domain.model import StockLine, Transfer, TransferStatus

_TRANSFER = metadata.tables[TransferRow.__tablename__]
_TLINE = metadata.tables[TransferLineRow.__tablename__]


class TransferRepository(Repository):
    async def get(self, transfer_id: str, *, lock: bool = False) -> Transfer | None:
        query = by_id(_TRANSFER, transfer_id, lock=lock)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        lines = (
            await self.session.execute(select(_TLINE).where(_TLINE.c.transfer_id == transfer_id).order_by(_TLINE.c.sku))
        ).all()
        transfer = build(
            Transfer, row, lines=[StockLine(r.sku, r.quantity) for r in lines], status=TransferStatus(row.status)
        )
        self._uow.track(transfer)
        return transfer

    async def add(self, transfer: Transfer) -> None:
        in_transit = transfer.status is TransferStatus.IN_TRANSIT
        await self.session.execute(insert(_TRANSFER).values(**row_values(_TRANSFER, transfer)))
        await self.session.execute(
            insert(_TLINE),
            [
                {"transfer_id": transfer.id, "sku": ln.sku, "quantity": ln.quantity, "in_transit": in_transit}
                for ln in transfer.lines
            ],
        )
        self._uow.track(transfer)

    async def save(self, transfer: Transfer) -> None:
        await self.session.execute(
            update(_TRANSFER)
            .where(_TRANSFER.c.id == transfer.id)
            .values(status=transfer.status.value, received_at=transfer.received_at)
        )
        if transfer.status is not TransferStatus.IN_TRANSIT:
            # Out of GetAvailability's units inbound (and its index).
            await self.session.execute(
                update(_TLINE).where(_TLINE.c.transfer_id == transfer.id, _TLINE.c.in_transit).values(in_transit=False)
            )
