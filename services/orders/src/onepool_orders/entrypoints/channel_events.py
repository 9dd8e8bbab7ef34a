"""Consumer handlers: the channels service's channels and listings become orders' copy (whose sale an order on
a channel is, and the terms it sells on)."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool_kernel.money import Money
from onepool_kernel.presale import MAX_MIN_DEPOSIT_BPS, DepositRule, PresaleTerms
from onepool_runtime.protobuf import CATALOGUES_BACK

from onepool_orders.domain.channels import (
    MAX_RETURN_WINDOW_DAYS,
    Catalogue,
    ChannelListing,
    SalesChannel,
)
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork


def sales_channel(channel: channels_pb2.Channel) -> SalesChannel:
    type_ = channels_pb2.ChannelType.Name(channel.type).removeprefix("CHANNEL_TYPE_")
    # A catalogue newer than this code is read as the default, LISTINGS (the stricter terms).
    catalogue = CATALOGUES_BACK.get(channel.catalogue, Catalogue.LISTINGS)
    terms = channel.presale
    presale = PresaleTerms(
        balance_due_seconds=max(0, terms.balance_due_seconds),
        min_deposit_bps=min(max(0, terms.min_deposit_bps), MAX_MIN_DEPOSIT_BPS),
        deposit_rule=DepositRule.KEEP if terms.deposit_rule == channels_pb2.DEPOSIT_RULE_KEEP else DepositRule.REFUND,
    )
    # Unstated (an event of a channels release before it, a rolling upgrade's old replica included): not the
    # default, which would overwrite a window set since; the copy keeps what it has (ChannelRepository.upsert).
    window = min(channel.return_window_days, MAX_RETURN_WINDOW_DAYS) if channel.HasField("return_window_days") else None
    return SalesChannel(
        channel.id,
        type_,
        channel.owner_dealer_id,
        channel.version,
        channel.currency,
        catalogue,
        presale,
        window,
    )


def channel_listing(listing: channels_pb2.Listing) -> ChannelListing:
    price = Money(listing.price.currency, listing.price.amount_minor)
    return ChannelListing(listing.channel_id, listing.sku, price, listing.active, listing.version)


async def on_channel_event(
    event: channel_events.ChannelCreated | channel_events.ChannelUpdated, uow: OrdersUnitOfWork
) -> None:
    await handlers.apply_channel(uow, sales_channel(event.channel))


async def on_listing_event(event: channel_events.ListingUpserted, uow: OrdersUnitOfWork) -> None:
    await handlers.apply_listing(uow, channel_listing(event.listing))
