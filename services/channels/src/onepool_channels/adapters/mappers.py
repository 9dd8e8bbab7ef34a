"""Domain objects <-> channels protobuf messages."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2 as pb
from onepool_kernel.presale import DepositRule
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import CATALOGUES, LOCATION_TYPES, enum_maps

from onepool_channels.domain.model import (
    AllocationPolicy,
    Channel,
    ChannelStatus,
    ChannelStock,
    ChannelType,
    Listing,
    OwnStockRule,
    RuleNumbers,
)

CHANNEL_TYPES, CHANNEL_TYPES_BACK = enum_maps(pb.ChannelType, ChannelType)
CHANNEL_STATUSES, CHANNEL_STATUSES_BACK = enum_maps(pb.ChannelStatus, ChannelStatus)
OWN_STOCK_RULES, OWN_STOCK_RULES_BACK = enum_maps(pb.OwnStockRule, OwnStockRule)
DEPOSIT_RULES, DEPOSIT_RULES_BACK = enum_maps(pb.DepositRule, DepositRule)


def allocation_to_proto(a: AllocationPolicy) -> pb.AllocationPolicy:
    return to_message(
        pb.AllocationPolicy,
        a,
        location_types=sorted(LOCATION_TYPES[t] for t in a.location_types),
        own_stock=OWN_STOCK_RULES[a.own_stock],
    )


def channel_to_proto(c: Channel) -> pb.Channel:
    return to_message(
        pb.Channel,
        c,
        type=CHANNEL_TYPES[c.type],
        allocation=allocation_to_proto(c.allocation),
        status=CHANNEL_STATUSES[c.status],
        selling=c.selling,
        catalogue=CATALOGUES[c.catalogue],
        presale=to_message(pb.PresaleTerms, c.presale, deposit_rule=DEPOSIT_RULES[c.presale.deposit_rule]),
    )


def listing_to_proto(listing: Listing) -> pb.Listing:
    return to_message(pb.Listing, listing)


def rules_to_proto(rules: RuleNumbers) -> pb.ChannelRules:
    return to_message(pb.ChannelRules, rules)


def stock_to_watch(stock: ChannelStock) -> pb.WatchChannelStockResponse:
    return to_message(
        pb.WatchChannelStockResponse,
        stock,
        rules=rules_to_proto(stock.rules),
        presale_sellable=stock.rules.presale_sellable,
        allow_backorder=stock.rules.allow_backorder,
    )
