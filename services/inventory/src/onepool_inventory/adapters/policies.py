"""Inventory's copy of the channels' allocation policies (the channel view): SQL in, ChannelPolicy out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import ChannelPolicyRow, metadata
from onepool_inventory.domain.model import ChannelPolicy, LocationType

_POLICY = metadata.tables[ChannelPolicyRow.__tablename__]


class ChannelPolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: str) -> ChannelPolicy | None:
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
            fill_own_first=row.fill_own_first,
        )

    async def upsert(self, policy: ChannelPolicy) -> bool:
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
            "fill_own_first": policy.fill_own_first,
        }
        stmt = insert(_POLICY).values(**values)
        upsert = stmt.on_conflict_do_update(
            index_elements=["channel_id"],
            set_={k: stmt.excluded[k] for k in values if k != "channel_id"},
            where=_POLICY.c.version <= stmt.excluded.version,
        ).returning(_POLICY.c.channel_id)
        return (await self.session.execute(upsert)).first() is not None
