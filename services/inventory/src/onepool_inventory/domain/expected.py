"""Expected receipts (purchase orders, advance shipping notices) and the reservations waiting for them.

Goods on their way are never on hand: a receipt raises `StockLevel.expected` at its location, never on_hand or
available. A listing with `presale_units` (or `allow_backorder`) lets a reservation wait for them
(AWAITING_STOCK); its units are `StockLevel.awaiting` there, not `reserved`, until goods arrive.

The waiting line at one (sku, location) is first come, first served by reservation time (created_at, then id):
- **Filling**: whatever becomes available there goes to the oldest waiting allocation first, a part if that
  is all there is, and never to a younger one while an older one waits (`fill_and_promise`).
- **Promises**: the line is laid along the open receipts there in expected_at order: a waiting allocation is
  promised the date of the receipt on which its last unit arrives (`promise_for`). More waiting than is
  expected (a backorder, a short receipt): no promise.
- **Presale admission**: a new allocation joins the end of the line, so it may wait as presale only while
  `expected - awaiting` covers it there (`StockLevel.presale_room`), and within the listing's presale_units.
- **Published promises**: each open receipt line keeps the units it was last published as promising (readers
  such as channels sell presale from what is expected and not promised). Whatever moves the line or the
  receipts there changes them; `moved_promises` finds the lines whose number changed, and their receipts
  record a change (`ExpectedReceipt.promises_moved`).

Failure modes (domain errors): recording without lines is INVALID_ARGUMENT; goods for another location or a sku
the receipt does not expect are INVALID_ARGUMENT; receiving on, rescheduling or cancelling a receipt that is not
OPEN is FAILED_PRECONDITION RECEIPT_CLOSED. A date already gone (`expected_at` of a new receipt, a reschedule's,
a delivery's `rest_expected_at`) is INVALID_ARGUMENT naming the field: it is what waiting buyers are promised
(`check_due`). Only a date that changes is checked, and only when the request runs: a retry answered from the
idempotency store, or a reschedule to the date a late receipt already has, is not refused once it has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onepool_kernel.errors import FailedPrecondition, InvalidArgument

from onepool_inventory.domain.model import (
    Allocation,
    AllocationSource,
    Location,
    PromiseMove,
    Reservation,
    StockLevel,
    StockLine,
    Waiting,
)

# How far before our clock a receipt's date may be and still count as "now": the sender's clock may run behind.
CLOCK_SKEW = timedelta(minutes=5)


def check_due(path: str, expected_at: datetime, now: datetime) -> None:
    """Refuse a date already gone: waiting buyers would be promised goods for a day that has passed (and presale
    would sell against it), so a late supplier's receipt must be given the date it now comes."""
    if expected_at < now - CLOCK_SKEW:
        raise InvalidArgument(path, "must not be in the past: buyers waiting for the goods are promised this date")


class ExpectedReceiptStatus(StrEnum):
    OPEN = "OPEN"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"


class PromiseMoveReason(StrEnum):
    LATE = "LATE"
    SHORT = "SHORT"
    CANCELLED = "CANCELLED"
    REORDERED = "REORDERED"
    PROMISED = "PROMISED"  # units that had no date are given one (`move_reason`)
    SOONER = "SOONER"  # units' date moved earlier (`move_reason`)


def move_reason(move: PromiseMove, reason: PromiseMoveReason) -> PromiseMoveReason:
    """Why `move` is reported, in a transaction whose promises move for `reason`. A first date for units that
    had none is PROMISED whatever moved the line (a new receipt, reservations ahead leaving it): the other
    reasons explain a date that moved, and REORDERED, the default, would tell the customer the units now count
    on a later receipt. A date that moved earlier is SOONER, whatever moved it, for the same reason: a receipt
    rescheduled earlier was reported REORDERED ("counts on a later receipt")."""
    if move.previous_promised_at is None and move.promised_at is not None:
        return PromiseMoveReason.PROMISED
    before, after = move.previous_promised_at, move.promised_at
    if before is not None and after is not None and after < before:
        return PromiseMoveReason.SOONER
    return reason


@dataclass
class ExpectedLine:
    sku: str
    quantity: int
    received: int = 0
    # Units that will never come (closed short or cancelled).
    shortfall: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.quantity - self.received - self.shortfall)


@dataclass
class ExpectedReceipt:
    id: str
    location_id: str
    lines: list[ExpectedLine]
    expected_at: datetime
    reference: str
    status: ExpectedReceiptStatus
    created_at: datetime
    updated_at: datetime
    cancel_reason: str = ""
    version: int = 1
    events: list[Any] = field(default_factory=list, repr=False, compare=False)
    # Why the promises counting on it move in this transaction (read by service_layer/waiting.py).
    move_reason: PromiseMoveReason = field(default=PromiseMoveReason.REORDERED, init=False, compare=False)
    # Units of each sku promised to waiting reservations (laid out by the reader, or as last published), and the
    # dealer owning the location.
    promised: dict[str, int] = field(default_factory=dict, init=False, compare=False)
    owner_dealer_id: str = field(default="", init=False, compare=False)

    @classmethod
    def record(
        cls,
        id: str,
        *,
        location_id: str,
        lines: Iterable[StockLine],
        expected_at: datetime,
        reference: str,
        levels: Mapping[str, StockLevel],
        now: datetime,
    ) -> ExpectedReceipt:
        """A new OPEN receipt of `lines` at `location_id`; `levels` (by sku, locked) show the units expected."""
        from onepool_inventory.domain.events import ExpectedReceiptEvent

        check_due("expected_at", expected_at, now)
        receipt = cls(
            id, location_id, [ExpectedLine(ln.sku, ln.quantity) for ln in lines], expected_at, reference,
            ExpectedReceiptStatus.OPEN, now, now,
        )  # fmt: skip
        if not receipt.lines:
            raise InvalidArgument("lines", "must not be empty")
        for line in receipt.lines:
            levels[line.sku].expect(line.quantity)
        receipt.events.append(ExpectedReceiptEvent(receipt, "recorded"))
        return receipt

    @property
    def is_open(self) -> bool:
        return self.status is ExpectedReceiptStatus.OPEN

    def line(self, sku: str) -> ExpectedLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)

    def unpromised(self, line: ExpectedLine) -> int:
        """Units of `line` still expected that no waiting reservation counts on: what presale may still sell
        against this receipt (channels' feed reads it from the receipt's events). Nothing once it is closed."""
        return max(0, line.remaining - self.promised.get(line.sku, 0)) if self.is_open else 0

    def _require_open(self, action: str) -> None:
        if not self.is_open:
            raise FailedPrecondition(
                "RECEIPT_CLOSED",
                f"cannot {action} expected receipt {self.id}: it is {self.status.value}",
                {"receipt_id": self.id, "status": self.status.value},
            )

    def _changed(self, now: datetime) -> None:
        from onepool_inventory.domain.events import ExpectedReceiptEvent

        self.version += 1
        self.updated_at = now
        if not any(e.kind == "changed" for e in self.events):
            self.events.append(ExpectedReceiptEvent(self, "changed"))

    def check_delivery(self, location_id: str, skus: Iterable[str]) -> None:
        """Refuse, before anything changes, goods for another location or a sku the receipt does not expect."""
        self._require_open("receive on")
        if location_id != self.location_id:
            raise InvalidArgument("location_id", f"must be the receipt's location {self.location_id}")
        for i, sku in enumerate(skus):
            if self.line(sku) is None:
                raise InvalidArgument(f"lines[{i}].sku", f"is not on expected receipt {self.id}")

    def receive(
        self,
        lines: Iterable[StockLine],
        levels: Mapping[str, StockLevel],
        now: datetime,
        *,
        close: bool,
        rest_expected_at: datetime | None,
    ) -> None:
        """Goods arrived on this receipt (after `check_delivery`); the levels (by sku) are on hand already.
        Units beyond what it still expects are ordinary stock. `close`: the rest will not come (short);
        `rest_expected_at`: the rest now comes then (late, when later)."""
        moved_to = None if close or rest_expected_at == self.expected_at else rest_expected_at
        if moved_to is not None:
            check_due("rest_expected_at", moved_to, now)
        for delivered in lines:
            line = self.line(delivered.sku)
            assert line is not None
            counted = min(delivered.quantity, line.remaining)
            line.received += delivered.quantity
            if counted:
                levels[line.sku].unexpect(counted)
        if close:
            if any(ln.remaining for ln in self.lines):
                self.move_reason = PromiseMoveReason.SHORT
            self._write_off(levels)
        elif moved_to is not None:
            self._move(moved_to, levels)
        if all(ln.remaining == 0 for ln in self.lines):
            self.status = ExpectedReceiptStatus.RECEIVED
        self._changed(now)

    def _write_off(self, levels: Mapping[str, StockLevel]) -> None:
        for line in self.lines:
            if rest := line.remaining:
                line.shortfall += rest
                levels[line.sku].unexpect(rest)

    def _move(self, expected_at: datetime, levels: Mapping[str, StockLevel]) -> None:
        if expected_at > self.expected_at:
            self.move_reason = PromiseMoveReason.LATE
        self.expected_at = expected_at
        for line in self.lines:
            if line.remaining:
                levels[line.sku].waiting_changed = levels[line.sku].promises_changed = True

    def reschedule(self, expected_at: datetime, levels: Mapping[str, StockLevel], now: datetime) -> bool:
        """The supplier moved the date. Returns False when it is the date already (a retry, even of a date gone
        since); a new date must not be gone (`check_due`)."""
        self._require_open("reschedule")
        if expected_at == self.expected_at:
            return False
        check_due("expected_at", expected_at, now)
        self._move(expected_at, levels)
        self._changed(now)
        return True

    def cancel(self, reason: str, levels: Mapping[str, StockLevel], now: datetime) -> bool:
        """Nothing more comes on it. Returns False when already cancelled (idempotent)."""
        from onepool_inventory.domain.events import ExpectedReceiptEvent

        if self.status is ExpectedReceiptStatus.CANCELLED:
            return False
        self._require_open("cancel")
        self.move_reason = PromiseMoveReason.CANCELLED
        self._write_off(levels)
        self.status = ExpectedReceiptStatus.CANCELLED
        self.cancel_reason = reason
        self.version += 1
        self.updated_at = now
        self.events.append(ExpectedReceiptEvent(self, "cancelled"))
        return True

    def promises_moved(self, promised: Mapping[str, int], now: datetime) -> bool:
        """The units promised from it (`promised`, by sku) changed: reservations joined or left the line, or
        the receipts there moved. Readers learn it from a change of its own, unless this transaction records
        an event of it already (that event carries the new numbers). Returns whether it changed here."""
        self.promised = dict(promised)
        if self.events:
            return False
        self._changed(now)
        return True


@dataclass(frozen=True)
class Slot:
    """What one open receipt still brings of one sku at its location."""

    receipt_id: str
    expected_at: datetime
    remaining: int


def promise_for(position: int, slots: Iterable[Slot]) -> Slot | None:
    """The receipt on which the `position`-th waiting unit (counted from the front of the line) arrives, the
    slots in expected_at order; None when the receipts do not reach it."""
    reached = 0
    for slot in slots:
        reached += slot.remaining
        if reached >= position:
            return slot
    return None


def promised_by_receipt(awaiting: int, slots: Iterable[Slot]) -> dict[str, int]:
    """How many of the `awaiting` units at one (sku, location) each receipt is promised to."""
    out, left = {}, awaiting
    for slot in slots:
        out[slot.receipt_id] = min(left, slot.remaining)
        left -= out[slot.receipt_id]
    return out


def sort_slots(slots: Iterable[Slot]) -> list[Slot]:
    return sorted((s for s in slots if s.remaining > 0), key=lambda s: (s.expected_at, s.receipt_id))


@dataclass(frozen=True)
class PublishedPromise:
    """One line of an open receipt at its (sku, location): what it still brings, and the units it was last
    published as promising."""

    receipt_id: str
    sku: str
    location_id: str
    expected_at: datetime
    remaining: int
    promised: int


def moved_promises(
    awaiting: Mapping[tuple[str, str], int], lines: Iterable[PublishedPromise]
) -> dict[tuple[str, str], int]:
    """The lines whose promised units are no longer what was published, with the new number, by (receipt_id,
    sku): the `awaiting` units at each (sku, location) laid along its open receipts (`promised_by_receipt`)."""
    at: dict[tuple[str, str], list[PublishedPromise]] = {}
    for line in lines:
        if (line.sku, line.location_id) in awaiting:
            at.setdefault((line.sku, line.location_id), []).append(line)
    moved = {}
    for key, found in at.items():
        slots = sort_slots(Slot(ln.receipt_id, ln.expected_at, ln.remaining) for ln in found)
        now = promised_by_receipt(awaiting[key], slots)
        for line in found:
            if now.get(line.receipt_id, 0) != line.promised:
                moved[(line.receipt_id, line.sku)] = now.get(line.receipt_id, 0)
    return moved


@dataclass(frozen=True)
class Fill:
    reservation: Reservation
    allocation: Allocation
    quantity: int


def fill_and_promise(
    level: StockLevel,
    line: list[tuple[Reservation, Allocation]],
    slots: list[Slot],
    now: datetime,
) -> tuple[list[Fill], list[tuple[Reservation, PromiseMove]]]:
    """The waiting `line` at `level` (oldest first): what is available fills the front, then every allocation
    still waiting is promised again along `slots` (sorted). Returns the fills and the promises that moved."""
    fills: list[Fill] = []
    for reservation, allocation in line:
        if level.available <= 0:
            break
        take = min(allocation.awaiting, level.available)
        level.fill(take)
        allocation.awaiting -= take
        if allocation.awaiting == 0:
            allocation.filled_at = now
        fills.append(Fill(reservation, allocation, take))
    moves: list[tuple[Reservation, PromiseMove]] = []
    position = 0
    for reservation, allocation in line:
        if not allocation.awaiting:
            continue
        position += allocation.awaiting
        slot = promise_for(position, slots)
        promised_at, receipt_id = (slot.expected_at, slot.receipt_id) if slot else (None, "")
        if (promised_at, receipt_id) != (allocation.promised_at, allocation.receipt_id):
            moves.append(
                (
                    reservation,
                    PromiseMove(
                        allocation.sku,
                        allocation.location_id,
                        allocation.awaiting,
                        allocation.promised_at,
                        allocation.receipt_id,
                        promised_at,
                        receipt_id,
                    ),
                )
            )
            allocation.promised_at, allocation.receipt_id = promised_at, receipt_id
    level.waiting_changed = False
    return fills, moves


def plan_wait(
    sku: str,
    quantity: int,
    candidates: list[Location],
    levels: Mapping[tuple[str, str], StockLevel],
    slots: Mapping[tuple[str, str], list[Slot]],
    *,
    presale_left: int,
    allow_backorder: bool,
    joining: Mapping[tuple[str, str], int],
    shelf: Mapping[tuple[str, str], int],
) -> tuple[str, int, Waiting] | None:
    """Where a line of `quantity` units of `sku` may wait, and how: (location, units taken from the shelf there,
    the rest waiting); None: nowhere. `shelf` is what the line may take on hand per (sku, location) (what is
    there nobody waits for), so goods never stay on a shelf while someone waits. `candidates` in preference
    order; `joining` are units this reservation already queued per (sku, location). Presale first: the location
    whose receipts bring the waiting units soonest, while `presale_left` and the room there cover them; then a
    backorder (the soonest promise if any receipt reaches it, else the first candidate that carries the sku — has
    a stock row, from a receipt, an expected receipt or a safety stock there — unpromised)."""
    best: tuple[tuple[datetime, int], str, Slot, int] | None = None
    carried: list[tuple[str, int]] = []
    for rank, loc in enumerate(candidates):
        level = levels.get((sku, loc.id))
        if level is None:
            continue
        taken = min(quantity, max(0, shelf.get((sku, loc.id), 0)))
        if taken == quantity:
            continue  # the shelf covers it: sourcing refused it for another reason
        carried.append((loc.id, taken))
        ahead = level.awaiting + joining.get((sku, loc.id), 0)
        slot = promise_for(ahead + quantity - taken, slots.get((sku, loc.id), ()))
        if slot is not None and (best is None or (slot.expected_at, rank) < best[0]):
            best = ((slot.expected_at, rank), loc.id, slot, taken)
    if best is not None and quantity - best[3] <= presale_left:
        _, location_id, slot, taken = best
        wait = Waiting(quantity - taken, AllocationSource.PRESALE, slot.receipt_id, slot.expected_at)
        return location_id, taken, wait
    if not allow_backorder or not carried:
        return None
    if best is not None:
        _, location_id, slot, taken = best
        return (
            location_id,
            taken,
            Waiting(quantity - taken, AllocationSource.BACKORDER, slot.receipt_id, slot.expected_at),
        )
    location_id, taken = carried[0]
    return location_id, taken, Waiting(quantity - taken, AllocationSource.BACKORDER)
