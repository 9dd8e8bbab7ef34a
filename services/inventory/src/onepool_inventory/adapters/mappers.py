"""Domain objects <-> inventory protobuf messages."""

from __future__ import annotations

from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime import locations
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import LOCATION_TYPES, enum_maps

from onepool_inventory.domain.expected import ExpectedReceipt, ExpectedReceiptStatus, Fill, PromiseMoveReason
from onepool_inventory.domain.model import (
    Allocation,
    AllocationSource,
    ChannelAllocation,
    ChannelAllocationStatus,
    Location,
    Movement,
    MovementKind,
    PromiseMove,
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
ALLOCATION_SOURCES = enum_maps(pb.AllocationSource, AllocationSource).to_proto
EXPECTED_RECEIPT_STATUSES = enum_maps(pb.ExpectedReceiptStatus, ExpectedReceiptStatus).to_proto
PROMISE_MOVE_REASONS = enum_maps(pb.PromiseMoveReason, PromiseMoveReason).to_proto


def location_to_proto(loc: Location) -> pb.Location:
    """The runtime's one inventory.v1.Location mapper (dealers sends its copies with it too), and the version
    only the owner keeps beside the kernel's facts."""
    message = locations.location_to_proto(loc)
    message.version = loc.version
    return message


def level_to_proto(level: StockLevel) -> pb.StockLevel:
    return to_message(pb.StockLevel, level)


def line_to_proto(line: StockLine) -> pb.StockLine:
    return pb.StockLine(sku=line.sku, quantity=line.quantity)


def allocation_to_proto(a: Allocation) -> pb.Allocation:
    return to_message(
        pb.Allocation,
        a,
        fulfilled_quantity=a.fulfilled,
        location_owner_dealer_id=a.owner_dealer_id,
        location_type=LOCATION_TYPES[a.location_type],
        status=pb.ALLOCATION_STATUS_AWAITING_STOCK if a.awaiting else pb.ALLOCATION_STATUS_ALLOCATED,
        awaiting_quantity=a.awaiting,
        source=ALLOCATION_SOURCES[a.source],
    )


def reservation_to_proto(r: Reservation) -> pb.Reservation:
    return to_message(
        pb.Reservation,
        r,
        status=RESERVATION_STATUSES[r.status],
        allocations=[allocation_to_proto(a) for a in r.allocations],
    )


def expected_receipt_to_proto(receipt: ExpectedReceipt) -> pb.ExpectedReceipt:
    return to_message(
        pb.ExpectedReceipt,
        receipt,
        status=EXPECTED_RECEIPT_STATUSES[receipt.status],
        lines=[
            to_message(
                pb.ExpectedReceiptLine,
                ln,
                remaining=ln.remaining,
                promised=receipt.promised.get(ln.sku, 0),
                unpromised=receipt.unpromised(ln),
            )
            for ln in receipt.lines
        ],
        location_owner_dealer_id=receipt.owner_dealer_id,
    )


def promise_move_to_proto(m: PromiseMove) -> pb.PromiseMove:
    return to_message(pb.PromiseMove, m)


def transfer_to_proto(t: Transfer) -> pb.Transfer:
    return to_message(pb.Transfer, t, lines=[line_to_proto(ln) for ln in t.lines], status=TRANSFER_STATUSES[t.status])


def movement_to_proto(m: Movement) -> pb.Movement:
    return to_message(pb.Movement, m, kind=MOVEMENT_KINDS[m.kind])


def channel_allocation_to_proto(a: ChannelAllocation) -> pb.ChannelAllocation:
    return to_message(pb.ChannelAllocation, a, status=CHANNEL_ALLOCATION_STATUSES[a.status])


def fill_to_proto(f: Fill) -> pb.FilledAllocation:
    r = f.reservation
    return to_message(
        pb.FilledAllocation, f.allocation, reservation_id=r.id, order_id=r.order_id, channel_id=r.channel_id,
        quantity=f.quantity, still_awaiting=f.allocation.awaiting,
    )  # fmt: skip
