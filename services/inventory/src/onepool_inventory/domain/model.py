"""The one pool of stock: locations, stock levels, reservations, transfers and channel policies.

Invariants kept here (and again by database constraints): for every (sku, location)
0 <= reserved <= on_hand, and nothing is reserved beyond available = on_hand - reserved - safety_stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onepool_kernel.errors import FailedPrecondition, InsufficientStock, InvalidArgument, Shortage
from onepool_kernel.lines import StockLine
from onepool_kernel.locations import LocationType
from onepool_kernel.stock import sellable


@dataclass
class Location:
    id: str
    name: str
    type: LocationType
    owner_dealer_id: str = ""
    region: str = ""
    ships: bool = True
    pickup: bool = False
    priority: int = 0
    active: bool = True
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type.is_dealer and not self.owner_dealer_id:
            raise InvalidArgument("location.owner_dealer_id", "is required for dealer locations")
        if not self.type.is_dealer and self.owner_dealer_id:
            raise InvalidArgument("location.owner_dealer_id", "must be empty for brand locations")

    def supersede(self, previous: Location | None) -> None:
        """This location's details take the place of `previous` (the stored ones, if any); its owner never
        changes."""
        from onepool_inventory.domain.events import LocationUpserted

        if previous is not None and previous.owner_dealer_id != self.owner_dealer_id:
            raise FailedPrecondition(
                "OWNER_IMMUTABLE",
                f"location {self.id} belongs to {previous.owner_dealer_id or 'the brand'}",
                {"location_id": self.id},
            )
        self.events.append(LocationUpserted(self))


class MovementKind(StrEnum):
    RECEIPT = "RECEIPT"
    ADJUSTMENT = "ADJUSTMENT"
    SHIPMENT = "SHIPMENT"
    RETURN = "RETURN"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"


@dataclass(frozen=True)
class Movement:
    location_id: str
    sku: str
    delta: int
    kind: MovementKind
    reason: str
    reference: str
    on_hand_after: int
    id: int = 0
    created_at: datetime | None = None


@dataclass
class StockLevel:
    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    version: int = 0
    # Who holds the stock, carried on stock events so consumers need not look locations up.
    location_type: LocationType | None = field(default=None, compare=False)
    owner_dealer_id: str = field(default="", compare=False)
    events: list[Any] = field(default_factory=list, repr=False, compare=False)
    movements: list[Movement] = field(default_factory=list, repr=False, compare=False)

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock)

    def _changed(self) -> None:
        from onepool_inventory.domain.events import StockLevelChanged

        self.version += 1
        if not any(isinstance(e, StockLevelChanged) for e in self.events):
            self.events.append(StockLevelChanged(self))

    def _move(self, delta: int, kind: MovementKind, reason: str, reference: str) -> None:
        self.on_hand += delta
        self.movements.append(Movement(self.location_id, self.sku, delta, kind, reason, reference, self.on_hand))
        self._changed()

    def receive(self, quantity: int, kind: MovementKind, reason: str, reference: str = "") -> None:
        assert quantity > 0
        self._move(quantity, kind, reason, reference)

    def adjust(self, delta: int, reason: str, reference: str = "") -> None:
        if delta == 0:
            raise InvalidArgument("delta", "must not be zero")
        if self.on_hand + delta < self.reserved:
            raise FailedPrecondition(
                "ADJUSTMENT_BELOW_RESERVED",
                f"cannot adjust {self.sku} at {self.location_id} by {delta}: on_hand {self.on_hand} would fall "
                f"below the {self.reserved} units reserved",
                {"sku": self.sku, "on_hand": str(self.on_hand), "reserved": str(self.reserved)},
            )
        self._move(delta, MovementKind.ADJUSTMENT, reason, reference)

    def set_safety_stock(self, quantity: int) -> None:
        if quantity != self.safety_stock:
            self.safety_stock = quantity
            self._changed()

    def reserve(self, quantity: int) -> None:
        if quantity > self.available:
            raise InsufficientStock([Shortage(self.sku, quantity, self.available)])
        self.reserved += quantity
        self._changed()

    def unreserve(self, quantity: int) -> None:
        assert 0 < quantity <= self.reserved, (self.sku, self.location_id, quantity, self.reserved)
        self.reserved -= quantity
        self._changed()

    def ship_reserved(self, quantity: int, reference: str) -> None:
        """Reserved goods leave the location: on_hand and reserved both fall."""
        assert 0 < quantity <= self.reserved
        self.reserved -= quantity
        self._move(-quantity, MovementKind.SHIPMENT, "fulfilled", reference)

    def transfer_out(self, quantity: int, reference: str, reason: str) -> None:
        if quantity > self.available:
            raise InsufficientStock([Shortage(self.sku, quantity, self.available)])
        self._move(-quantity, MovementKind.TRANSFER_OUT, reason, reference)

    def transfer_in(self, quantity: int, reference: str) -> None:
        self._move(quantity, MovementKind.TRANSFER_IN, "transfer received", reference)


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"
    FULFILLED = "FULFILLED"


@dataclass
class Allocation:
    sku: str
    location_id: str
    quantity: int
    fulfilled: int = 0
    owner_dealer_id: str = ""
    location_type: LocationType = LocationType.WAREHOUSE

    @property
    def open(self) -> int:
        return self.quantity - self.fulfilled


@dataclass
class Reservation:
    id: str
    order_id: str
    channel_id: str
    status: ReservationStatus
    allocations: list[Allocation]
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    release_reason: str = ""
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def hold(
        cls,
        id: str,
        *,
        order_id: str,
        channel_id: str,
        held: list[tuple[Location, str, int]],
        ttl_seconds: int,
        now: datetime,
    ) -> Reservation:
        """A new ACTIVE reservation of the units `held` (location, sku, quantity; already reserved on their
        stock levels), expiring `ttl_seconds` from now unless committed."""
        from onepool_inventory.domain.events import ReservationCreated

        reservation = cls(
            id=id,
            order_id=order_id,
            channel_id=channel_id,
            status=ReservationStatus.ACTIVE,
            allocations=[
                Allocation(sku, loc.id, quantity, 0, loc.owner_dealer_id, loc.type)
                for loc, sku, quantity in sorted(held, key=lambda h: (h[0].id, h[1]))
            ],
            expires_at=now + timedelta(seconds=ttl_seconds),
            created_at=now,
            updated_at=now,
        )
        reservation.events.append(ReservationCreated(reservation))
        return reservation

    @property
    def is_open(self) -> bool:
        return self.status in (ReservationStatus.ACTIVE, ReservationStatus.COMMITTED)

    def _require(self, *allowed: ReservationStatus, action: str) -> None:
        if self.status not in allowed:
            raise FailedPrecondition(
                "INVALID_RESERVATION_STATE",
                f"cannot {action} reservation {self.id}: it is {self.status.value}",
                {"reservation_id": self.id, "status": self.status.value},
            )

    def commit(self, now: datetime) -> bool:
        """Payment: no expiry any more. Returns False when already committed (idempotent)."""
        from onepool_inventory.domain.events import ReservationCommitted

        if self.status is ReservationStatus.COMMITTED:
            return False
        self._require(ReservationStatus.ACTIVE, action="commit")
        if self.expires_at is not None and self.expires_at <= now:
            raise FailedPrecondition(
                "RESERVATION_EXPIRED",
                f"reservation {self.id} expired at {self.expires_at.isoformat()}",
                {"reservation_id": self.id},
            )
        self.status = ReservationStatus.COMMITTED
        self.expires_at = None
        self.updated_at = now
        self.events.append(ReservationCommitted(self))
        return True

    def _close(self, status: ReservationStatus, reason: str, now: datetime) -> list[Allocation]:
        """Give back every unfulfilled unit; returns the allocations whose stock must be unreserved."""
        open_allocations = [a for a in self.allocations if a.open > 0]
        self.status = status
        self.release_reason = reason
        self.updated_at = now
        self.expires_at = None
        return open_allocations

    def release(self, reason: str, now: datetime) -> list[Allocation]:
        from onepool_inventory.domain.events import ReservationReleased

        if self.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
            return []  # idempotent: already given back
        self._require(ReservationStatus.ACTIVE, ReservationStatus.COMMITTED, action="release")
        freed = self._close(ReservationStatus.RELEASED, reason, now)
        self.events.append(ReservationReleased(self))
        return freed

    def expire(self, now: datetime) -> list[Allocation]:
        from onepool_inventory.domain.events import ReservationExpired

        if self.status is not ReservationStatus.ACTIVE or self.expires_at is None or self.expires_at > now:
            return []
        freed = self._close(ReservationStatus.EXPIRED, "payment not received in time", now)
        self.events.append(ReservationExpired(self))
        return freed

    def fulfil(self, location_id: str, lines: list[StockLine] | None, now: datetime) -> list[tuple[Allocation, int]]:
        """Goods left `location_id`. Without lines: everything still open there. Returns (allocation, qty)."""
        from onepool_inventory.domain.events import ReservationFulfilled

        if not lines and self.status is ReservationStatus.FULFILLED:
            return []  # "everything at this location" again, after it all left: a retry, nothing to do
        self._require(ReservationStatus.COMMITTED, action="fulfil")
        here = [a for a in self.allocations if a.location_id == location_id]
        if not here:
            raise FailedPrecondition(
                "NOT_ALLOCATED_HERE",
                f"reservation {self.id} has nothing allocated at {location_id}",
                {"reservation_id": self.id, "location_id": location_id},
            )
        wanted = {a.sku: a.open for a in here} if not lines else _sum_lines(lines)
        shipped: list[tuple[Allocation, int]] = []
        for sku, quantity in wanted.items():
            allocation = next((a for a in here if a.sku == sku), None)
            if allocation is None or quantity > allocation.open:
                raise FailedPrecondition(
                    "OVER_FULFILLMENT",
                    f"cannot fulfil {quantity} x {sku} at {location_id}: {allocation.open if allocation else 0} open",
                    {"sku": sku, "requested": str(quantity), "open": str(allocation.open if allocation else 0)},
                )
            if quantity > 0:
                shipped.append((allocation, quantity))
        if not shipped:
            return []
        for allocation, quantity in shipped:
            allocation.fulfilled += quantity
        if all(a.open == 0 for a in self.allocations):
            self.status = ReservationStatus.FULFILLED
        self.updated_at = now
        self.events.append(ReservationFulfilled(self, location_id, tuple(StockLine(a.sku, q) for a, q in shipped)))
        return shipped


def _sum_lines(lines: list[StockLine]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return totals


class TransferStatus(StrEnum):
    IN_TRANSIT = "IN_TRANSIT"
    RECEIVED = "RECEIVED"


@dataclass
class Transfer:
    id: str
    from_location_id: str
    to_location_id: str
    lines: list[StockLine]
    status: TransferStatus
    reference: str
    created_at: datetime
    received_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def ship(
        cls, id: str, from_location_id: str, to_location_id: str, lines: list[StockLine], reference: str, now: datetime
    ) -> Transfer:
        """Goods leave `from_location_id` for `to_location_id` (the stock levels record the movements)."""
        from onepool_inventory.domain.events import TransferShipped

        transfer = cls(id, from_location_id, to_location_id, lines, TransferStatus.IN_TRANSIT, reference, now)
        transfer.events.append(TransferShipped(transfer))
        return transfer

    def receive(self, now: datetime) -> bool:
        if self.status is TransferStatus.RECEIVED:
            return False
        self.status = TransferStatus.RECEIVED
        self.received_at = now
        from onepool_inventory.domain.events import TransferReceived

        self.events.append(TransferReceived(self))
        return True


@dataclass
class ChannelPolicy:
    """Which part of the pool a channel may sell (defined by the channels service, applied here)."""

    channel_id: str
    location_ids: frozenset[str] = frozenset()
    location_types: frozenset[LocationType] = frozenset()
    max_share_bps: int = 0
    buffer_units: int = 0
    owner_dealer_id: str = ""
    active: bool = True
    version: int = 0

    def allows(self, location: Location) -> bool:
        if not location.active:
            return False
        if not self.location_ids and not self.location_types:
            return True
        return location.id in self.location_ids or location.type in self.location_types

    def sellable(self, available_in_allowed_locations: int) -> int:
        """What the channel may sell of one SKU: its share of the pool it sees, minus its buffer (the kernel's
        formula, as channels shows it; capped to int32 because availability travels as int32)."""
        return sellable(available_in_allowed_locations, self.max_share_bps, self.buffer_units)
