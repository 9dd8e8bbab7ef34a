"""Domain events -> integration events (protobuf messages for the outbox). The only place dealers' domain
objects are turned into its published contract."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.dealers.v1 import events_pb2 as ev

from onepool_dealers.adapters import mappers
from onepool_dealers.domain import events as de


def translate(event: object) -> Iterable[tuple[str, Message]]:
    match event:
        case de.DealerRegistered(dealer=d):
            yield "dealers.dealer.registered", ev.DealerRegistered(dealer=mappers.dealer_to_proto(d))
        case de.DealerUpdated(dealer=d):
            yield "dealers.dealer.updated", ev.DealerUpdated(dealer=mappers.dealer_to_proto(d))
        case de.ReplenishmentPlaced(replenishment=r):
            yield (
                "dealers.replenishment.placed",
                ev.ReplenishmentPlaced(replenishment=mappers.replenishment_to_proto(r)),
            )
        case de.ReplenishmentShipped(replenishment=r):
            yield (
                "dealers.replenishment.shipped",
                ev.ReplenishmentShipped(replenishment=mappers.replenishment_to_proto(r)),
            )
        case de.ReplenishmentReceived(replenishment=r):
            yield (
                "dealers.replenishment.received",
                ev.ReplenishmentReceived(replenishment=mappers.replenishment_to_proto(r)),
            )
        case de.ReplenishmentRejected(replenishment=r):
            yield (
                "dealers.replenishment.rejected",
                ev.ReplenishmentRejected(replenishment=mappers.replenishment_to_proto(r)),
            )
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
