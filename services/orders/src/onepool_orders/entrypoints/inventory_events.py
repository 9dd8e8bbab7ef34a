"""Consumer handlers: what inventory publishes that changes orders."""

from __future__ import annotations

from onepool.inventory.v1 import events_pb2 as inventory_events

from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork


async def on_reservation_expired(event: inventory_events.ReservationExpired, uow: OrdersUnitOfWork) -> None:
    """Unpaid expiry (flow 6): the order whose reservation lapsed is cancelled."""
    await handlers.reservation_expired(uow, event.reservation.order_id, event.reservation.id)
