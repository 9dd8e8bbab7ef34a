"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place dealers' domain objects are turned into its published contract."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.dealers.v1 import events_pb2 as ev

from onepool_dealers.adapters import mappers
from onepool_dealers.domain import events as de


def translate(event: object) -> Iterable[Message]:
    match event:
        case de.DealerRegistered(dealer=d):
            yield ev.DealerRegistered(dealer=mappers.dealer_to_proto(d))
        case de.DealerUpdated(dealer=d):
            yield ev.DealerUpdated(dealer=mappers.dealer_to_proto(d))
        case de.ReplenishmentPlaced(replenishment=r):
            yield ev.ReplenishmentPlaced(replenishment=mappers.replenishment_to_proto(r))
        case de.ReplenishmentShipped(replenishment=r):
            yield ev.ReplenishmentShipped(replenishment=mappers.replenishment_to_proto(r))
        case de.ReplenishmentReceived(replenishment=r):
            yield ev.ReplenishmentReceived(replenishment=mappers.replenishment_to_proto(r))
        case de.ReplenishmentRejected(replenishment=r):
            yield ev.ReplenishmentRejected(replenishment=mappers.replenishment_to_proto(r))
        case de.OwnershipMoved(move=m):
            yield ev.OwnershipMoved(move=mappers.move_to_proto(m))
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
