"""Locations: SQL in, Location out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import Repository
from onepool_runtime.upserts import upsert
from sqlalchemy import select, text

from onepool_inventory.adapters.orm import LocationRow, metadata
from onepool_inventory.domain.model import Location, LocationType

_LOC = metadata.tables[LocationRow.__tablename__]


def _location(row: Any) -> Location:
    return build(Location, row, type=LocationType(row.type))


class LocationRepository(Repository):
    async def get(self, location_id: str, *, lock: bool = False, share: bool = False) -> Location | None:
        """With `lock`, the location's upserts take turns until this transaction ends, one that creates it
        too (a lock on its id, not its row, which may not exist yet): each version follows the one before.
        With `share`, no upsert changes it until this transaction ends, while other sharers go on: a decision
        taken on this version (an allocation allowed here) commits before an upsert can judge it."""
        if lock or share:
            fn = "pg_advisory_xact_lock" if lock else "pg_advisory_xact_lock_shared"
            await self.session.execute(text(f"SELECT {fn}(hashtext(:k))"), {"k": f"inventory:location:{location_id}"})
        row = (await self.session.execute(select(_LOC).where(_LOC.c.id == location_id))).first()
        return _location(row) if row else None

    async def owners_held(self, location_ids: Iterable[str]) -> dict[str, str]:
        """The owner dealer of each location that exists ("" for the brand), held until this transaction ends:
        the shared lock of `get(share=True)` (no upsert of it goes first; the order every location lock is
        taken in) and the row FOR SHARE (nor does any other write of the row, an operator's SQL included; a
        row changed while this waited is read as it is now)."""
        ids = sorted(set(location_ids))
        for location_id in ids:
            lock = text("SELECT pg_advisory_xact_lock_shared(hashtext(:k))")
            await self.session.execute(lock, {"k": f"inventory:location:{location_id}"})
        query = (
            select(_LOC.c.id, _LOC.c.owner_dealer_id)
            .where(_LOC.c.id.in_(ids))
            .order_by(_LOC.c.id)
            .with_for_update(read=True)
        )
        return {r.id: r.owner_dealer_id for r in (await self.session.execute(query)).all()}

    async def find(
        self,
        *,
        ids: Iterable[str] | None = None,
        owner_dealer_id: str = "",
        type_: LocationType | None = None,
        region: str = "",
        after: str = "",
        limit: int | None = None,
    ) -> list[Location]:
        """In id order; `after` and `limit` page it by id (keyset)."""
        query = select(_LOC).order_by(_LOC.c.id)
        if after:
            query = query.where(_LOC.c.id > after)
        if limit is not None:
            query = query.limit(limit)
        if ids is not None:
            query = query.where(_LOC.c.id.in_(list(ids)))
        if owner_dealer_id:
            query = query.where(_LOC.c.owner_dealer_id == owner_dealer_id)
        if type_ is not None:
            query = query.where(_LOC.c.type == type_.value)
        if region:
            query = query.where(_LOC.c.region == region)
        return [_location(r) for r in (await self.session.execute(query)).all()]

    async def save(self, location: Location) -> None:
        await self.session.execute(upsert(_LOC, row_values(_LOC, location), ["id"], touch=True))
        self._uow.track(location)
