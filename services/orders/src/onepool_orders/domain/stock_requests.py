"""What inventory must be told after an order changed: commands to another service.

The order records them as it changes; they are stored in the same transaction as the change (a command
outbox) and sent to inventory after the commit, retried until inventory has applied them. Every one is
idempotent in inventory (a commit or release applied twice is applied once; fulfillments and restocks carry a
request_id), so sending one twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

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
