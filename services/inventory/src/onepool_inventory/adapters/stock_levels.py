"""Stock levels and their movement ledger: SQL in, StockLevel out.

Locking discipline (deadlock freedom): within a transaction, reservation and transfer rows are locked
before stock rows (see reservations.py, transfers.py), and stock rows always in (sku, location_id) order.
Levels are adopted when locked and written back by `save_changed` at commit (unit_of_work.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from onepool_runtime.commit_order import CommitOrder, Position
from onepool_runtime.mapping import build
from sqlalchemy import ColumnElement, Select, and_, bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import LocationRow, MovementRow, StockLevelRow, metadata
from onepool_inventory.domain.model import LocationType, Movement, MovementKind, StockLevel

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

Key = tuple[str, str]  # (sku, location_id)
_LEVELS = metadata.tables[StockLevelRow.__tablename__]
_MOVES = metadata.tables[MovementRow.__tablename__]
_LOC = metadata.tables[LocationRow.__tablename__]
# Rows are locked in Python's order of their keys (code points) on every path: an upsert locks them in the order
# of its VALUES, sorted here, and a SELECT ... FOR UPDATE in its ORDER BY, which without COLLATE "C" follows the
# database's collation (en_US puts "SKU1" before "SKU-10"; Python does not), so two paths would lock one pair of
# rows in opposite orders and deadlock.
_LOCK_ORDER = (_LEVELS.c.sku.collate("C"), _LEVELS.c.location_id.collate("C"))
# ListMovements pages in (xact_id, id) order over finished transactions (onepool_runtime.commit_order).
_LISTING = CommitOrder(_MOVES.c.xact_id, _MOVES.c.id)


def _level(row: Any) -> StockLevel:
    return build(StockLevel, row)


def _movement_filters(location_id: str, sku: str) -> list[ColumnElement[bool]]:
    """ListMovements' filters ("": not filtered)."""
    return [column == value for column, value in ((_MOVES.c.location_id, location_id), (_MOVES.c.sku, sku)) if value]


def movements_page(location_id: str, sku: str, after: Position, limit: int) -> Select[Any]:
    """StockLevelRepository.movements's statement: a range of the index of its filters, in (xact_id, id) order
    (migration 0010; tests/test_movements_paging.py checks the plans)."""
    return _LISTING.page(select(_MOVES).where(*_movement_filters(location_id, sku)), after, limit)


class StockLevelRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        self._loaded_versions: dict[Key, int] = {}
        self._levels: dict[Key, StockLevel] = {}

    def _adopt(self, level: StockLevel) -> StockLevel:
        key = (level.sku, level.location_id)
        self._levels[key] = level
        self._loaded_versions[key] = level.version
        self._uow.track(level)
        return level

    def adopted(self) -> list[StockLevel]:
        """The levels this unit of work holds locked, in key order."""
        return [self._levels[k] for k in sorted(self._levels)]

    async def lock(self, keys: Iterable[Key], *, create: bool = False) -> dict[Key, StockLevel]:
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
                    .order_by(*_LOCK_ORDER)
                    .with_for_update()
                )
            ).all()
        return {(r.sku, r.location_id): self._adopt(_level(r)) for r in rows}

    async def lock_skus(self, skus: Iterable[str]) -> dict[Key, StockLevel]:
        """Lock every location's row of these SKUs (the hot path: one statement for a whole batch)."""
        rows = (
            await self.session.execute(
                select(_LEVELS).where(_LEVELS.c.sku.in_(sorted(set(skus)))).order_by(*_LOCK_ORDER).with_for_update()
            )
        ).all()
        return {(r.sku, r.location_id): self._adopt(_level(r)) for r in rows}

    async def read(self, skus: Iterable[str], location_ids: Iterable[str] | None = None) -> list[StockLevel]:
        query = select(_LEVELS).where(_LEVELS.c.sku.in_(list(skus)))
        if location_ids is not None:
            query = query.where(_LEVELS.c.location_id.in_(list(location_ids)))
        rows = (await self.session.execute(query.order_by(_LEVELS.c.sku, _LEVELS.c.location_id))).all()
        return [_level(r) for r in rows]

    async def read_keys(self, keys: Iterable[Key]) -> list[StockLevel]:
        """These (sku, location) levels as committed (not locked); missing ones are absent."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        query = select(_LEVELS).where(tuple_(_LEVELS.c.sku, _LEVELS.c.location_id).in_(wanted))
        return [
            self._levels.get((r.sku, r.location_id)) or _level(r) for r in (await self.session.execute(query)).all()
        ]

    async def page(self, location_id: str, sku: str, after: Key | None, limit: int) -> list[StockLevel]:
        """Levels in (location_id, sku) order after the key `after` = (location_id, sku), for rebuilding read
        models (each row carries its location's type and owner, as stock events do)."""
        query = (
            select(_LEVELS, _LOC.c.type, _LOC.c.owner_dealer_id)
            .join(_LOC, _LOC.c.id == _LEVELS.c.location_id)
            .order_by(_LEVELS.c.location_id, _LEVELS.c.sku)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(_LEVELS.c.location_id, _LEVELS.c.sku) > tuple_(*after))
        if location_id:
            query = query.where(_LEVELS.c.location_id == location_id)
        if sku:
            query = query.where(_LEVELS.c.sku == sku)
        out = []
        for row in (await self.session.execute(query)).all():
            level = _level(row)
            level.location_type, level.owner_dealer_id = LocationType(row.type), row.owner_dealer_id
            out.append(level)
        return out

    async def save_changed(self) -> None:
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
                    dedicated=bindparam("b_dedicated"),
                    expected=bindparam("b_expected"),
                    awaiting=bindparam("b_awaiting"),
                    version=bindparam("b_version"),
                ),
                [
                    {
                        "b_sku": lvl.sku,
                        "b_loc": lvl.location_id,
                        "b_on_hand": lvl.on_hand,
                        "b_reserved": lvl.reserved,
                        "b_safety": lvl.safety_stock,
                        "b_dedicated": lvl.dedicated,
                        "b_expected": lvl.expected,
                        "b_awaiting": lvl.awaiting,
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

    async def movements(self, location_id: str, sku: str, after: Position, limit: int) -> list[Movement]:
        """Up to `limit` movements (of a location, a SKU: "" is every one) after the position `after`, in
        (xact_id, id) order, of finished transactions only: older than every transaction still running.

        Why not by id: a movement's id is taken when it is inserted, not when its transaction commits, so a
        reader who paged past id 6 would never see id 5 committed after it (onepool_runtime.commit_order has
        the whole rule). The cost: a movement is listed once every transaction older than its own has ended,
        which is milliseconds unless a transaction stays open."""
        rows = (await self.session.execute(movements_page(location_id, sku, after, limit))).all()
        return [build(Movement, r, kind=MovementKind(r.kind)) for r in rows]

    async def movements_held_back(self, location_id: str, sku: str, after: Position) -> bool:
        """Whether committed movements past `after` wait for an older transaction to end (`movements` leaves
        them out until then)."""
        query = _LISTING.held_back(select(_MOVES.c.id).where(*_movement_filters(location_id, sku)), after)
        return (await self.session.execute(query)).first() is not None
