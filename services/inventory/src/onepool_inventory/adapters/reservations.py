"""Reservations and their allocations: SQL in, Reservation out (reservation rows are locked before any stock
row, in ascending id order)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from onepool_runtime.repository import by_id
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import AllocationRow, ReservationRow, metadata
from onepool_inventory.domain.model import Allocation, LocationType, Reservation, ReservationStatus

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

Key = tuple[str, str]  # (sku, location_id)
_RES = metadata.tables[ReservationRow.__tablename__]
_ALLOC = metadata.tables[AllocationRow.__tablename__]


class ReservationRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow

    async def _allocations(self, reservation_ids: list[str]) -> dict[str, list[Allocation]]:
        rows = (
            await self.session.execute(
                select(_ALLOC)
                .where(_ALLOC.c.reservation_id.in_(reservation_ids))
                .order_by(_ALLOC.c.reservation_id, _ALLOC.c.location_id, _ALLOC.c.sku)
            )
        ).all()
        out: dict[str, list[Allocation]] = {i: [] for i in reservation_ids}
        for r in rows:
            out[r.reservation_id].append(
                Allocation(
                    r.sku, r.location_id, r.quantity, r.fulfilled, r.owner_dealer_id, LocationType(r.location_type)
                )
            )
        return out

    def _reservation(self, row: Any, allocations: list[Allocation]) -> Reservation:
        r = row
        res = Reservation(
            id=r.id,
            order_id=r.order_id,
            channel_id=r.channel_id,
            status=ReservationStatus(r.status),
            allocations=allocations,
            expires_at=r.expires_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
            release_reason=r.release_reason,
        )
        self._uow.track(res)
        return res

    async def get(self, reservation_id: str, *, lock: bool = False) -> Reservation | None:
        query = by_id(_RES, reservation_id, lock=lock)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return self._reservation(row, (await self._allocations([row.id]))[row.id])

    async def lock_expired(self, now: datetime, limit: int) -> list[Reservation]:
        """ACTIVE reservations past their expiry, locked; rows another sweeper holds are skipped."""
        rows = (
            await self.session.execute(
                select(_RES)
                .where(_RES.c.status == ReservationStatus.ACTIVE.value, _RES.c.expires_at <= now)
                .order_by(_RES.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        allocations = await self._allocations([r.id for r in rows])
        return [self._reservation(r, allocations[r.id]) for r in rows]

    async def add(self, reservations: list[Reservation]) -> None:
        if not reservations:
            return
        await self.session.execute(
            insert(_RES),
            [
                {
                    "id": r.id,
                    "order_id": r.order_id,
                    "channel_id": r.channel_id,
                    "status": r.status.value,
                    "expires_at": r.expires_at,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "release_reason": r.release_reason,
                }
                for r in reservations
            ],
        )
        await self.session.execute(
            insert(_ALLOC),
            [
                {
                    "reservation_id": r.id,
                    "sku": a.sku,
                    "location_id": a.location_id,
                    "quantity": a.quantity,
                    "fulfilled": a.fulfilled,
                    "owner_dealer_id": a.owner_dealer_id,
                    "location_type": a.location_type.value,
                }
                for r in reservations
                for a in r.allocations
            ],
        )
        for r in reservations:
            self._uow.track(r)

    async def save(self, reservation: Reservation) -> None:
        await self.session.execute(
            update(_RES)
            .where(_RES.c.id == reservation.id)
            .values(
                status=reservation.status.value,
                expires_at=reservation.expires_at,
                updated_at=reservation.updated_at,
                release_reason=reservation.release_reason[:500],
            )
        )
        for a in reservation.allocations:
            await self.session.execute(
                update(_ALLOC)
                .where(
                    _ALLOC.c.reservation_id == reservation.id,
                    _ALLOC.c.sku == a.sku,
                    _ALLOC.c.location_id == a.location_id,
                )
                .values(fulfilled=a.fulfilled)
            )

    async def open_totals(self) -> dict[Key, int]:
        """Sum of open allocation units per (sku, location) (used by invariant checks and tests)."""
        rows = (
            await self.session.execute(
                text(
                    "SELECT a.sku, a.location_id, sum(a.quantity - a.fulfilled) AS open FROM allocations a "
                    "JOIN reservations r ON r.id = a.reservation_id WHERE r.status IN ('ACTIVE', 'COMMITTED') "
                    "GROUP BY a.sku, a.location_id"
                )
            )
        ).all()
        return {(r.sku, r.location_id): int(r.open) for r in rows}
