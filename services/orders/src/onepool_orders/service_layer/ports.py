"""What the orders use cases need from inventory, independent of how it is reached (gRPC in production,
a fake in unit tests).

Errors are the runtime's domain errors: `Unavailable` when inventory cannot be reached or does not answer in
time (safe to retry), `InsufficientStock` naming every short SKU, `FailedPrecondition` for other refusals
(split required, pickup not offered, reservation expired), `NotFound` / `InvalidArgument` when the request
itself names something inventory does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from onepool_kernel.stock import SourcingMode

from onepool_orders.domain.model import AllocatedStock
from onepool_orders.domain.stock_requests import StockLine


@dataclass(frozen=True)
class ReserveStock:
    request_id: str
    order_id: str
    channel_id: str
    lines: tuple[StockLine, ...]
    mode: SourcingMode
    region: str
    pickup_location_id: str
    allow_split: bool
    ttl_seconds: int
    # Lines beyond on hand may wait for goods (presale, backorder) where the channel's listing allows it.
    accept_awaiting_stock: bool = False
    # A DEALER_DELIVERY order: the dealer who delivers, whose locations sourcing tries first.
    deliver_from_dealer_id: str = ""


class ReservationState(StrEnum):
    ACTIVE = "ACTIVE"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"
    FULFILLED = "FULFILLED"

    @property
    def holds_stock(self) -> bool:
        return self in (ReservationState.ACTIVE, ReservationState.COMMITTED)


@dataclass(frozen=True)
class ReservationInfo:
    id: str
    state: ReservationState
    allocations: tuple[AllocatedStock, ...]
    expires_at: datetime | None
    # The locations where everything it held has left (fulfilled): the goods inventory let leave there.
    left_at: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReturnLocation:
    """A live location that can receive a return, and the dealer that owns it ("" for the brand's)."""

    id: str
    owner_dealer_id: str = ""


class Inventory(Protocol):
    async def reserve(self, request: ReserveStock) -> ReservationInfo:
        """All lines or none. Idempotent on request_id: the same request returns the same reservation (as it
        was when made: its state may have moved on since, ask `reservation` for the current one)."""

    async def reservation(self, reservation_id: str) -> ReservationInfo: ...

    async def commit(self, reservation_id: str) -> None:
        """Payment received: the reservation stops expiring. Idempotent."""

    async def release(self, reservation_id: str, reason: str) -> ReservationInfo:
        """Give the unfulfilled stock back; the reservation as released (what had left stays left). Idempotent (a
        released or expired reservation stays as it is). A FULFILLED one (everything left) is refused:
        FailedPrecondition INVALID_RESERVATION_STATE, status FULFILLED."""

    async def fulfill(
        self, reservation_id: str, location_id: str, lines: tuple[StockLine, ...], request_id: str
    ) -> None:
        """Goods left the location. Idempotent on request_id."""

    async def restock(
        self, location_id: str, lines: tuple[StockLine, ...], request_id: str, reference: str, reason: str
    ) -> None:
        """Returned goods received at the location. Idempotent on request_id."""

    async def unknown_skus(self, skus: list[str]) -> list[str]:
        """Of these SKUs, the ones inventory has never stocked anywhere."""

    async def receiving_location(self, location_id: str) -> ReturnLocation | None:
        """The location if it exists and is live (can receive a return), else None."""
