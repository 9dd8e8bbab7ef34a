"""Domain objects <-> protobuf messages (dealers' own, and the inventory/channels messages it sends)."""

from __future__ import annotations

from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_kernel.money import Money
from onepool_runtime.protobuf import ts

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

TIERS = {t: getattr(pb, f"DEALER_TIER_{t.value}") for t in DealerTier}
TIERS_BACK = {v: k for k, v in TIERS.items()}
STATUSES = {s: getattr(pb, f"DEALER_STATUS_{s.value}") for s in DealerStatus}
STATUSES_BACK = {v: k for k, v in STATUSES.items()}
REPLENISHMENT_STATUSES = {s: getattr(pb, f"REPLENISHMENT_STATUS_{s.value}") for s in ReplenishmentStatus}
REPLENISHMENT_STATUSES_BACK = {v: k for k, v in REPLENISHMENT_STATUSES.items()}
LOCATION_TYPES = {t: getattr(inv, f"LOCATION_TYPE_{t.value}") for t in LocationType}
LOCATION_TYPES_BACK = {v: k for k, v in LOCATION_TYPES.items()}


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
    return inv.Location(
        id=loc.id,
        name=loc.name,
        type=LOCATION_TYPES[loc.type],
        owner_dealer_id=loc.owner_dealer_id,
        region=loc.region,
        ships=loc.ships,
        pickup=loc.pickup,
        priority=loc.priority,
        disabled=not loc.active,
    )


def location_from_proto(loc: inv.Location) -> Location | None:
    """None for a location type dealers does not know (a newer contract than this code)."""
    if loc.type not in LOCATION_TYPES_BACK:
        return None
    return Location(
        id=loc.id,
        name=loc.name,
        type=LOCATION_TYPES_BACK[loc.type],
        owner_dealer_id=loc.owner_dealer_id,
        region=loc.region,
        ships=loc.ships,
        pickup=loc.pickup,
        priority=loc.priority,
        active=not loc.disabled,
    )


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
    )
