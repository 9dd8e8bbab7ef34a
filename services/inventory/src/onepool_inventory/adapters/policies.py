"""Inventory's copy of the channels' allocation policies (the channel view): SQL in, ChannelPolicy out."""

from __future__ import annotations

from onepool_runtime.mapping import build, row_values
from onepool_runtime.upserts import upsert_newer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_inventory.adapters.orm import ChannelPolicyRow, metadata
from onepool_inventory.domain.model import ChannelPolicy, LocationType

_POLICY = metadata.tables[ChannelPolicyRow.__tablename__]


class ChannelPolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: str, *, lock: bool = False) -> ChannelPolicy | None:
        """With `lock`, the row FOR SHARE: no newer version is applied until this transaction ends (and one
        being applied is waited for, then read)."""
        query = select(_POLICY).where(_POLICY.c.channel_id == channel_id)
        if lock:
            query = query.with_for_update(read=True)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return build(
            ChannelPolicy,
            row,
            location_ids=frozenset(row.location_ids),
            location_types=frozenset(LocationType(t) for t in row.location_types),
        )

    async def upsert(self, policy: ChannelPolicy) -> bool:
        """Apply a policy unless a newer version is already stored (events may arrive out of order)."""
        return await upsert_newer(
            self.session, _POLICY, row_values(_POLICY, policy), ["channel_id"], replace_equal=True
        )
