"""Commands: what callers ask inventory to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onepool_inventory.domain.model import Location, LocationType, MovementKind, StockLine
from onepool_inventory.domain.sourcing import Hint, Line


@dataclass(frozen=True)
class UpsertLocation:
    location: Location


@dataclass(frozen=True)
class ReceiveStock:
    location_id: str
    lines: tuple[StockLine, ...]
    reason: str
    kind: MovementKind = MovementKind.RECEIPT
    reference: str = ""
    # On an expected receipt (ReceiveStock.receipt_id): the last delivery (short), or when the rest now comes.
    receipt_id: str = ""
    close_receipt: bool = False
    rest_expected_at: datetime | None = None


@dataclass(frozen=True)
class AdjustStock:
    location_id: str
    sku: str
    delta: int
    reason: str


@dataclass(frozen=True)
class SetSafetyStock:
    location_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveStock:
    request_id: str
    # Hash of the whole request: the same request_id with different content is refused.
    fingerprint: str
    order_id: str
    channel_id: str
    lines: tuple[Line, ...]
    hint: Hint
    ttl_seconds: int
    # Lines beyond what is on hand may wait for goods (presale within the listing's presale_units, or backorder).
    accept_awaiting_stock: bool = False


@dataclass(frozen=True)
class FulfillReservation:
    reservation_id: str
    location_id: str
    lines: tuple[StockLine, ...]


@dataclass(frozen=True)
class TransferStock:
    from_location_id: str
    to_location_id: str
    lines: tuple[StockLine, ...]
    reason: str
    reference: str


@dataclass(frozen=True)
class CreateChannelAllocation:
    channel_id: str
    location_id: str
    sku: str
    quantity: int
    ends_at: datetime | None


@dataclass(frozen=True)
class ExpectReceipt:
    location_id: str
    lines: tuple[StockLine, ...]
    expected_at: datetime
    reference: str


@dataclass(frozen=True)
class ListLocations:
    """A page of locations in id order. `ids` None: any location; `limit` None: every match."""

    ids: tuple[str, ...] | None = None
    owner_dealer_id: str = ""
    type_: LocationType | None = None
    region: str = ""
    after: str = ""
    limit: int | None = None


@dataclass(frozen=True)
class ListChannelAllocations:
    """A page of dedicated allocations; `after` is the (channel_id, sku, created_at, id) of the last one sent."""

    channel_id: str
    sku: str
    include_closed: bool
    limit: int
    after: tuple[str, str, datetime, str] | None = None
