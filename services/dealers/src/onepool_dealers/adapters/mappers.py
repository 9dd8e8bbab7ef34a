"""Domain objects <-> protobuf messages (dealers' own, and the inventory/channels messages it sends)."""

from __future__ import annotations

from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_kernel.stock import capped
from onepool_runtime import locations
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import LOCATION_TYPES_BACK, enum_maps, money_to_proto

from onepool_dealers.domain.model import (
    Dealer,
    DealerStatus,
    DealerTier,
    Location,
    Replenishment,
    ReplenishmentStatus,
)
from onepool_dealers.domain.overview import Overview
from onepool_dealers.domain.ownership import MoveReason, OwnershipMove

TIERS, TIERS_BACK = enum_maps(pb.DealerTier, DealerTier)
STATUSES, STATUSES_BACK = enum_maps(pb.DealerStatus, DealerStatus)
REPLENISHMENT_STATUSES, REPLENISHMENT_STATUSES_BACK = enum_maps(pb.ReplenishmentStatus, ReplenishmentStatus)
MOVE_REASONS, _ = enum_maps(pb.OwnershipMoveReason, MoveReason)


# Dealers' locations are its read model of inventory's (LocationUpserted in, UpsertLocation out): translated by
# the runtime's one inventory.v1.Location mapper, as inventory's own are, and the version beside its fields.


def location_from_proto(loc: inv.Location) -> Location | None:
    """None for a location type this code does not know (a newer contract than this code)."""
    if loc.type not in LOCATION_TYPES_BACK:
        return None
    return locations.location_as(Location, loc, version=loc.version)


def location_to_proto(loc: Location) -> inv.Location:
    """With the version inventory gave the copy (AddDealerLocation answers with inventory's; UpsertLocation
    ignores it)."""
    message = locations.location_to_proto(loc)
    message.version = loc.version
    return message


def dealer_to_proto(d: Dealer) -> pb.Dealer:
    return to_message(pb.Dealer, d, tier=TIERS[d.tier], status=STATUSES[d.status])


def replenishment_to_proto(r: Replenishment) -> pb.Replenishment:
    return to_message(
        pb.Replenishment,
        r,
        lines=[to_message(pb.ReplenishmentLine, ln) for ln in r.lines],
        status=REPLENISHMENT_STATUSES[r.status],
    )


def move_to_proto(m: OwnershipMove) -> pb.OwnershipMove:
    g = m.goods
    lines = [to_message(pb.OwnershipMoveLine, ln) for ln in m.lines]
    moved = to_message(pb.OwnershipMove, g, reason=MOVE_REASONS[g.reason], from_dealer_id=g.giver, lines=lines)
    moved.to_dealer_id, moved.reference = g.taker, g.reference
    moved.total.CopyFrom(money_to_proto(m.total))
    moved.unpriced_skus.extend(m.unpriced_skus)
    moved.unpriced_lines.extend(pb.OwnershipMoveLine(sku=ln.sku, quantity=ln.quantity) for ln in m.unpriced)
    return moved


def overview_to_proto(o: Overview) -> pb.GetDealerOverviewResponse:
    # Totals over many locations and replenishments may pass what an int32 field carries: reported capped, as
    # inventory and channels report theirs (one SKU at one location never does: inventory refuses it).
    counts = {name: capped(getattr(o, name)) for name in ("open_orders", "units_in_stock", "inbound_units")}
    c = o.credit
    return to_message(
        pb.GetDealerOverviewResponse,
        o,
        **counts,
        balance=money_to_proto(c.owed),
        credit_available=money_to_proto(c.available),
        credit_limit=money_to_proto(c.limit),
        open_replenishments=money_to_proto(c.open),
        currencies=[to_message(pb.CurrencyFigures, f) for f in o.currencies],
    )
