"""Consumer handlers: what inventory publishes that changes orders."""

from __future__ import annotations

from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2
from onepool_runtime.protobuf import from_ts

from onepool_orders.adapters.inventory import allocated_stock, left_at
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

_REASONS = {
    inventory_pb2.PROMISE_MOVE_REASON_LATE: "LATE",
    inventory_pb2.PROMISE_MOVE_REASON_SHORT: "SHORT",
    inventory_pb2.PROMISE_MOVE_REASON_CANCELLED: "CANCELLED",
    inventory_pb2.PROMISE_MOVE_REASON_REORDERED: "REORDERED",
    inventory_pb2.PROMISE_MOVE_REASON_PROMISED: "PROMISED",
    inventory_pb2.PROMISE_MOVE_REASON_SOONER: "SOONER",
}


async def on_reservation_expired(event: inventory_events.ReservationExpired, uow: OrdersUnitOfWork) -> None:
    """Unpaid expiry (flow 6): the order whose reservation lapsed is cancelled."""
    await handlers.reservation_expired(uow, event.reservation.order_id, event.reservation.id)


async def on_reservation_released(event: inventory_events.ReservationReleased, uow: OrdersUnitOfWork) -> None:
    """A release orders did not ask for (an operator's): the order that counted on it is cancelled, its payment
    due back, as when a commit is refused; nothing of it may leave (its units are back in the pool). What had
    left before it (its allocations fulfilled) stays left."""
    r = event.reservation
    await handlers.reservation_released(uow, r.order_id, r.id, r.release_reason, left_at(r))


async def on_reservation_fulfilled(event: inventory_events.ReservationFulfilled, uow: OrdersUnitOfWork) -> None:
    """Goods left a location in inventory: a shipment orders did not record (it stopped after inventory let
    them leave, and the caller never retried) is recorded; one it recorded changes nothing."""
    r = event.reservation
    await handlers.fulfilled_in_inventory(uow, r.order_id, r.id, left_at(r))


async def _follow(
    reservation: inventory_pb2.Reservation,
    uow: OrdersUnitOfWork,
    reason: str = "",
    moved_skus: frozenset[str] | None = None,
) -> None:
    await handlers.follow_reservation_stock(
        uow,
        reservation.order_id,
        reservation.id,
        [allocated_stock(a) for a in reservation.allocations],
        from_ts(reservation.updated_at),
        reason,
        moved_skus,
    )


async def on_reservation_filled(event: inventory_events.ReservationFilled, uow: OrdersUnitOfWork) -> None:
    """Goods arrived for waiting units: the order's lines show what still waits (the rest may ship)."""
    await _follow(event.reservation, uow)


async def on_promise_moved(event: inventory_events.ReservationPromiseMoved, uow: OrdersUnitOfWork) -> None:
    """A late, short or cancelled receipt moved the promise, or units waiting without a date were given one:
    the order's lines show the new dates and the customer is told (orders.order.promise_moved).

    A transaction that moves promises for two reasons sends an event for each, and each carries the whole
    reservation after it: this event's reason is told of the lines its moves name only (an event without
    moves: of every line)."""
    moved = frozenset(m.sku for m in event.moves) or None
    await _follow(event.reservation, uow, _REASONS.get(event.reason, ""), moved)
