"""Consumer handlers: the channels service's allocation policies and listings' sales caps become inventory's
channel view."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool_runtime.protobuf import LOCATION_TYPES_BACK

from onepool_inventory.domain.model import ChannelPolicy
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork


def policy_from_channel(channel: channels_pb2.Channel) -> ChannelPolicy:
    allocation = channel.allocation
    return ChannelPolicy(
        channel_id=channel.id,
        location_ids=frozenset(allocation.location_ids),
        location_types=frozenset(LOCATION_TYPES_BACK[t] for t in allocation.location_types if t in LOCATION_TYPES_BACK),
        max_share_bps=allocation.max_share_bps,
        buffer_units=allocation.buffer_units,
        owner_dealer_id=channel.owner_dealer_id,
        active=sells(channel),
        version=channel.version,
        fill_own_first=allocation.own_stock == channels_pb2.OWN_STOCK_RULE_FILL_FIRST,
    )


def sells(channel: channels_pb2.Channel) -> bool:
    """Whether the channel sells, as channels states it. Its events from before the `selling` fact existed
    are read by the rule channels had then (only PAUSED stops selling): a rolling upgrade neither stops an
    active channel nor lets a paused one sell."""
    if channel.HasField("selling"):
        return channel.selling
    return channel.status != channels_pb2.CHANNEL_STATUS_PAUSED


async def on_channel_event(
    event: channel_events.ChannelCreated | channel_events.ChannelUpdated, uow: InventoryUnitOfWork
) -> None:
    await handlers.apply_channel_policy(uow, policy_from_channel(event.channel))


async def on_listing_upserted(event: channel_events.ListingUpserted, uow: InventoryUnitOfWork) -> None:
    listing = event.listing
    await handlers.apply_listing_cap(
        uow,
        listing.channel_id,
        listing.sku,
        listing.sales_cap_units,
        listing.version,
        listing.presale_units,
        listing.allow_backorder,
    )


async def on_listings_upserted(events: list[channel_events.ListingUpserted], uow: InventoryUnitOfWork) -> None:
    """A batch of listings, applied in (channel, sku) order: the order Reserve locks the same sales counters
    in, so the two never wait on each other's rows crosswise. Each cap is version-guarded, so the order of
    the events themselves does not matter."""
    for event in sorted(events, key=lambda e: (e.listing.channel_id, e.listing.sku, e.listing.version)):
        await on_listing_upserted(event, uow)
