"""Reservations and their allocations: SQL in, Reservation out (reservation rows are locked before any stock
row, in ascending id order).

Waiting allocations (AWAITING_STOCK) at a (sku, location) change only under that stock row's lock: arriving goods
fill them holding the stock row but not the reservation rows (`waiting_line`). So whoever changes a reservation
with waiting units (release, expiry, fulfillment) locks the reservation, then its stock rows, and then reads its
allocations again (`refresh`) before deciding anything.

For the same reason the line cannot write a reservation row's updated_at: the allocation rows it writes carry
the time instead (their `updated_at`), and a reservation is read with the latest of its own and theirs. That
time orders nothing between two transactions changing different SKUs of one reservation at once (each holds
only its own stock rows, and each publishes the other SKU as it read it): every allocation has a `version`
instead, moved on by one in the statement that changes its waiting state (under its stock row's lock), which
the events carry as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from onepool_runtime.repository import by_id
from sqlalchemy import select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import AllocationRow, ReservationRow, metadata
from onepool_inventory.domain.model import (
    Allocation,
    AllocationSource,
    LocationType,
    Reservation,
    ReservationStatus,
)

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

Key = tuple[str, str]  # (sku, location_id)
_RES = metadata.tables[ReservationRow.__tablename__]
_ALLOC = metadata.tables[AllocationRow.__tablename__]
# The version is moved on in the statement, under the row's lock, not copied from what this transaction read:
# the events carry the version RETURNING gives.
_SAVE_ALLOCATIONS = """
UPDATE allocations a
SET fulfilled = u.fulfilled, awaiting = u.awaiting, promised_at = u.promised_at, receipt_id = u.receipt_id,
    filled_at = u.filled_at, updated_at = u.updated_at, version = a.version + u.bump
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::timestamptz[], $7::text[],
            $8::timestamptz[], $9::timestamptz[], $10::int[])
    AS u(reservation_id, sku, location_id, fulfilled, awaiting, promised_at, receipt_id, filled_at, updated_at, bump)
WHERE a.reservation_id = u.reservation_id AND a.sku = u.sku AND a.location_id = u.location_id
  AND a.reservation_id = ANY($1::text[])
RETURNING a.reservation_id, a.sku, a.location_id, a.version
"""


class ReservationRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        # Every reservation this unit of work loaded, by id: one object per reservation.
        self._loaded: dict[str, Reservation] = {}
        # The latest updated_at of each loaded reservation's allocations (see the module doc).
        self._allocations_updated: dict[str, datetime] = {}
        # Each allocation's changing numbers as last read or written. Only allocations that differ are written:
        # the others may be under stock rows another transaction holds (filling them), and writing back the copy
        # read here would undo that transaction's change.
        self._as_stored: dict[tuple[str, str, str], tuple[Any, ...]] = {}

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
            if r.updated_at is not None:
                latest = self._allocations_updated.get(r.reservation_id, r.updated_at)
                self._allocations_updated[r.reservation_id] = max(latest, r.updated_at)
            self._as_stored[(r.reservation_id, r.sku, r.location_id)] = (
                r.fulfilled,
                r.awaiting,
                r.promised_at,
                r.receipt_id,
                r.filled_at,
            )
            out[r.reservation_id].append(
                Allocation(
                    r.sku,
                    r.location_id,
                    r.quantity,
                    r.fulfilled,
                    r.owner_dealer_id,
                    LocationType(r.location_type),
                    r.awaiting,
                    r.promised_at,
                    r.receipt_id,
                    AllocationSource(r.source),
                    r.filled_at,
                    r.version,
                )
            )
        return out

    async def refresh(self, reservation: Reservation) -> None:
        """Read the allocations again (after locking their stock rows: arriving goods may have filled some)."""
        reservation.allocations = (await self._allocations([reservation.id]))[reservation.id]
        reservation.updated_at = self._updated_at(reservation.id, reservation.updated_at)

    def _updated_at(self, reservation_id: str, own: datetime) -> datetime:
        """The reservation row's updated_at, or its allocations' when the waiting line changed them later."""
        return max(own, self._allocations_updated.get(reservation_id, own))

    async def waiting_line(self, keys: Iterable[Key]) -> dict[Key, list[tuple[Reservation, Allocation]]]:
        """The open reservations waiting at these (sku, location)s, first come first served (created_at, id);
        the caller holds those stock rows. A reservation this unit of work loaded already is that object."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(_RES)
                .where(
                    _RES.c.status.in_([ReservationStatus.ACTIVE.value, ReservationStatus.COMMITTED.value]),
                    _RES.c.id.in_(
                        select(_ALLOC.c.reservation_id).where(
                            _ALLOC.c.awaiting > 0, tuple_(_ALLOC.c.sku, _ALLOC.c.location_id).in_(wanted)
                        )
                    ),
                )
                .order_by(_RES.c.created_at, _RES.c.id)
            )
        ).all()
        known = self._loaded
        fresh = [r for r in rows if r.id not in known]
        allocations = await self._allocations([r.id for r in fresh]) if fresh else {}
        for r in fresh:
            self._reservation(r, allocations[r.id])
        line: dict[Key, list[tuple[Reservation, Allocation]]] = {k: [] for k in wanted}
        for r in rows:
            reservation = known[r.id]
            for a in reservation.allocations:
                if a.awaiting and (a.sku, a.location_id) in line:
                    line[(a.sku, a.location_id)].append((reservation, a))
        return line

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
            updated_at=self._updated_at(r.id, r.updated_at),
            release_reason=r.release_reason,
        )
        self._uow.track(res)
        self._loaded[res.id] = res
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
                    "awaiting": a.awaiting,
                    "promised_at": a.promised_at,
                    "receipt_id": a.receipt_id,
                    "source": a.source.value,
                    "filled_at": a.filled_at,
                    "version": a.version,
                }
                for r in reservations
                for a in r.allocations
            ],
        )
        for r in reservations:
            self._uow.track(r)
            for a in r.allocations:
                self._as_stored[(r.id, a.sku, a.location_id)] = (
                    a.fulfilled,
                    a.awaiting,
                    a.promised_at,
                    a.receipt_id,
                    a.filled_at,
                )

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
        await self.save_allocations(reservation)

    async def save_allocations(self, *reservations: Reservation) -> None:
        """Write the allocations' changing numbers (fulfilled, waiting and promised) that changed, one statement
        for all, with their reservation's updated_at; an allocation whose waiting state changed moves its
        version on by one, and takes the version written. The reservation rows are not touched: arriving goods
        fill waiting allocations without locking them, so an allocation this transaction did not change is not
        written (see `_as_stored`)."""
        changed: list[tuple[Reservation, Allocation, int]] = []
        for r in reservations:
            for a in r.allocations:
                now = (a.fulfilled, a.awaiting, a.promised_at, a.receipt_id, a.filled_at)
                key = (r.id, a.sku, a.location_id)
                before = self._as_stored.get(key)
                if before == now:
                    continue
                self._as_stored[key] = now
                waiting_moved = before is None or before[1:4] != now[1:4]
                changed.append((r, a, 1 if waiting_moved else 0))
        if not changed:
            return
        conn = await self._uow.driver()
        written = await conn.fetch(
            _SAVE_ALLOCATIONS,
            [r.id for r, _, _ in changed],
            [a.sku for _, a, _ in changed],
            [a.location_id for _, a, _ in changed],
            [a.fulfilled for _, a, _ in changed],
            [a.awaiting for _, a, _ in changed],
            [a.promised_at for _, a, _ in changed],
            [a.receipt_id for _, a, _ in changed],
            [a.filled_at for _, a, _ in changed],
            [r.updated_at for r, _, _ in changed],
            [bump for _, _, bump in changed],
        )
        versions = {(w[0], w[1], w[2]): w[3] for w in written}
        for r, a, _ in changed:
            a.version = versions.get((r.id, a.sku, a.location_id), a.version)

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
