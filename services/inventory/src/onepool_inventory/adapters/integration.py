"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place inventory's domain objects are turned into its published contract: an event that
records one aggregate is published under its own name with that aggregate (`onepool_runtime.translation`)."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.inventory.v1 import events_pb2 as ev
from onepool_runtime.mapping import copy_fields
from onepool_runtime.translation import Translator, carrying

from onepool_inventory.adapters import mappers
from onepool_inventory.domain import events as de
from onepool_inventory.domain.expected import PromiseMoveReason


def _rest(event: object) -> Iterable[Message]:
    """The events that say more than their aggregate."""
    match event:
        case de.StockLevelChanged(level=level):
            yield ev.StockChanged(
                level=mappers.level_to_proto(level),
                location_owner_dealer_id=level.owner_dealer_id,
                location_type=mappers.LOCATION_TYPES[level.location_type] if level.location_type else 0,
            )
        case de.ReservationFulfilled(reservation=r, location_id=loc, lines=lines):
            yield ev.ReservationFulfilled(
                reservation=mappers.reservation_to_proto(r),
                location_id=loc,
                lines=[mappers.line_to_proto(ln) for ln in lines],
            )
        case de.ChannelSalesChanged(sales=s):
            yield ev.ChannelSalesChanged(**copy_fields(s, "channel_id", "sku", "counted", "version", "presale_counted"))
        case de.ExpectedReceiptEvent(receipt=receipt, kind="recorded"):
            yield ev.ExpectedReceiptRecorded(receipt=mappers.expected_receipt_to_proto(receipt))
        case de.ExpectedReceiptEvent(receipt=receipt, kind="cancelled"):
            yield ev.ExpectedReceiptCancelled(receipt=mappers.expected_receipt_to_proto(receipt))
        case de.ExpectedReceiptEvent(receipt=receipt, kind="changed"):
            yield ev.ExpectedReceiptChanged(receipt=mappers.expected_receipt_to_proto(receipt))
        case de.ReservationFilled(reservation=r, location_id=loc, lines=lines, receipt_id=receipt_id):
            yield ev.ReservationFilled(
                reservation=mappers.reservation_to_proto(r),
                location_id=loc,
                lines=[mappers.line_to_proto(ln) for ln in lines],
                receipt_id=receipt_id,
            )
        case de.ReservationPromiseMoved(reservation=r, moves=moves, reason=reason):
            yield ev.ReservationPromiseMoved(
                reservation=mappers.reservation_to_proto(r),
                moves=[mappers.promise_move_to_proto(m) for m in moves],
                reason=mappers.PROMISE_MOVE_REASONS[PromiseMoveReason(reason)],
            )
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")


translate = Translator(
    ev,
    carrying(mappers.location_to_proto, de.LocationUpserted),
    carrying(
        mappers.reservation_to_proto,
        de.ReservationCreated,
        de.ReservationCommitted,
        de.ReservationReleased,
        de.ReservationExpired,
    ),
    carrying(mappers.transfer_to_proto, de.TransferShipped, de.TransferReceived),
    carrying(mappers.channel_allocation_to_proto, de.ChannelAllocationChanged),
    rest=_rest,
)
