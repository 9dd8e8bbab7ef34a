"""Domain objects <-> inventory protobuf messages."""

from __future__ import annotations

from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.mapping import copy_fields, to_message
from onepool_runtime.protobuf import LOCATION_TYPES, enum_maps

from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelAllocationStatus,
    Location,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockLine,
    Transfer,
    TransferStatus,
)

MOVEMENT_KINDS, MOVEMENT_KINDS_BACK = enum_maps(pb.MovementKind, MovementKind)
RESERVATION_STATUSES = enum_maps(pb.ReservationStatus, ReservationStatus).to_proto
TRANSFER_STATUSES = enum_maps(pb.TransferStatus, TransferStatus).to_proto
CHANNEL_ALLOCATION_STATUSES = enum_maps(pb.ChannelAllocationStatus, ChannelAllocationStatus).to_proto
# What a Location and its message share by name; `type` is translated, and the message says `disabled`.
LOCATION_FIELDS = ("id", "name", "owner_dealer_id", "region", "ships", "pickup", "priority")


def location_to_proto(loc: Location) -> pb.Location:
    return pb.Location(**copy_fields(loc, *LOCATION_FIELDS), type=LOCATION_TYPES[loc.type], disabled=not loc.active)


def level_to_proto(level: StockLevel) -> pb.StockLevel:
    return to_message(pb.StockLevel, level)


def line_to_proto(line: StockLine) -> pb.StockLine:
    return pb.StockLine(sku=line.sku, quantity=line.quantity)


def reservation_to_proto(r: Reservation) -> pb.Reservation:
    return to_message(
        pb.Reservation,
        r,
        status=RESERVATION_STATUSES[r.status],
        allocations=[
            to_message(
                pb.Allocation,
                a,
                fulfilled_quantity=a.fulfilled,
                location_owner_dealer_id=a.owner_dealer_id,
                location_type=LOCATION_TYPES[a.location_type],
            )
            for a in r.allocations
        ],
    )


def transfer_to_proto(t: Transfer) -> pb.Transfer:
    return to_message(pb.Transfer, t, lines=[line_to_proto(ln) for ln in t.lines], status=TRANSFER_STATUSES[t.status])


def movement_to_proto(m: Movement) -> pb.Movement:
    return to_message(pb.Movement, m, kind=MOVEMENT_KINDS[m.kind])


def channel_allocation_to_proto(a: ChannelAllocation) -> pb.ChannelAllocation:
    return to_message(pb.ChannelAllocation, a, status=CHANNEL_ALLOCATION_STATUSES[a.status])
