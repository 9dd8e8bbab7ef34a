"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place inventory's domain objects are turned into its published contract."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.inventory.v1 import events_pb2 as ev

from onepool_inventory.adapters import mappers
from onepool_inventory.domain import events as de


def translate(event: object) -> Iterable[Message]:
    match event:
        case de.StockLevelChanged(level=level):
            yield ev.StockChanged(
                level=mappers.level_to_proto(level),
                location_owner_dealer_id=level.owner_dealer_id,
                location_type=mappers.LOCATION_TYPES[level.location_type] if level.location_type else 0,
            )
        case de.LocationUpserted(location=location):
            yield ev.LocationUpserted(location=mappers.location_to_proto(location))
        case de.ReservationCreated(reservation=r):
            yield ev.ReservationCreated(reservation=mappers.reservation_to_proto(r))
        case de.ReservationCommitted(reservation=r):
            yield ev.ReservationCommitted(reservation=mappers.reservation_to_proto(r))
        case de.ReservationReleased(reservation=r):
            yield ev.ReservationReleased(reservation=mappers.reservation_to_proto(r))
        case de.ReservationExpired(reservation=r):
            yield ev.ReservationExpired(reservation=mappers.reservation_to_proto(r))
        case de.ReservationFulfilled(reservation=r, location_id=loc, lines=lines):
            yield ev.ReservationFulfilled(
                reservation=mappers.reservation_to_proto(r),
                location_id=loc,
                lines=[mappers.line_to_proto(ln) for ln in lines],
            )
        case de.TransferShipped(transfer=t):
            yield ev.TransferShipped(transfer=mappers.transfer_to_proto(t))
        case de.TransferReceived(transfer=t):
            yield ev.TransferReceived(transfer=mappers.transfer_to_proto(t))
        case de.ChannelAllocationChanged(allocation=a):
            yield ev.ChannelAllocationChanged(allocation=mappers.channel_allocation_to_proto(a))
        case de.ChannelSalesChanged(sales=s):
            yield ev.ChannelSalesChanged(channel_id=s.channel_id, sku=s.sku, counted=s.counted, version=s.version)
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
