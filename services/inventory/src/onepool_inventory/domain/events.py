"""Inventory domain events: plain dataclasses, past tense, recorded by aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelSales,
    Location,
    PromiseMove,
    Reservation,
    StockLevel,
    StockLine,
    Transfer,
)

if TYPE_CHECKING:
    from onepool_inventory.domain.expected import ExpectedReceipt


@dataclass(frozen=True)
class LocationUpserted:
    location: Location


@dataclass(frozen=True)
class StockLevelChanged:
    """Recorded once per level per transaction; the translator reads the level's final numbers at commit."""

    level: StockLevel


@dataclass(frozen=True)
class ReservationCreated:
    reservation: Reservation


@dataclass(frozen=True)
class ReservationCommitted:
    reservation: Reservation


@dataclass(frozen=True)
class ReservationReleased:
    reservation: Reservation


@dataclass(frozen=True)
class ReservationExpired:
    reservation: Reservation


@dataclass(frozen=True)
class ReservationFulfilled:
    reservation: Reservation
    location_id: str
    lines: tuple[StockLine, ...]


@dataclass(frozen=True)
class TransferShipped:
    transfer: Transfer


@dataclass(frozen=True)
class TransferReceived:
    transfer: Transfer


@dataclass(frozen=True)
class ChannelAllocationChanged:
    """Recorded once per allocation per transaction; translated with its final numbers at commit."""

    allocation: ChannelAllocation


@dataclass(frozen=True)
class ChannelSalesChanged:
    """Recorded once per (channel, sku) per transaction; translated with its final count at commit."""

    sales: ChannelSales


@dataclass(frozen=True)
class ExpectedReceiptEvent:
    """The receipt was `kind`: "recorded", "cancelled" or "changed" (changed: once per receipt per transaction,
    translated with its final numbers at commit)."""

    receipt: ExpectedReceipt
    kind: str


@dataclass(frozen=True)
class ReservationFilled:
    """Goods arriving at `location_id` filled waiting units of the reservation (`lines`)."""

    reservation: Reservation
    location_id: str
    lines: tuple[StockLine, ...]
    receipt_id: str


@dataclass(frozen=True)
class ReservationPromiseMoved:
    reservation: Reservation
    moves: tuple[PromiseMove, ...]
    reason: str
