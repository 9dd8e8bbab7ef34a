"""Domain objects <-> channels protobuf messages."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2 as pb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2
from onepool_kernel.money import Money
from onepool_runtime.protobuf import enum_maps, ts

from onepool_channels.domain.model import (
    AllocationPolicy,
    Catalogue,
    Channel,
    ChannelStatus,
    ChannelStock,
    ChannelType,
    Listing,
    LocationType,
    OwnStockRule,
)

CHANNEL_TYPES, CHANNEL_TYPES_BACK = enum_maps(pb.ChannelType, ChannelType)
CHANNEL_STATUSES, CHANNEL_STATUSES_BACK = enum_maps(pb.ChannelStatus, ChannelStatus)
LOCATION_TYPES, LOCATION_TYPES_BACK = enum_maps(inventory_pb2.LocationType, LocationType)
CATALOGUES, CATALOGUES_BACK = enum_maps(pb.Catalogue, Catalogue)
OWN_STOCK_RULES, OWN_STOCK_RULES_BACK = enum_maps(pb.OwnStockRule, OwnStockRule)


def money_to_proto(money: Money) -> common_pb2.Money:
    return common_pb2.Money(currency=money.currency, amount_minor=money.amount_minor)


def allocation_to_proto(a: AllocationPolicy) -> pb.AllocationPolicy:
    return pb.AllocationPolicy(
        location_ids=sorted(a.location_ids),
        location_types=sorted(LOCATION_TYPES[t] for t in a.location_types),
        max_share_bps=a.max_share_bps,
        buffer_units=a.buffer_units,
        own_stock=OWN_STOCK_RULES[a.own_stock],
    )


def channel_to_proto(c: Channel) -> pb.Channel:
    return pb.Channel(
        id=c.id,
        code=c.code,
        name=c.name,
        type=CHANNEL_TYPES[c.type],
        owner_dealer_id=c.owner_dealer_id,
        fee_rate_bps=c.fee_rate_bps,
        allocation=allocation_to_proto(c.allocation),
        status=CHANNEL_STATUSES[c.status],
        currency=c.currency,
        created_at=ts(c.created_at),
        updated_at=ts(c.updated_at),
        version=c.version,
        catalogue=CATALOGUES[c.catalogue],
    )


def listing_to_proto(listing: Listing) -> pb.Listing:
    return pb.Listing(
        channel_id=listing.channel_id,
        sku=listing.sku,
        channel_sku=listing.channel_sku,
        price=money_to_proto(listing.price),
        active=listing.active,
        updated_at=ts(listing.updated_at),
        version=listing.version,
    )


def stock_to_watch(stock: ChannelStock) -> pb.WatchChannelStockResponse:
    return pb.WatchChannelStockResponse(
        channel_id=stock.channel_id,
        sku=stock.sku,
        channel_sku=stock.channel_sku,
        sellable=stock.sellable,
        version=stock.version,
    )
