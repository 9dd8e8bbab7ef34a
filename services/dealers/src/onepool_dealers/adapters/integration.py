"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place dealers' domain objects are turned into its published contract: every dealers event
records one aggregate and is published under its own name with that aggregate (`onepool_runtime.translation`)."""

from __future__ import annotations

from onepool.dealers.v1 import events_pb2 as ev
from onepool_runtime.translation import Translator, carrying

from onepool_dealers.adapters import mappers
from onepool_dealers.domain import events as de

translate = Translator(
    ev,
    carrying(mappers.dealer_to_proto, de.DealerRegistered, de.DealerUpdated),
    carrying(
        mappers.replenishment_to_proto,
        de.ReplenishmentPlaced,
        de.ReplenishmentShipped,
        de.ReplenishmentReceived,
        de.ReplenishmentRejected,
    ),
    carrying(mappers.move_to_proto, de.OwnershipMoved),
)
