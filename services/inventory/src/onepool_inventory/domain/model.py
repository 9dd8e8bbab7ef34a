"""The one pool of stock: locations, stock levels, reservations, transfers and the channel rules.

Invariants kept here (and again by database constraints): for every (sku, location)
0 <= reserved, reserved + dedicated <= on_hand, and nothing is reserved beyond
available = on_hand - reserved - safety_stock - dedicated (the shared pool), except by the channel a dedicated
allocation belongs to, which may also take its own dedicated units (`StockLevel.available_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onepool_kernel import locations
from onepool_kernel.errors import FailedPrecondition, InsufficientStock, InvalidArgument, Shortage
from onepool_kernel.lines import StockLine
from onepool_kernel.locations import LocationType
from onepool_kernel.stock import MAX_UNITS, PoolShare


@dataclass(frozen=True)
class Location(locations.Location):
    """A location of the pool (the kernel's facts) as its owner keeps it: with the rules below, the events
    its changes record and its version (inventory.v1.Location.version: the copies other services keep apply
    its events by it, so one delivered late never undoes a later change)."""

    # 1 when created; one more with every upsert that changes anything. 0 until `superseding` sets it.
    version: int = 0
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type.is_dealer and not self.owner_dealer_id:
            raise InvalidArgument("location.owner_dealer_id", "is required for dealer locations")
        if not self.type.is_dealer and self.owner_dealer_id:
            raise InvalidArgument("location.owner_dealer_id", "must be empty for brand locations")

    def superseding(self, previous: Location | None) -> Location:
        """The location to store: these details in place of `previous` (the stored ones, if any, locked
        against other upserts of it), with the version that follows and the event that says so. Details that
        change nothing keep the version (a retried upsert publishes the same location again). Its owner
        never changes."""
        from onepool_inventory.domain.events import LocationUpserted

        if previous is not None and previous.owner_dealer_id != self.owner_dealer_id:
            raise FailedPrecondition(
                "OWNER_IMMUTABLE",
                f"location {self.id} belongs to {previous.owner_dealer_id or 'the brand'}",
                {"location_id": self.id},
            )
        if previous is None:
            version = 1
        elif replace(previous, version=self.version) == self:
            version = previous.version
        else:
            version = previous.version + 1
        location = replace(self, version=version, events=[])
        location.events.append(LocationUpserted(location))
        return location


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
    # The transaction that wrote it (set when read back): ListMovements pages in (xact_id, id) order.
    xact_id: int = 0


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
    # Units set aside for single channels (remaining units of ACTIVE channel allocations here).
    dedicated: int = 0
    # Units still expected here on OPEN expected receipts: never on hand, never available.
    expected: int = 0
    # Units of open reservations waiting here for goods (AWAITING_STOCK): not in reserved until filled.
    awaiting: int = 0
    events: list[Any] = field(default_factory=list, repr=False, compare=False)
    movements: list[Movement] = field(default_factory=list, repr=False, compare=False)
    # The waiting allocations here, or the receipts they count on, changed in this transaction: their promises
    # are laid out again before it commits (service_layer/waiting.py).
    waiting_changed: bool = field(default=False, init=False, repr=False, compare=False)
    # Units joined or left the waiting line here, or the receipts here changed, in this transaction: the units
    # each open receipt here is promised are published again before it commits (service_layer/promises.py).
    promises_changed: bool = field(default=False, init=False, repr=False, compare=False)

    @property
    def available(self) -> int:
        """The shared pool here: what any channel may take (dedicated units are not in it)."""
        return max(0, self.on_hand - self.reserved - self.safety_stock - self.dedicated)

    def available_for(self, own_dedicated: int) -> int:
        """What one channel may take here: the shared pool plus its own `own_dedicated` units. Dedicated units
        were taken from the shared pool when set aside, so safety stock raised later never covers them (the
        database keeps reserved + dedicated <= on_hand, so they are on the shelf)."""
        return self.available + own_dedicated

    def _changed(self) -> None:
        from onepool_inventory.domain.events import StockLevelChanged

        self.version += 1
        if not any(isinstance(e, StockLevelChanged) for e in self.events):
            self.events.append(StockLevelChanged(self))

    def make_room(self, count: str, now: int, more: int) -> None:
        """Refuses to take one of this level's counts (`on_hand`, `expected`, `awaiting`) past MAX_UNITS: the
        column could not hold it, and neither could a reply."""
        if more > 0 and now + more > MAX_UNITS:
            raise FailedPrecondition(
                "STOCK_LIMIT",
                f"{self.sku} at {self.location_id}: {count} {now} plus {more} would pass {MAX_UNITS}, the most one "
                "location can count of one SKU",
                {"sku": self.sku, "location_id": self.location_id, count: str(now)},
            )

    def _move(self, delta: int, kind: MovementKind, reason: str, reference: str) -> None:
        self.make_room("on_hand", self.on_hand, delta)
        self.on_hand += delta
        self.movements.append(Movement(self.location_id, self.sku, delta, kind, reason, reference, self.on_hand))
        self._changed()

    def receive(self, quantity: int, kind: MovementKind, reason: str, reference: str = "") -> None:
        assert quantity > 0
        self._move(quantity, kind, reason, reference)

    def adjust(self, delta: int, reason: str, reference: str = "") -> None:
        if delta == 0:
            raise InvalidArgument("delta", "must not be zero")
        if self.on_hand + delta < self.reserved + self.dedicated:
            raise FailedPrecondition(
                "ADJUSTMENT_BELOW_RESERVED",
                f"cannot adjust {self.sku} at {self.location_id} by {delta}: on_hand {self.on_hand} would fall "
                f"below the {self.reserved} units reserved and {self.dedicated} dedicated to channels",
                {
                    "sku": self.sku,
                    "on_hand": str(self.on_hand),
                    "reserved": str(self.reserved),
                    "dedicated": str(self.dedicated),
                },
            )
        self._move(delta, MovementKind.ADJUSTMENT, reason, reference)

    def set_safety_stock(self, quantity: int) -> None:
        if quantity != self.safety_stock:
            self.safety_stock = quantity
            self._changed()

    def reserve(self, quantity: int, from_dedicated: int = 0) -> None:
        """Reserve `quantity`, of which `from_dedicated` come out of a channel's dedicated units here (the caller
        has taken them from that channel's allocations); the rest must fit in the shared pool."""
        assert 0 <= from_dedicated <= min(quantity, self.dedicated)
        if quantity - from_dedicated > self.available:
            raise InsufficientStock([Shortage(self.sku, quantity, self.available_for(from_dedicated))])
        self.dedicated -= from_dedicated
        self.reserved += quantity
        self._changed()

    def dedicate(self, quantity: int) -> None:
        """Set `quantity` units of the shared pool aside for one channel."""
        if quantity > self.available:
            raise InsufficientStock([Shortage(self.sku, quantity, self.available)])
        self.dedicated += quantity
        self._changed()

    def undedicate(self, quantity: int) -> None:
        """Dedicated units go back to the shared pool (an allocation released or ended)."""
        assert 0 < quantity <= self.dedicated, (self.sku, self.location_id, quantity, self.dedicated)
        self.dedicated -= quantity
        self._changed()

    def unreserve(self, quantity: int) -> None:
        assert 0 < quantity <= self.reserved, (self.sku, self.location_id, quantity, self.reserved)
        self.reserved -= quantity
        self._changed()

    @property
    def presale_room(self) -> int:
        """Expected units not yet promised to the reservations waiting here (negative when more wait than is
        expected: backorders beyond every receipt)."""
        return self.expected - self.awaiting

    def expect(self, quantity: int) -> None:
        """Units announced on an expected receipt (a purchase order, an ASN)."""
        assert quantity > 0
        self.make_room("expected", self.expected, quantity)
        self.expected += quantity
        self.waiting_changed = self.promises_changed = True
        self._changed()

    def unexpect(self, quantity: int) -> None:
        """Expected units that arrived, or will not come (a short or cancelled receipt)."""
        assert 0 < quantity <= self.expected, (self.sku, self.location_id, quantity, self.expected)
        self.expected -= quantity
        self.waiting_changed = self.promises_changed = True
        self._changed()

    def wait_for(self, quantity: int) -> None:
        """A new reservation waits here for `quantity` units (the last in line: no one else's promise moves)."""
        assert quantity > 0
        self.make_room("awaiting", self.awaiting, quantity)
        self.awaiting += quantity
        self.promises_changed = True
        self._changed()

    def stop_waiting(self, quantity: int) -> None:
        """A waiting reservation was released: those behind it move up."""
        assert 0 < quantity <= self.awaiting, (self.sku, self.location_id, quantity, self.awaiting)
        self.awaiting -= quantity
        self.waiting_changed = self.promises_changed = True
        self._changed()

    def fill(self, quantity: int) -> None:
        """Goods on the shelf go to a waiting reservation: they become reserved."""
        assert 0 < quantity <= min(self.awaiting, self.available), (self.sku, self.location_id, quantity)
        self.awaiting -= quantity
        self.reserved += quantity
        self.waiting_changed = self.promises_changed = True
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


class AllocationSource(StrEnum):
    ON_HAND = "ON_HAND"
    # Drawn from an expected receipt under the listing's presale_units.
    PRESALE = "PRESALE"
    # Waiting without a receipt of its own (the listing allows backorder).
    BACKORDER = "BACKORDER"


@dataclass(frozen=True)
class Waiting:
    """How a new allocation waits for goods: `quantity` units, promised by `receipt_id` at `promised_at`
    (none: nothing promises them yet)."""

    quantity: int
    source: AllocationSource
    receipt_id: str = ""
    promised_at: datetime | None = None

    @property
    def presale_units(self) -> int:
        """Units counted against the listing's presale_units."""
        return self.quantity if self.source is AllocationSource.PRESALE else 0

    def joined(self, ahead: Waiting) -> Waiting:
        """Two lines of one reservation waiting at one place: this one queued behind `ahead`, so its promise is
        the whole allocation's; presale only if both are."""
        both_presale = ahead.source is self.source is AllocationSource.PRESALE
        source = AllocationSource.PRESALE if both_presale else AllocationSource.BACKORDER
        return Waiting(ahead.quantity + self.quantity, source, self.receipt_id, self.promised_at)


@dataclass
class Allocation:
    sku: str
    location_id: str
    quantity: int
    fulfilled: int = 0
    owner_dealer_id: str = ""
    location_type: LocationType = LocationType.WAREHOUSE
    # Units of quantity still waiting for goods (AWAITING_STOCK); the rest are reserved on hand.
    awaiting: int = 0
    promised_at: datetime | None = None
    receipt_id: str = ""
    source: AllocationSource = AllocationSource.ON_HAND
    filled_at: datetime | None = None
    # Moves on by one with every change of the waiting state (awaiting, promised_at, receipt_id), as stored
    # (ReservationRepository.save_allocations): 1 when reserved.
    version: int = 1

    @property
    def open(self) -> int:
        """Units not yet shipped: reserved on hand, or still waiting."""
        return self.quantity - self.fulfilled

    @property
    def shelf_open(self) -> int:
        """Units reserved on hand and not yet shipped: what may be fulfilled."""
        return self.quantity - self.fulfilled - self.awaiting

    @property
    def presale_waiting(self) -> int:
        """Units counted against the listing's presale_units."""
        return self.awaiting if self.source is AllocationSource.PRESALE else 0


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
        waiting: dict[tuple[str, str], Waiting] | None = None,
    ) -> Reservation:
        """A new ACTIVE reservation of the units `held` (location, sku, quantity; already reserved on their
        stock levels, or waiting there as `waiting[(location_id, sku)]` says), expiring `ttl_seconds` from now
        unless committed."""
        from onepool_inventory.domain.events import ReservationCreated

        waits = waiting or {}

        def allocation(loc: Location, sku: str, quantity: int) -> Allocation:
            w = waits.get((loc.id, sku))
            if w is None:
                return Allocation(sku, loc.id, quantity, 0, loc.owner_dealer_id, loc.type)
            return Allocation(
                sku, loc.id, quantity, 0, loc.owner_dealer_id, loc.type, w.quantity, w.promised_at, w.receipt_id,
                w.source,
            )  # fmt: skip

        reservation = cls(
            id=id,
            order_id=order_id,
            channel_id=channel_id,
            status=ReservationStatus.ACTIVE,
            allocations=[
                allocation(loc, sku, quantity) for loc, sku, quantity in sorted(held, key=lambda h: (h[0].id, h[1]))
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

    @property
    def awaiting_stock(self) -> bool:
        return self.is_open and any(a.awaiting for a in self.allocations)

    @property
    def promised_at(self) -> datetime | None:
        """When the last waiting unit is expected (None: nothing waits, or something waits without a promise)."""
        waiting = [a for a in self.allocations if a.awaiting] if self.is_open else []
        if not waiting or any(a.promised_at is None for a in waiting):
            return None
        return max(a.promised_at for a in waiting if a.promised_at is not None)

    def record_fill(self, location_id: str, lines: tuple[StockLine, ...], receipt_id: str, now: datetime) -> None:
        """Goods arriving at `location_id` filled these waiting units (the allocations are already updated)."""
        from onepool_inventory.domain.events import ReservationFilled

        self.updated_at = now
        self.events.append(ReservationFilled(self, location_id, lines, receipt_id))

    def record_promise_moves(self, moves: tuple[PromiseMove, ...], reason: str, now: datetime) -> None:
        from onepool_inventory.domain.events import ReservationPromiseMoved

        self.updated_at = now
        self.events.append(ReservationPromiseMoved(self, moves, reason))

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

    def fulfill(self, location_id: str, lines: list[StockLine] | None, now: datetime) -> list[tuple[Allocation, int]]:
        """Goods left `location_id`. Without lines: everything still open there. Returns (allocation, qty)."""
        from onepool_inventory.domain.events import ReservationFulfilled

        if not lines and self.status is ReservationStatus.FULFILLED:
            return []  # "everything at this location" again, after it all left: a retry, nothing to do
        self._require(ReservationStatus.COMMITTED, action="fulfill")
        here = [a for a in self.allocations if a.location_id == location_id]
        if not here:
            raise FailedPrecondition(
                "NOT_ALLOCATED_HERE",
                f"reservation {self.id} has nothing allocated at {location_id}",
                {"reservation_id": self.id, "location_id": location_id},
            )
        wanted = {a.sku: a.shelf_open for a in here} if not lines else _sum_lines(lines)
        shipped: list[tuple[Allocation, int]] = []
        for sku, quantity in wanted.items():
            allocation = next((a for a in here if a.sku == sku), None)
            if allocation is not None and allocation.shelf_open < quantity <= allocation.open:
                raise FailedPrecondition(
                    "AWAITING_STOCK",
                    f"cannot fulfill {quantity} x {sku} at {location_id}: {allocation.awaiting} still wait for goods",
                    {"sku": sku, "requested": str(quantity), "on_hand": str(allocation.shelf_open)},
                )
            if allocation is None or quantity > allocation.open:
                raise FailedPrecondition(
                    "OVER_FULFILLMENT",
                    f"cannot fulfill {quantity} x {sku} at {location_id}: {allocation.open if allocation else 0} open",
                    {"sku": sku, "requested": str(quantity), "open": str(allocation.open if allocation else 0)},
                )
            if quantity > 0:
                shipped.append((allocation, quantity))
        if not shipped:
            waiting = [a for a in here if a.awaiting]
            if waiting:
                raise FailedPrecondition(
                    "AWAITING_STOCK",
                    f"nothing of reservation {self.id} at {location_id} is on hand yet",
                    {"reservation_id": self.id, "location_id": location_id, "sku": waiting[0].sku},
                )
            return []
        for allocation, quantity in shipped:
            allocation.fulfilled += quantity
        if all(a.open == 0 for a in self.allocations):
            self.status = ReservationStatus.FULFILLED
        self.updated_at = now
        self.events.append(ReservationFulfilled(self, location_id, tuple(StockLine(a.sku, q) for a, q in shipped)))
        return shipped


@dataclass(frozen=True)
class PromiseMove:
    """The promise of one waiting allocation before and after (a receipt late, short, cancelled, or goods
    going to older reservations first)."""

    sku: str
    location_id: str
    quantity: int
    previous_promised_at: datetime | None
    previous_receipt_id: str
    promised_at: datetime | None
    receipt_id: str


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
class ChannelPolicy(PoolShare):
    """Which part of the pool a channel may sell (defined by the channels service, applied here)."""

    channel_id: str
    location_ids: frozenset[str] = frozenset()
    location_types: frozenset[LocationType] = frozenset()
    max_share_bps: int = 0
    buffer_units: int = 0
    owner_dealer_id: str = ""
    active: bool = True
    version: int = 0
    # The channel's FILL_FIRST rule: a split order takes what the owning dealer's locations hold first.
    fill_own_first: bool = False


class ChannelAllocationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"
    ENDED = "ENDED"


@dataclass
class ChannelAllocation:
    """Dedicated stock (独享库存): `quantity` units of a SKU at one location that only `channel_id` may sell.

    The channel's reservations at that location take these units first (`remaining` falls); what is left goes
    back to the shared pool when the allocation is released or reaches `ends_at`. Units of a reservation made
    from it that is later released or expires go back to the shared pool, not to the allocation.
    """

    id: str
    channel_id: str
    location_id: str
    sku: str
    quantity: int
    remaining: int
    ends_at: datetime | None
    status: ChannelAllocationStatus
    created_at: datetime
    updated_at: datetime
    returned: int = 0
    version: int = 1
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(
        cls, id: str, *, channel_id: str, level: StockLevel, quantity: int, ends_at: datetime | None, now: datetime
    ) -> ChannelAllocation:
        """Set `quantity` units of `level`'s shared pool aside for the channel (refused beyond available)."""
        if ends_at is not None and ends_at <= now:
            raise InvalidArgument("ends_at", "must be in the future")
        level.dedicate(quantity)
        allocation = cls(
            id, channel_id, level.location_id, level.sku, quantity, quantity, ends_at,
            ChannelAllocationStatus.ACTIVE, now, now,
        )  # fmt: skip
        allocation._changed(now, bump=False)
        return allocation

    @property
    def is_active(self) -> bool:
        return self.status is ChannelAllocationStatus.ACTIVE

    def _changed(self, now: datetime, *, bump: bool = True) -> None:
        from onepool_inventory.domain.events import ChannelAllocationChanged

        if bump:
            self.version += 1
        self.updated_at = now
        if not any(isinstance(e, ChannelAllocationChanged) for e in self.events):
            self.events.append(ChannelAllocationChanged(self))

    def take(self, quantity: int, now: datetime) -> int:
        """The channel reserves up to `quantity` of these units; returns how many came from here."""
        taken = min(quantity, self.remaining) if self.is_active else 0
        if taken:
            self.remaining -= taken
            self._changed(now)
        return taken

    def close(self, level: StockLevel, now: datetime, *, ended: bool) -> int:
        """Released (or past ends_at): what is left returns to `level`'s shared pool. Idempotent; returns the
        units given back."""
        if not self.is_active:
            return 0
        back, self.remaining = self.remaining, 0
        if back:
            level.undedicate(back)
        self.returned = back
        self.status = ChannelAllocationStatus.ENDED if ended else ChannelAllocationStatus.RELEASED
        self._changed(now)
        return back


@dataclass
class ChannelSales:
    """What a channel's sales cap for one SKU counts: units in its ACTIVE, COMMITTED and FULFILLED reservations
    (and the fulfilled units of released ones). Returns give nothing back: a returned unit was sold.
    `cap_units` comes from the channel's listing (0 = no cap); `cap_version` orders listing updates."""

    channel_id: str
    sku: str
    counted: int = 0
    cap_units: int = 0
    cap_version: int = 0
    version: int = 0
    # The listing's presale allowance (units that may wait on expected receipts), its backorder flag, and
    # the units of the channel's open reservations waiting under presale now.
    presale_units: int = 0
    allow_backorder: bool = False
    presale_counted: int = 0
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def cap_left(self) -> int | None:
        return self.cap_units - self.counted if self.cap_units > 0 else None

    @property
    def presale_left(self) -> int:
        return max(0, self.presale_units - self.presale_counted)

    def presale_hold(self, quantity: int) -> None:
        """Units now wait under presale (the caller checked presale_left)."""
        assert 0 < quantity <= self.presale_left, (self.channel_id, self.sku, quantity, self.presale_left)
        self.presale_counted += quantity
        self._changed()

    def presale_give_back(self, quantity: int) -> None:
        """Waiting presale units were filled or released: the allowance is free again."""
        self.presale_counted = max(0, self.presale_counted - quantity)
        self._changed()

    def _changed(self) -> None:
        from onepool_inventory.domain.events import ChannelSalesChanged

        self.version += 1
        if not any(isinstance(e, ChannelSalesChanged) for e in self.events):
            self.events.append(ChannelSalesChanged(self))

    def hold(self, quantity: int) -> None:
        left = self.cap_left
        if left is not None and quantity > left:
            raise InsufficientStock([Shortage(self.sku, quantity, max(0, left))])
        self.counted += quantity
        self._changed()

    def give_back(self, quantity: int) -> None:
        """Unfulfilled units of a released or expired reservation no longer count."""
        self.counted = max(0, self.counted - quantity)
        self._changed()
