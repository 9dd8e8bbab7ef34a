"""Orders' copy of the sales channels and their listings (see domain/channels.py): SQL in, domain out."""

from __future__ import annotations

from collections.abc import Iterable

from onepool_kernel.money import Money
from onepool_runtime.columns import core_tables
from onepool_runtime.upserts import upsert_newer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_orders.adapters.orm import ChannelListingRow, ChannelRow
from onepool_orders.domain.channels import Catalogue, ChannelListing, SalesChannel

_CHANNELS, _LISTINGS = core_tables(ChannelRow, ChannelListingRow)


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: str) -> SalesChannel | None:
        row = (await self.session.execute(select(_CHANNELS).where(_CHANNELS.c.id == channel_id))).first()
        if row is None:
            return None
        return SalesChannel(row.id, row.type, row.owner_dealer_id, row.version, row.currency, Catalogue(row.catalogue))

    async def upsert(self, channel: SalesChannel) -> bool:
        """Keep the channel unless a newer version is already stored (events may arrive out of order)."""
        values = {
            "id": channel.id,
            "type": channel.type,
            "owner_dealer_id": channel.owner_dealer_id,
            "version": channel.version,
            "currency": channel.currency,
            "catalogue": channel.catalogue.value,
        }
        return await upsert_newer(self.session, _CHANNELS, values, ["id"], replace_equal=True)

    async def listings(self, channel_id: str, skus: Iterable[str]) -> dict[str, ChannelListing]:
        rows = (
            await self.session.execute(
                select(_LISTINGS).where(_LISTINGS.c.channel_id == channel_id, _LISTINGS.c.sku.in_(sorted(set(skus))))
            )
        ).all()
        return {
            r.sku: ChannelListing(r.channel_id, r.sku, Money(r.price_currency, r.price_minor), r.active, r.version)
            for r in rows
        }

    async def upsert_listing(self, listing: ChannelListing) -> bool:
        """Keep the listing unless a newer version is already stored."""
        values = {
            "channel_id": listing.channel_id,
            "sku": listing.sku,
            "price_currency": listing.price.currency,
            "price_minor": listing.price.amount_minor,
            "active": listing.active,
            "version": listing.version,
        }
        return await upsert_newer(self.session, _LISTINGS, values, ["channel_id", "sku"], replace_equal=True)
