"""Inventory persistence: SQL in, domain objects out.

Locking discipline (deadlock freedom): within a transaction, reservation and transfer rows are locked
before stock rows, each set in ascending key order, and stock rows always in (sku, location_id) order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import (
    AllocationRow,
    ChannelPolicyRow,
    LocationRow,
    MovementRow,
    ReservationRow,
    StockLevelRow,
    TransferLineRow,
    TransferRow,
    metadata,
)
from onepool_inventory.domain.model import (
    Allocation,
    ChannelPolicy,
    Location,
    LocationType,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockLine,
    Transfer,
    TransferStatus,
)

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

Key = tuple[str, str]  # (sku, location_id)
_LEVELS = metadata.tables[StockLevelRow.__tablename__]
_MOVES = metadata.tables[MovementRow.__tablename__]
_RES = metadata.tables[ReservationRow.__tablename__]
_ALLOC = metadata.tables[AllocationRow.__tablename__]
_LOC = metadata.tables[LocationRow.__tablename__]
_POLICY = metadata.tables[ChannelPolicyRow.__tablename__]
_TRANSFER = metadata.tables[TransferRow.__tablename__]
_TLINE = metadata.tables[TransferLineRow.__tablename__]


def _location(row: Any) -> Location:
    return Location(
        id=row.id,
        name=row.name,
        type=LocationType(row.type),
        owner_dealer_id=row.owner_dealer_id,
        region=row.region,
        ships=row.ships,
        pickup=row.pickup,
        priority=row.priority,
        active=row.active,
    )


def _level(row: Any) -> StockLevel:
    return StockLevel(
        sku=row.sku,
        location_id=row.location_id,
        on_hand=row.on_hand,
        reserved=row.reserved,
        safety_stock=row.safety_stock,
        version=row.version,
    )


class InventoryRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        self._loaded_versions: dict[Key, int] = {}
        self._levels: dict[Key, StockLevel] = {}

    # --- locations ------------------------------------------------------------------------------------

    async def get_location(self, location_id: str) -> Location | None:
        row = (await self.session.execute(select(_LOC).where(_LOC.c.id == location_id))).first()
        return _location(row) if row else None

    async def locations(
        self,
        *,
        ids: Iterable[str] | None = None,
        owner_dealer_id: str = "",
        type_: LocationType | None = None,
        region: str = "",
    ) -> list[Location]:
        query = select(_LOC).order_by(_LOC.c.id)
        if ids is not None:
            query = query.where(_LOC.c.id.in_(list(ids)))
        if owner_dealer_id:
            query = query.where(_LOC.c.owner_dealer_id == owner_dealer_id)
        if type_ is not None:
            query = query.where(_LOC.c.type == type_.value)
        if region:
            query = query.where(_LOC.c.region == region)
        return [_location(r) for r in (await self.session.execute(query)).all()]

    async def save_location(self, location: Location) -> None:
        values = {
            "id": location.id,
            "name": location.name,
            "type": location.type.value,
            "owner_dealer_id": location.owner_dealer_id,
            "region": location.region,
            "ships": location.ships,
            "pickup": location.pickup,
            "priority": location.priority,
            "active": location.active,
        }
        stmt = insert(_LOC).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={**{k: stmt.excluded[k] for k in values if k != "id"}, "updated_at": text("now()")},
        )
        await self.session.execute(stmt)
        self._uow.track(location)

    # --- stock levels -----------------------------------------------------------------------------------

    def _adopt(self, level: StockLevel) -> StockLevel:
        key = (level.sku, level.location_id)
        self._levels[key] = level
        self._loaded_versions[key] = level.version
        self._uow.track(level)
        return level

    async def lock_levels(self, keys: Iterable[Key], *, create: bool = False) -> dict[Key, StockLevel]:
        """Lock the given (sku, location) rows in key order; with create, missing rows are created at zero."""
        ordered = sorted(set(keys))
        if not ordered:
            return {}
        if create:
            # One upsert in key order both creates and locks every row in that order.
            upsert = insert(_LEVELS).values([{"sku": s, "location_id": loc} for s, loc in ordered])
            rows = (
                await self.session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["sku", "location_id"], set_={"version": _LEVELS.c.version}
                    ).returning(*_LEVELS.c)
                )
            ).all()
        else:
            rows = (
                await self.session.execute(
                    select(_LEVELS)
                    .where(tuple_(_LEVELS.c.sku, _LEVELS.c.location_id).in_(ordered))
                    .order_by(_LEVELS.c.sku, _LEVELS.c.location_id)
                    .with_for_update()
                )
            ).all()
        return {(r.sku, r.location_id): self._adopt(_level(r)) for r in rows}

    async def lock_levels_for_skus(self, skus: Iterable[str]) -> dict[Key, StockLevel]:
        """Lock every location's row of these SKUs (the hot path: one statement for a whole batch)."""
        rows = (
            await self.session.execute(
                select(_LEVELS)
                .where(_LEVELS.c.sku.in_(sorted(set(skus))))
                .order_by(_LEVELS.c.sku, _LEVELS.c.location_id)
                .with_for_update()
            )
        ).all()
        return {(r.sku, r.location_id): self._adopt(_level(r)) for r in rows}

    async def read_levels(self, skus: Iterable[str], location_ids: Iterable[str] | None = None) -> list[StockLevel]:
        query = select(_LEVELS).where(_LEVELS.c.sku.in_(list(skus)))
        if location_ids is not None:
            query = query.where(_LEVELS.c.location_id.in_(list(location_ids)))
        rows = (await self.session.execute(query.order_by(_LEVELS.c.sku, _LEVELS.c.location_id))).all()
        return [_level(r) for r in rows]

    async def save_levels(self) -> None:
        """Write every adopted level that changed, and its movements, in two statements."""
        changed = [lvl for key, lvl in self._levels.items() if lvl.version != self._loaded_versions.get(key)]
        if changed:
            owners = {
                r.id: (LocationType(r.type), r.owner_dealer_id)
                for r in (
                    await self.session.execute(
                        select(_LOC.c.id, _LOC.c.type, _LOC.c.owner_dealer_id).where(
                            _LOC.c.id.in_({lvl.location_id for lvl in changed})
                        )
                    )
                ).all()
            }
            for lvl in changed:
                lvl.location_type, lvl.owner_dealer_id = owners[lvl.location_id]
            await self.session.execute(
                update(_LEVELS)
                .where(and_(_LEVELS.c.sku == bindparam("b_sku"), _LEVELS.c.location_id == bindparam("b_loc")))
                .values(
                    on_hand=bindparam("b_on_hand"),
                    reserved=bindparam("b_reserved"),
                    safety_stock=bindparam("b_safety"),
                    version=bindparam("b_version"),
                ),
                [
                    {
                        "b_sku": lvl.sku,
                        "b_loc": lvl.location_id,
                        "b_on_hand": lvl.on_hand,
                        "b_reserved": lvl.reserved,
                        "b_safety": lvl.safety_stock,
                        "b_version": lvl.version,
                    }
                    for lvl in changed
                ],
            )
            for lvl in changed:
                self._loaded_versions[(lvl.sku, lvl.location_id)] = lvl.version
        moves = [m for lvl in self._levels.values() for m in lvl.movements]
        if moves:
            await self.session.execute(
                insert(_MOVES),
                [
                    {
                        "location_id": m.location_id,
                        "sku": m.sku,
                        "delta": m.delta,
                        "kind": m.kind.value,
                        "reason": m.reason[:500],
                        "reference": m.reference[:128],
                        "on_hand_after": m.on_hand_after,
                    }
                    for m in moves
                ],
            )
            for lvl in self._levels.values():
                lvl.movements.clear()

    async def list_movements(self, location_id: str, sku: str, after_id: int, limit: int) -> list[Movement]:
        query = select(_MOVES).where(_MOVES.c.id > after_id).order_by(_MOVES.c.id).limit(limit)
        if location_id:
            query = query.where(_MOVES.c.location_id == location_id)
        if sku:
            query = query.where(_MOVES.c.sku == sku)
        return [
            Movement(
                r.location_id,
                r.sku,
                r.delta,
                MovementKind(r.kind),
                r.reason,
                r.reference,
                r.on_hand_after,
                id=r.id,
                created_at=r.created_at,
            )
            for r in (await self.session.execute(query)).all()
        ]

    # --- reservations -----------------------------------------------------------------------------------

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

    async def get_reservation(self, reservation_id: str, *, lock: bool = False) -> Reservation | None:
        query = select(_RES).where(_RES.c.id == reservation_id)
        if lock:
            query = query.with_for_update()
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

    async def add_reservations(self, reservations: list[Reservation]) -> None:
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

    async def save_reservation(self, reservation: Reservation) -> None:
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

    async def open_reserved_totals(self) -> dict[Key, int]:
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

    # --- transfers ---------------------------------------------------------------------------------------

    async def get_transfer(self, transfer_id: str, *, lock: bool = False) -> Transfer | None:
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

    async def add_transfer(self, transfer: Transfer) -> None:
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

    async def save_transfer(self, transfer: Transfer) -> None:
        await self.session.execute(
            update(_TRANSFER)
            .where(_TRANSFER.c.id == transfer.id)
            .values(status=transfer.status.value, received_at=transfer.received_at)
        )

    # --- channel policies ---------------------------------------------------------------------------------

    async def policy(self, channel_id: str) -> ChannelPolicy | None:
        row = (await self.session.execute(select(_POLICY).where(_POLICY.c.channel_id == channel_id))).first()
        if row is None:
            return None
        return ChannelPolicy(
            channel_id=row.channel_id,
            location_ids=frozenset(row.location_ids),
            location_types=frozenset(LocationType(t) for t in row.location_types),
            max_share_bps=row.max_share_bps,
            buffer_units=row.buffer_units,
            owner_dealer_id=row.owner_dealer_id,
            active=row.active,
            version=row.version,
        )

    async def upsert_policy(self, policy: ChannelPolicy) -> bool:
        """Apply a policy unless a newer version is already stored (events may arrive out of order)."""
        values = {
            "channel_id": policy.channel_id,
            "location_ids": sorted(policy.location_ids),
            "location_types": sorted(t.value for t in policy.location_types),
            "max_share_bps": policy.max_share_bps,
            "buffer_units": policy.buffer_units,
            "owner_dealer_id": policy.owner_dealer_id,
            "active": policy.active,
            "version": policy.version,
        }
        stmt = insert(_POLICY).values(**values)
        upsert = stmt.on_conflict_do_update(
            index_elements=["channel_id"],
            set_={k: stmt.excluded[k] for k in values if k != "channel_id"},
            where=_POLICY.c.version <= stmt.excluded.version,
        ).returning(_POLICY.c.channel_id)
        return (await self.session.execute(upsert)).first() is not None
