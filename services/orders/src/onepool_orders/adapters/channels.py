"""Orders' copy of the sales channels (see domain/channels.py): SQL in, SalesChannel out."""

from __future__ import annotations

from onepool_runtime.columns import core_table
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_orders.adapters.orm import ChannelRow
from onepool_orders.domain.channels import SalesChannel

_CHANNELS = core_table(ChannelRow)


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: str) -> SalesChannel | None:
        row = (await self.session.execute(select(_CHANNELS).where(_CHANNELS.c.id == channel_id))).first()
        if row is None:
            return None
        return SalesChannel(row.id, row.type, row.owner_dealer_id, row.version)

    async def upsert(self, channel: SalesChannel) -> bool:
        """Keep the channel unless a newer version is already stored (events may arrive out of order)."""
        values = {
            "id": channel.id,
            "type": channel.type,
            "owner_dealer_id": channel.owner_dealer_id,
            "version": channel.version,
        }
        stmt = insert(_CHANNELS).values(**values)
        upsert = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={k: stmt.excluded[k] for k in values if k != "id"},
            where=_CHANNELS.c.version <= stmt.excluded.version,
        ).returning(_CHANNELS.c.id)
        return (await self.session.execute(upsert)).first() is not None
