"""Domain objects <-> inventory protobuf messages."""

from __future__ import annotations

from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.mapping import copy_fields
from onepool_runtime.protobuf import enum_maps, ts

from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelAllocationStatus,
    Location,
    LocationType,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockLine,
    Transfer,
    TransferStatus,
)

LOCATION_TYPES, LOCATION_TYPES_BACK = enum_maps(pb.LocationType, LocationType)
MOVEMENT_KINDS, MOVEMENT_KINDS_BACK = enum_maps(pb.MovementKind, MovementKind)
RESERVATION_STATUSES = enum_maps(pb.ReservationStatus, ReservationStatus).to_proto
TRANSFER_STATUSES = enum_maps(pb.TransferStatus, TransferStatus).to_proto
CHANNEL_ALLOCATION_STATUSES = enum_maps(pb.ChannelAllocationStatus, ChannelAllocationStatus).to_proto
# What a Location and its message share by name; `type` is translated, and the message says `disabled`.
LOCATION_FIELDS = ("id", "name", "owner_dealer_id", "region", "ships", "pickup", "priority")


def location_to_proto(loc: Location) -> pb.Location:
    return pb.Location(**copy_fields(loc, *LOCATION_FIELDS), type=LOCATION_TYPES[loc.type], disabled=not loc.active)


def level_to_proto(level: StockLevel) -> pb.StockLevel:
    return pb.StockLevel(
        sku=level.sku,
        location_id=level.location_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        safety_stock=level.safety_stock,
        available=level.available,
        version=level.version,
        dedicated=level.dedicated,
    )


def line_to_proto(line: StockLine) -> pb.StockLine:
    return pb.StockLine(sku=line.sku, quantity=line.quantity)


def reservation_to_proto(r: Reservation) -> pb.Reservation:
    return pb.Reservation(
        id=r.id,
        order_id=r.order_id,
        channel_id=r.channel_id,
        status=RESERVATION_STATUSES[r.status],
        allocations=[
            pb.Allocation(
                sku=a.sku,
                location_id=a.location_id,
                quantity=a.quantity,
                fulfilled_quantity=a.fulfilled,
                location_owner_dealer_id=a.owner_dealer_id,
                location_type=LOCATION_TYPES[a.location_type],
            )
            for a in r.allocations
        ],
        expires_at=ts(r.expires_at),
        created_at=ts(r.created_at),
        updated_at=ts(r.updated_at),
        release_reason=r.release_reason,
    )


def transfer_to_proto(t: Transfer) -> pb.Transfer:
    return pb.Transfer(
        id=t.id,
        from_location_id=t.from_location_id,
        to_location_id=t.to_location_id,
        lines=[line_to_proto(ln) for ln in t.lines],
        status=TRANSFER_STATUSES[t.status],
        reference=t.reference,
        created_at=ts(t.created_at),
        received_at=ts(t.received_at),
    )


def movement_to_proto(m: Movement) -> pb.Movement:
    return pb.Movement(
        id=m.id,
        location_id=m.location_id,
        sku=m.sku,
        delta=m.delta,
        kind=MOVEMENT_KINDS[m.kind],
        reason=m.reason,
        reference=m.reference,
        on_hand_after=m.on_hand_after,
        created_at=ts(m.created_at),
    )


def channel_allocation_to_proto(a: ChannelAllocation) -> pb.ChannelAllocation:
    return pb.ChannelAllocation(
        **copy_fields(a, "id", "channel_id", "location_id", "sku", "quantity", "remaining", "returned", "version"),
        ends_at=ts(a.ends_at),
        status=CHANNEL_ALLOCATION_STATUSES[a.status],
        created_at=ts(a.created_at),
        updated_at=ts(a.updated_at),
    )
