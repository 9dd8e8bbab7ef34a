"""Orders' copy of the sales channels (see domain/channels.py): SQL in, SalesChannel out."""

from __future__ import annotations

from onepool_runtime.columns import core_table
from onepool_runtime.repository import Repository
from onepool_runtime.upserts import upsert_newer

from onepool_orders.adapters.orm import ChannelRow
from onepool_orders.domain.channels import SalesChannel

_CHANNELS = core_table(ChannelRow)
_GET = "SELECT id, type, owner_dealer_id, version FROM channels WHERE id = $1"


class ChannelRepository(Repository):
    async def get(self, channel_id: str) -> SalesChannel | None:
        """Read by every PlaceOrder: hand-written on the driver (see order_sql.py for why)."""
        pg = await self._uow.driver()
        row = await pg.fetchrow(_GET, channel_id)
        if row is None:
            return None
        return SalesChannel(row["id"], row["type"], row["owner_dealer_id"], row["version"])

    async def upsert(self, channel: SalesChannel) -> bool:
        """Keep the channel unless a newer version is already stored (events may arrive out of order)."""
        values = {
            "id": channel.id,
            "type": channel.type,
            "owner_dealer_id": channel.owner_dealer_id,
            "version": channel.version,
        }
        return await upsert_newer(self.session, _CHANNELS, values, ["id"], replace_equal=True)
