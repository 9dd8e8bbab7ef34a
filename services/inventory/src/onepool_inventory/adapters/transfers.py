"""Transfers between locations: SQL in, Transfer out (a transfer row is locked before any stock row)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import TransferLineRow, TransferRow, metadata
from onepool_inventory.domain.model import StockLine, Transfer, TransferStatus

Key = tuple[str, str]  # (sku, location_id)

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

_TRANSFER = metadata.tables[TransferRow.__tablename__]
_TLINE = metadata.tables[TransferLineRow.__tablename__]


class TransferRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow

    async def get(self, transfer_id: str, *, lock: bool = False) -> Transfer | None:
        query = select(_TRANSFER).where(_TRANSFER.c.id == transfer_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        lines = (
            await self.session.execute(select(_TLINE).where(_TLINE.c.transfer_id == transfer_id).order_by(_TLINE.c.sku))
        ).all()
        transfer = Transfer(
            id=row.id,
            from_location_id=row.from_location_id,
            to_location_id=row.to_location_id,
            lines=[StockLine(r.sku, r.quantity) for r in lines],
            status=TransferStatus(row.status),
            reference=row.reference,
            created_at=row.created_at,
            received_at=row.received_at,
        )
        self._uow.track(transfer)
        return transfer

    async def add(self, transfer: Transfer) -> None:
        await self.session.execute(
            insert(_TRANSFER).values(
                id=transfer.id,
                from_location_id=transfer.from_location_id,
                to_location_id=transfer.to_location_id,
                status=transfer.status.value,
                reference=transfer.reference,
                created_at=transfer.created_at,
            )
        )
        await self.session.execute(
            insert(_TLINE),
            [{"transfer_id": transfer.id, "sku": ln.sku, "quantity": ln.quantity} for ln in transfer.lines],
        )
        self._uow.track(transfer)

    async def save(self, transfer: Transfer) -> None:
        await self.session.execute(
            update(_TRANSFER)
            .where(_TRANSFER.c.id == transfer.id)
            .values(status=transfer.status.value, received_at=transfer.received_at)
        )

    async def inbound(self, skus: list[str], location_ids: list[str]) -> dict[Key, int]:
        """Units per (sku, destination) in transfers still IN_TRANSIT (shipped, not received)."""
        if not skus or not location_ids:
            return {}
        rows = (
            await self.session.execute(
                select(_TLINE.c.sku, _TRANSFER.c.to_location_id, func.sum(_TLINE.c.quantity).label("units"))
                .join(_TRANSFER, _TRANSFER.c.id == _TLINE.c.transfer_id)
                .where(
                    _TRANSFER.c.status == TransferStatus.IN_TRANSIT.value,
                    _TLINE.c.sku.in_(skus),
                    _TRANSFER.c.to_location_id.in_(location_ids),
                )
                .group_by(_TLINE.c.sku, _TRANSFER.c.to_location_id)
            )
        ).all()
        return {(r.sku, r.to_location_id): int(r.units) for r in rows}
