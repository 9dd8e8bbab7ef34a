"""What inventory must be told after an order changed: commands to another service.

The order records them as it changes; they are stored in the same transaction as the change (a command
outbox) and sent to inventory after the commit, retried until inventory has applied them. Every one is
idempotent in inventory (a commit or release applied twice is applied once; fulfillments and restocks carry a
request_id), so sending one twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onepool_kernel.errors import DomainError, FailedPrecondition, NotFound, Unavailable
from onepool_kernel.lines import StockLine


@dataclass(frozen=True)
class CommitReservation:
    """The order was paid: the reservation must stop expiring."""

    reservation_id: str


@dataclass(frozen=True)
class ReleaseReservation:
    """The order was cancelled before anything left: every reserved unit goes back to the pool."""

    reservation_id: str
    reason: str


@dataclass(frozen=True)
class FulfillReservation:
    """Goods left `location_id` for this order: on_hand and reserved fall there."""

    reservation_id: str
    location_id: str
    lines: tuple[StockLine, ...]
    request_id: str


@dataclass(frozen=True)
class RestockReturn:
    """Returned goods arrived at `location_id` and are sellable there again."""

    location_id: str
    lines: tuple[StockLine, ...]
    request_id: str
    reference: str
    reason: str


StockRequest = CommitReservation | ReleaseReservation | FulfillReservation | RestockReturn


class CommitState(StrEnum):
    """Where inventory stands on an order's reservation commit (its payment), as the command outbox knows it:
    goods may leave only once it is CONFIRMED (or was never asked for). A commit not yet answered may still be
    refused (the TTL passed while inventory was unreachable), and then the units are back in the pool."""

    CONFIRMED = "CONFIRMED"
    PENDING = "PENDING"
    REFUSED = "REFUSED"


class CommitNotConfirmed(Unavailable):
    """Goods may not leave yet: inventory has not confirmed the order's reservation commit. UNAVAILABLE with
    retry advice: the commit is being sent (with backoff) and the same call succeeds once it is answered."""

    def __init__(self, order_id: str, reservation_id: str) -> None:
        super().__init__(
            f"order {order_id}: inventory has not yet confirmed that reservation {reservation_id} is committed "
            "(is inventory reachable?); nothing may leave before it does; retry"
        )


def stock_not_held(order_id: str, reservation_id: str, fulfillment_id: str, why: str = "") -> FailedPrecondition:
    """Inventory refused the commit, released the reservation, or refused the goods leaving under it (`why`, its
    answer): the units are back in the pool, so goods that left would be sold twice."""
    return FailedPrecondition(
        "STOCK_NOT_HELD",
        f"fulfillment {fulfillment_id} cannot leave: inventory no longer holds reservation {reservation_id} for "
        f"order {order_id} ({why or 'its commit was refused or it was released'}); a release cancels the order "
        "(its payment is due back), otherwise an operator cancels it or places it again",
        {"order_id": order_id, "reservation_id": reservation_id, "fulfillment_id": fulfillment_id},
    )


def refused_to_leave(order_id: str, fulfillment_id: str, request: FulfillReservation, exc: DomainError) -> DomainError:
    """Inventory's refusal of goods leaving as the caller of ShipFulfillment / ConfirmPickup hears it. Units
    still waiting for goods are AWAITING_STOCK as orders says it; a commit inventory has not applied yet is
    retried (CommitNotConfirmed); anything else (the reservation RELEASED or EXPIRED, nothing of it held at that
    location any more) means inventory does not hold these units for the order: STOCK_NOT_HELD."""
    if isinstance(exc, FailedPrecondition) and exc.reason == "AWAITING_STOCK":
        return exc
    if isinstance(exc, FailedPrecondition) and exc.metadata.get("status") == "ACTIVE":
        return CommitNotConfirmed(order_id, request.reservation_id)
    if isinstance(exc, FailedPrecondition | NotFound):
        return stock_not_held(order_id, request.reservation_id, fulfillment_id, f"inventory: {exc.message}")
    return exc
