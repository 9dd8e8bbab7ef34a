"""Dedicated stock (channel allocations) and sales-cap counters: SQL in, domain objects out.

Lock order (deadlock freedom, with stock_levels.py): reservation/transfer rows, then stock rows, then channel
allocation rows (ascending id), then channel_sales rows (ascending (channel_id, sku)). Whoever changes an
allocation's units locks its stock row first. Rows are adopted when locked and written back at commit.
Before all of them, what decides where a channel may hold units: its policy row (written by its event, FOR
SHARE in CreateChannelAllocation), then a location's lock (UpsertLocation; shared in CreateChannelAllocation).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import by_id
from sqlalchemy import and_, bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import ChannelAllocationRow, ChannelSalesRow, metadata
from onepool_inventory.domain.model import ChannelAllocation, ChannelAllocationStatus, ChannelSales

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

_ALLOC = metadata.tables[ChannelAllocationRow.__tablename__]
_SALES = metadata.tables[ChannelSalesRow.__tablename__]
SalesKey = tuple[str, str]  # (channel_id, sku)
AllocationKey = tuple[str, str, datetime, str]  # (channel_id, sku, created_at, id): the listing order


def _allocation(row: Any) -> ChannelAllocation:
    return build(ChannelAllocation, row, status=ChannelAllocationStatus(row.status))


def _sales(row: Any) -> ChannelSales:
    return ChannelSales(
        row.channel_id, row.sku, row.counted, row.cap_units, row.cap_version, row.version, row.presale_units,
        row.allow_backorder, row.presale_counted,
    )  # fmt: skip


class ChannelAllocationRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        self._adopted: dict[str, ChannelAllocation] = {}
        self._loaded: dict[str, int] = {}

    def _adopt(self, allocation: ChannelAllocation) -> ChannelAllocation:
        self._adopted[allocation.id] = allocation
        self._loaded[allocation.id] = allocation.version
        self._uow.track(allocation)
        return allocation

    async def get(self, allocation_id: str, *, lock: bool = False) -> ChannelAllocation | None:
        row = (await self.session.execute(by_id(_ALLOC, allocation_id, lock=lock))).first()
        if row is None:
            return None
        return self._adopt(_allocation(row)) if lock else _allocation(row)

    async def lock_active(self, skus: Iterable[str]) -> list[ChannelAllocation]:
        """Lock the ACTIVE allocations of these SKUs (the caller holds their stock rows already)."""
        rows = (
            await self.session.execute(
                select(_ALLOC)
                .where(_ALLOC.c.sku.in_(sorted(set(skus))), _ALLOC.c.status == ChannelAllocationStatus.ACTIVE.value)
                .order_by(_ALLOC.c.id)
                .with_for_update()
            )
        ).all()
        return [self._adopt(_allocation(r)) for r in rows]

    async def ending(self, moment: datetime, limit: int) -> list[ChannelAllocation]:
        """ACTIVE allocations past their end (not locked: the sweeper locks stock rows first, then these)."""
        rows = (
            await self.session.execute(
                select(_ALLOC)
                .where(_ALLOC.c.status == ChannelAllocationStatus.ACTIVE.value, _ALLOC.c.ends_at <= moment)
                .order_by(_ALLOC.c.ends_at, _ALLOC.c.id)
                .limit(limit)
            )
        ).all()
        return [_allocation(r) for r in rows]

    async def lock_ids(self, ids: Iterable[str], *, skip_locked: bool = True) -> list[ChannelAllocation]:
        """Lock these allocations, by default skipping any another transaction holds (the sweeper's replicas
        share work)."""
        rows = (
            await self.session.execute(
                select(_ALLOC)
                .where(_ALLOC.c.id.in_(sorted(set(ids))))
                .order_by(_ALLOC.c.id)
                .with_for_update(skip_locked=skip_locked)
            )
        ).all()
        return [self._adopt(_allocation(r)) for r in rows]

    async def active_of(self, *, channel_id: str = "", location_id: str = "") -> list[ChannelAllocation]:
        """The ACTIVE allocations of a channel or at a location (not locked)."""
        query = select(_ALLOC).where(_ALLOC.c.status == ChannelAllocationStatus.ACTIVE.value).order_by(_ALLOC.c.id)
        if channel_id:
            query = query.where(_ALLOC.c.channel_id == channel_id)
        if location_id:
            query = query.where(_ALLOC.c.location_id == location_id)
        return [_allocation(r) for r in (await self.session.execute(query)).all()]

    async def find(
        self,
        channel_ids: Iterable[str] | None,
        sku: str,
        *,
        include_closed: bool,
        after: AllocationKey | None = None,
        limit: int,
    ) -> list[ChannelAllocation]:
        """In (channel_id, sku, created_at, id) order; `after` (that key of the last one sent) and `limit`
        page it."""
        key = (_ALLOC.c.channel_id, _ALLOC.c.sku, _ALLOC.c.created_at, _ALLOC.c.id)
        query = select(_ALLOC).order_by(*key).limit(limit)
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        if channel_ids is not None:
            query = query.where(_ALLOC.c.channel_id.in_(list(channel_ids)))
        if sku:
            query = query.where(_ALLOC.c.sku == sku)
        if not include_closed:
            query = query.where(_ALLOC.c.status == ChannelAllocationStatus.ACTIVE.value)
        return [_allocation(r) for r in (await self.session.execute(query)).all()]

    async def add(self, allocation: ChannelAllocation) -> None:
        await self.session.execute(insert(_ALLOC).values(**row_values(_ALLOC, allocation)))
        self._uow.track(allocation)

    async def save_changed(self) -> None:
        changed = [a for a in self._adopted.values() if a.version != self._loaded[a.id]]
        if not changed:
            return
        await self.session.execute(
            update(_ALLOC)
            .where(_ALLOC.c.id == bindparam("b_id"))
            .values(
                remaining=bindparam("b_remaining"),
                returned=bindparam("b_returned"),
                status=bindparam("b_status"),
                version=bindparam("b_version"),
                updated_at=bindparam("b_updated_at"),
            ),
            [
                {
                    "b_id": a.id,
                    "b_remaining": a.remaining,
                    "b_returned": a.returned,
                    "b_status": a.status.value,
                    "b_version": a.version,
                    "b_updated_at": a.updated_at,
                }
                for a in changed
            ],
        )
        for a in changed:
            self._loaded[a.id] = a.version


class ChannelSalesRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        self._adopted: dict[SalesKey, ChannelSales] = {}
        self._loaded: dict[SalesKey, int] = {}

    async def lock(self, keys: Iterable[SalesKey]) -> dict[SalesKey, ChannelSales]:
        """Create (at zero) and lock the counters of these (channel, sku) pairs, in key order, in one upsert.
        Counters this unit of work holds already are returned as they are (reading them again would drop the
        changes not yet written)."""
        wanted = set(keys)
        held = {k: self._adopted[k] for k in wanted if k in self._adopted}
        ordered = sorted(wanted - set(held))
        if not ordered:
            return held
        upsert = insert(_SALES).values([{"channel_id": c, "sku": s, "counted": 0, "cap_units": 0} for c, s in ordered])
        rows = (
            await self.session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["channel_id", "sku"], set_={"version": _SALES.c.version}
                ).returning(*_SALES.c)
            )
        ).all()
        out = {}
        for row in rows:
            sales = _sales(row)
            key = (sales.channel_id, sales.sku)
            self._adopted[key], self._loaded[key] = sales, sales.version
            self._uow.track(sales)
            out[key] = sales
        return {**held, **out}

    async def read(self, channel_id: str, skus: Iterable[str]) -> dict[str, ChannelSales]:
        rows = (
            await self.session.execute(
                select(_SALES).where(_SALES.c.channel_id == channel_id, _SALES.c.sku.in_(list(skus)))
            )
        ).all()
        return {r.sku: _sales(r) for r in rows}

    async def set_cap(
        self,
        channel_id: str,
        sku: str,
        cap_units: int,
        cap_version: int,
        presale_units: int = 0,
        allow_backorder: bool = False,
    ) -> bool:
        """Apply a listing's cap, presale allowance and backorder flag unless a newer listing version is stored
        already (events may arrive out of order). Does not bump the counter's version: the count did not change."""
        stmt = insert(_SALES).values(
            channel_id=channel_id,
            sku=sku,
            counted=0,
            cap_units=cap_units,
            cap_version=cap_version,
            presale_units=presale_units,
            allow_backorder=allow_backorder,
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["channel_id", "sku"],
            set_={
                "cap_units": stmt.excluded.cap_units,
                "cap_version": stmt.excluded.cap_version,
                "presale_units": stmt.excluded.presale_units,
                "allow_backorder": stmt.excluded.allow_backorder,
            },
            where=_SALES.c.cap_version < stmt.excluded.cap_version,
        ).returning(_SALES.c.sku)
        return (await self.session.execute(upsert)).first() is not None

    async def save_changed(self) -> None:
        changed = [s for key, s in self._adopted.items() if s.version != self._loaded[key]]
        if not changed:
            return
        await self.session.execute(
            update(_SALES)
            .where(and_(_SALES.c.channel_id == bindparam("b_channel"), _SALES.c.sku == bindparam("b_sku")))
            .values(
                counted=bindparam("b_counted"), version=bindparam("b_version"), presale_counted=bindparam("b_presale")
            ),
            [
                {
                    "b_channel": s.channel_id,
                    "b_sku": s.sku,
                    "b_counted": s.counted,
                    "b_version": s.version,
                    "b_presale": s.presale_counted,
                }
                for s in changed
            ],
        )
        for s in changed:
            self._loaded[(s.channel_id, s.sku)] = s.version
