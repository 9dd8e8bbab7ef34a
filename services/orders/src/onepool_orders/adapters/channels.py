"""Orders' copy of the sales channels and their listings (see domain/channels.py): SQL in, domain out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_runtime.columns import core_tables
from onepool_runtime.repository import Repository
from onepool_runtime.upserts import upsert_newer

from onepool_orders.adapters.orm import ChannelListingRow, ChannelRow
from onepool_orders.domain.channels import (
    Catalogue,
    ChannelListing,
    SalesChannel,
    SalesTerms,
)

_CHANNELS, _LISTINGS = core_tables(ChannelRow, ChannelListingRow)
_COLUMNS = (
    "c.id, c.type, c.owner_dealer_id, c.version, c.currency, c.catalogue, c.balance_due_seconds, c.min_deposit_bps, "
    "c.deposit_rule, c.return_window_days"
)
_GET = f"SELECT {_COLUMNS} FROM channels c WHERE c.id = $1"
# The channel and its listings of the order's SKUs in one statement (read by every PlaceOrder).
_TERMS = f"""
SELECT {_COLUMNS},
       ARRAY(SELECT row(l.sku, l.price_currency, l.price_minor, l.active, l.version)
             FROM channel_listings l WHERE l.channel_id = c.id AND l.sku = ANY($2::text[])) AS listings
FROM channels c WHERE c.id = $1
"""


def _channel(row: Any) -> SalesChannel:
    presale = PresaleTerms(row["balance_due_seconds"], row["min_deposit_bps"], DepositRule(row["deposit_rule"]))
    return SalesChannel(
        row["id"],
        row["type"],
        row["owner_dealer_id"],
        row["version"],
        row["currency"],
        Catalogue(row["catalogue"]),
        presale,
        row["return_window_days"],
    )


class ChannelRepository(Repository):
    async def get(self, channel_id: str) -> SalesChannel | None:
        """Hand-written on the driver (see order_sql.py for why)."""
        pg = await self._uow.driver()
        row = await pg.fetchrow(_GET, channel_id)
        return _channel(row) if row is not None else None

    async def terms(self, channel_id: str, skus: Iterable[str]) -> SalesTerms:
        """The channel and its listings of these SKUs (read by every PlaceOrder: one statement on the driver)."""
        pg = await self._uow.driver()
        row = await pg.fetchrow(_TERMS, channel_id, sorted(set(skus)))
        if row is None:
            return SalesTerms(None)
        listings = {
            sku: ChannelListing(channel_id, sku, Money(currency, price), active, version)
            for sku, currency, price, active, version in row["listings"]
        }
        return SalesTerms(_channel(row), listings)

    async def upsert(self, channel: SalesChannel) -> bool:
        """Keep the channel unless a newer version is already stored (events may arrive out of order)."""
        values: dict[str, object] = {
            "id": channel.id,
            "type": channel.type,
            "owner_dealer_id": channel.owner_dealer_id,
            "version": channel.version,
            "currency": channel.currency,
            "catalogue": channel.catalogue.value,
            "balance_due_seconds": channel.presale.balance_due_seconds,
            "min_deposit_bps": channel.presale.min_deposit_bps,
            "deposit_rule": channel.presale.deposit_rule.value,
        }
        # Unstated (SalesChannel.return_window_days None): left out, so a stored window stays and a new copy
        # takes the column's default (7).
        if channel.return_window_days is not None:
            values["return_window_days"] = channel.return_window_days
        return await upsert_newer(self.session, _CHANNELS, values, ["id"], replace_equal=True)

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
