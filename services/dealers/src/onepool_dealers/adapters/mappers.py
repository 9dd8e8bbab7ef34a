"""Domain objects <-> protobuf messages (dealers' own, and the inventory/channels messages it sends)."""

from __future__ import annotations

from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_kernel.money import Money
from onepool_runtime.mapping import copy_fields
from onepool_runtime.protobuf import enum_maps, ts

from onepool_dealers.domain.model import (
    Dealer,
    DealerStatus,
    DealerTier,
    Location,
    LocationType,
    Replenishment,
    ReplenishmentStatus,
)
from onepool_dealers.domain.overview import Overview

TIERS, TIERS_BACK = enum_maps(pb.DealerTier, DealerTier)
STATUSES, STATUSES_BACK = enum_maps(pb.DealerStatus, DealerStatus)
REPLENISHMENT_STATUSES, REPLENISHMENT_STATUSES_BACK = enum_maps(pb.ReplenishmentStatus, ReplenishmentStatus)
LOCATION_TYPES, LOCATION_TYPES_BACK = enum_maps(inv.LocationType, LocationType)
# Dealers' locations are its read model of inventory's (LocationUpserted in, UpsertLocation out), so this
# translation mirrors inventory's own on purpose: both follow the one inventory.v1.Location contract. It is
# kept here rather than shared because each service owns its domain Location (dealers' may grow fields of
# its own, inventory's stock rules are no concern of dealers); only the mechanism is shared (enum_maps,
# copy_fields). `type` is translated, and the message says `disabled` where the domain says `active`.
LOCATION_FIELDS = ("id", "name", "owner_dealer_id", "region", "ships", "pickup", "priority")


def money_to_proto(m: Money) -> common_pb2.Money:
    return common_pb2.Money(currency=m.currency, amount_minor=m.amount_minor)


def money_from_proto(m: common_pb2.Money) -> Money:
    return Money(m.currency, m.amount_minor)


def dealer_to_proto(d: Dealer) -> pb.Dealer:
    return pb.Dealer(
        id=d.id,
        name=d.name,
        tier=TIERS[d.tier],
        credit_limit=money_to_proto(d.credit_limit),
        region=d.region,
        channel_id=d.channel_id,
        status=STATUSES[d.status],
        created_at=ts(d.created_at),
        updated_at=ts(d.updated_at),
        location_ids=d.location_ids,
    )


def replenishment_to_proto(r: Replenishment) -> pb.Replenishment:
    return pb.Replenishment(
        id=r.id,
        dealer_id=r.dealer_id,
        from_location_id=r.from_location_id,
        to_location_id=r.to_location_id,
        lines=[
            pb.ReplenishmentLine(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=money_to_proto(ln.unit_price),
                line_total=money_to_proto(ln.line_total),
            )
            for ln in r.lines
        ],
        status=REPLENISHMENT_STATUSES[r.status],
        total=money_to_proto(r.total),
        transfer_id=r.transfer_id,
        status_reason=r.status_reason,
        created_at=ts(r.created_at),
        updated_at=ts(r.updated_at),
    )


def location_to_proto(loc: Location) -> inv.Location:
    return inv.Location(**copy_fields(loc, *LOCATION_FIELDS), type=LOCATION_TYPES[loc.type], disabled=not loc.active)


def location_from_proto(loc: inv.Location) -> Location | None:
    """None for a location type dealers does not know (a newer contract than this code)."""
    if loc.type not in LOCATION_TYPES_BACK:
        return None
    return Location(**copy_fields(loc, *LOCATION_FIELDS), type=LOCATION_TYPES_BACK[loc.type], active=not loc.disabled)


def overview_to_proto(o: Overview) -> pb.GetDealerOverviewResponse:
    return pb.GetDealerOverviewResponse(
        dealer_id=o.dealer_id,
        open_orders=o.open_orders,
        sales_in_period=money_to_proto(o.sales_in_period),
        units_in_stock=o.units_in_stock,
        balance=money_to_proto(o.balance),
        credit_available=money_to_proto(o.credit_available),
        credit_limit=money_to_proto(o.credit_limit),
        open_replenishments=money_to_proto(o.open_replenishments),
        period_start=ts(o.period_start),
        period_end=ts(o.period_end),
        inbound_units=o.inbound_units,
    )
