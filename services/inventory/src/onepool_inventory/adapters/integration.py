"""Domain events -> integration events (protobuf messages for the outbox). The only place inventory's
domain objects are turned into its published contract."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.inventory.v1 import events_pb2 as ev

from onepool_inventory.adapters import mappers
from onepool_inventory.domain import events as de


def translate(event: object) -> Iterable[tuple[str, Message]]:
    match event:
        case de.StockLevelChanged(level=level):
            yield (
                "inventory.stock.changed",
                ev.StockChanged(
                    level=mappers.level_to_proto(level),
                    location_owner_dealer_id=level.owner_dealer_id,
                    location_type=mappers.LOCATION_TYPES[level.location_type] if level.location_type else 0,
                ),
            )
        case de.LocationUpserted(location=location):
            yield "inventory.location.upserted", ev.LocationUpserted(location=mappers.location_to_proto(location))
        case de.ReservationCreated(reservation=r):
            yield "inventory.reservation.created", ev.ReservationCreated(reservation=mappers.reservation_to_proto(r))
        case de.ReservationCommitted(reservation=r):
            yield (
                "inventory.reservation.committed",
                ev.ReservationCommitted(reservation=mappers.reservation_to_proto(r)),
            )
        case de.ReservationReleased(reservation=r):
            yield "inventory.reservation.released", ev.ReservationReleased(reservation=mappers.reservation_to_proto(r))
        case de.ReservationExpired(reservation=r):
            yield "inventory.reservation.expired", ev.ReservationExpired(reservation=mappers.reservation_to_proto(r))
        case de.ReservationFulfilled(reservation=r, location_id=loc, lines=lines):
            yield (
                "inventory.reservation.fulfilled",
                ev.ReservationFulfilled(
                    reservation=mappers.reservation_to_proto(r),
                    location_id=loc,
                    lines=[mappers.line_to_proto(ln) for ln in lines],
                ),
            )
        case de.TransferShipped(transfer=t):
            yield "inventory.transfer.shipped", ev.TransferShipped(transfer=mappers.transfer_to_proto(t))
        case de.TransferReceived(transfer=t):
            yield "inventory.transfer.received", ev.TransferReceived(transfer=mappers.transfer_to_proto(t))
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
