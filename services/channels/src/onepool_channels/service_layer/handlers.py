"""Channels use cases. Each runs inside one unit of work; the caller (runtime.run_in_transaction or a
consumer) commits. The stock feed's recomputation lives in stock_feed.py, the marketplace order import (its own
short transactions around calls to orders) in importing.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from onepool_kernel.lines import MAX_LINES
from onepool_kernel.timestamps import now
from onepool_runtime.errors import AlreadyExists, Conflict, InvalidArgument, found

from onepool_channels.domain import commands
from onepool_channels.domain.model import (
    Channel,
    ChannelStatus,
    ChannelStock,
    ChannelType,
    Listing,
    RuleNumbers,
    StockPosition,
)
from onepool_channels.service_layer import stock_feed
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork


async def create_channel(uow: ChannelsUnitOfWork, cmd: commands.CreateChannel) -> Channel:
    channel = Channel.register(
        id=str(uuid.uuid4()),
        code=cmd.code,
        name=cmd.name,
        type=cmd.type,
        allocation=cmd.allocation,
        owner_dealer_id=cmd.owner_dealer_id,
        fee_rate_bps=cmd.fee_rate_bps,
        currency=cmd.currency,
        status=ChannelStatus.ACTIVE,
        catalogue=cmd.catalogue,
        presale=cmd.presale,
        return_window_days=cmd.return_window_days,
        import_payment_ttl_seconds=cmd.import_payment_ttl_seconds,
    )
    return await uow.repo.add_channel(channel)


async def get_channel(uow: ChannelsUnitOfWork, channel_id: str, *, lock: str = "") -> Channel:
    return found(await uow.repo.get_channel(channel_id, lock=lock), "channel", channel_id)


async def announce_channels(
    uow: ChannelsUnitOfWork, after: tuple[str, str] | None, limit: int
) -> tuple[str, str] | None:
    """Re-publish a page of channels as they are (see Channel.announce); returns the last (code, id), None at
    the end."""
    channels = await uow.repo.list_channels(type_=None, owner_dealer_id="", only_id="", after=after, limit=limit)
    for channel in channels:
        channel.announce()
        uow.track(channel)
    return (channels[-1].code, channels[-1].id) if len(channels) == limit else None


async def announce_listings(uow: ChannelsUnitOfWork, after: tuple[str, str], limit: int) -> tuple[str, str] | None:
    """Re-publish a page of listings as they are (see Listing.announce); returns the last key, None at the end."""
    listings = await uow.repo.listings_after(after, limit)
    for listing in listings:
        listing.announce()
        uow.track(listing)
    return (listings[-1].channel_id, listings[-1].sku) if len(listings) == limit else None


async def list_channels(
    uow: ChannelsUnitOfWork,
    *,
    type_: ChannelType | None,
    owner_dealer_id: str,
    only_id: str,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Channel]:
    return await uow.repo.list_channels(
        type_=type_, owner_dealer_id=owner_dealer_id, only_id=only_id, after=after, limit=limit
    )


async def update_channel(uow: ChannelsUnitOfWork, cmd: commands.UpdateChannel) -> Channel:
    channel = await get_channel(uow, cmd.channel_id, lock="update")
    for field, value in cmd.unchanged:
        if getattr(channel, field) != value:
            raise InvalidArgument(f"channel.{field}", f"cannot be changed (it is {getattr(channel, field)})")
    allocation = cmd.allocation
    if allocation is not None and cmd.allocation_fields:
        allocation = replace(channel.allocation, **{f: getattr(allocation, f) for f in cmd.allocation_fields})
    changes = channel.changes(
        name=cmd.name,
        fee_rate_bps=cmd.fee_rate_bps,
        allocation=allocation,
        status=cmd.status,
        catalogue=cmd.catalogue,
        presale=cmd.presale,
        return_window_days=cmd.return_window_days,
        import_payment_ttl_seconds=cmd.import_payment_ttl_seconds,
    )
    # A channel already as asked answers whatever its version: a retry of an update that went through (its
    # answer lost) gets the channel, not ABORTED; only a change that would overwrite another's is refused.
    if changes and cmd.expected_version and cmd.expected_version != channel.version:
        raise Conflict(
            f"channel {channel.code} is at version {channel.version}, not {cmd.expected_version}; "
            "read it again and retry"
        )
    sold_before = (channel.allocation, channel.status)
    if channel.apply(now(), changes):
        await uow.repo.save_channel(channel)
        if (channel.allocation, channel.status) != sold_before:
            await stock_feed.refresh(uow, await uow.repo.listed_skus(channel.id), channel_id=channel.id)
    return channel


async def upsert_listing(uow: ChannelsUnitOfWork, cmd: commands.UpsertListing) -> Listing:
    wanted = cmd.listing
    # FOR SHARE: a concurrent policy change waits for this listing, then recomputes it too.
    channel = await get_channel(uow, wanted.channel_id, lock="share")
    if wanted.price.currency != channel.currency:
        raise InvalidArgument("price.currency", f"must be the channel's currency {channel.currency}")
    taken = await uow.repo.listing_with_channel_sku(channel.id, wanted.channel_sku)
    if taken is not None and taken.sku != wanted.sku:
        raise AlreadyExists("listing channel_sku", wanted.channel_sku, description=f"already mapped to {taken.sku}")
    await uow.repo.lock_skus([wanted.sku])
    stored = next(iter(await uow.repo.listings(channel.id, skus=[wanted.sku])), None)
    if (
        stored is not None
        and replace(wanted, channel_id=channel.id, updated_at=stored.updated_at, version=stored.version) == stored
    ):
        return stored  # already as asked (a retry): no new version, nothing published again
    listing = replace(wanted, channel_id=channel.id, events=[]).upsert()
    await uow.repo.upsert_listing(listing)
    await stock_feed.refresh(uow, [wanted.sku], channel_id=channel.id)
    return listing


async def list_listings(uow: ChannelsUnitOfWork, channel_id: str, after_sku: str, limit: int) -> list[Listing]:
    await get_channel(uow, channel_id)
    return await uow.repo.listings(channel_id, after_sku=after_sku, limit=limit)


@dataclass(frozen=True)
class StockItem:
    sku: str
    channel_sku: str
    sellable: int
    listed: bool
    rules: RuleNumbers


# GetChannelStock without SKUs answers every listing of a channel up to this many (an answer of a few hundred
# kilobytes); a bigger channel names its SKUs, a page of ListListings at a time.
MAX_WHOLE_CHANNEL_STOCK = 5_000


async def channel_stock(uow: ChannelsUnitOfWork, channel_id: str, skus: list[str]) -> list[StockItem]:
    """Sellable per listing, computed from the read model (equal to inventory's channel view). A SKU asked
    for that the channel does not (actively) list sells nothing: sellable 0, listed False. Without `skus`,
    every listing of the channel, refused on `skus` past MAX_WHOLE_CHANNEL_STOCK listings."""
    channel = await get_channel(uow, channel_id)
    if skus:
        found = await uow.repo.listings(channel_id, skus=skus)
    else:
        found = await uow.repo.listings(channel_id, limit=MAX_WHOLE_CHANNEL_STOCK + 1)
        if len(found) > MAX_WHOLE_CHANNEL_STOCK:
            raise InvalidArgument(
                "skus",
                f"is required for channel {channel.code}: it has more than {MAX_WHOLE_CHANNEL_STOCK} listings; "
                f"ask for at most {MAX_LINES} SKUs at a time (ListListings pages them)",
            )
    listings = {listing.sku: listing for listing in found}
    wanted = list(dict.fromkeys(skus)) if skus else list(listings)
    positions: dict[str, list[StockPosition]] = await uow.repo.positions(wanted)
    keys = [(channel_id, sku) for sku in wanted]
    dedicated, counted = await uow.repo.dedicated(keys), await uow.repo.counted(keys)
    listed = [listings[sku] for sku in wanted if sku in listings]
    expected, presale_counted = await stock_feed.presale_inputs(uow, listed, [(channel_id, ln.sku) for ln in listed])
    out = []
    for sku, key in zip(wanted, keys, strict=True):
        listing = listings.get(sku)
        sellable, rules = channel.rules(
            listing,
            positions.get(sku, []),
            dedicated[key],
            counted.get(key, 0),
            expected=expected.get(sku, []),
            presale_counted=presale_counted.get(key, 0),
        )
        out.append(
            StockItem(
                sku,
                listing.channel_sku if listing else "",
                sellable,
                listed=listing is not None and listing.active,
                rules=rules,
            )
        )
    return out


async def published_stock(uow: ChannelsUnitOfWork, channel_id: str) -> list[ChannelStock]:
    """The numbers last published for the channel's listings (what a watcher starts from)."""
    return await uow.repo.published(channel_id)
