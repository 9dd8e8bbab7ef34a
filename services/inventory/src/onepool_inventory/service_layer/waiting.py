"""The waiting line at each (sku, location), settled before a unit of work commits.

Whenever a transaction leaves goods available where reservations wait (a receipt, a transfer received, a
release, a count correction), or changes what they wait for (a receipt recorded, received in part, closed
short, rescheduled, cancelled; a waiting reservation released), the line there is settled in the same
transaction: goods fill the oldest waiting allocations first, and every allocation still waiting is promised
again (domain/expected.py `fill_and_promise`). Each reservation records one ReservationPromiseMoved per reason
(its moves name the allocations that reason moved), then a ReservationFilled per location; filled presale
units give their listing's allowance back.

Locks: the caller holds the stock rows (the unit of work adopted them locked); the waiting allocations there
change only under those rows, so the reservation rows are read, not locked (adapters/reservations.py). The
channels' sales counters are locked after the stock rows, as on the reservation path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from onepool_kernel.timestamps import now

from onepool_inventory.domain.expected import Fill, PromiseMoveReason, fill_and_promise, move_reason, sort_slots
from onepool_inventory.domain.model import AllocationSource, PromiseMove, Reservation, StockLine

if TYPE_CHECKING:
    from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork


@dataclass
class Settled:
    fills: list[Fill] = field(default_factory=list)
    moved: int = 0


async def settle(
    uow: InventoryUnitOfWork, *, receipt_id: str = "", reason: PromiseMoveReason = PromiseMoveReason.REORDERED
) -> Settled:
    """Settle the line at every stock level this unit of work holds where it may have changed. `receipt_id`
    names the expected receipt goods arrived on (for ReservationFilled), `reason` why promises move (a first
    date for units that had none is PROMISED whatever the reason: domain/expected.py `move_reason`)."""
    due = [lvl for lvl in uow.levels.adopted() if lvl.awaiting > 0 and (lvl.available > 0 or lvl.waiting_changed)]
    for lvl in uow.levels.adopted():
        if lvl.awaiting == 0:
            lvl.waiting_changed = False
    if not due:
        return Settled()
    keys = [(lvl.sku, lvl.location_id) for lvl in due]
    line = await uow.reservations.waiting_line(keys)
    slots = await uow.receipts.slots(keys)
    moment = now()
    out = Settled()
    moves: dict[tuple[str, PromiseMoveReason], list[PromiseMove]] = {}
    filled: dict[tuple[str, str], list[Fill]] = {}
    touched: dict[str, Reservation] = {}
    for level in due:
        key = (level.sku, level.location_id)
        fills, moved = fill_and_promise(level, line[key], sort_slots(slots.get(key, ())), moment)
        out.fills.extend(fills)
        for fill in fills:
            filled.setdefault((fill.reservation.id, level.location_id), []).append(fill)
            touched[fill.reservation.id] = fill.reservation
        for reservation, move in moved:
            moves.setdefault((reservation.id, move_reason(move, reason)), []).append(move)
            touched[reservation.id] = reservation
    await _give_back_presale(uow, out.fills)
    # Every event carries the reservation as this whole transaction leaves it, and orders tells a line's new
    # date with the first event that shows it: the promise moves go first (each names the allocations its
    # reason moved), so a fill in the same transaction never tells of a date without its reason.
    for (reservation_id, why), reservation_moves in moves.items():
        touched[reservation_id].record_promise_moves(tuple(reservation_moves), why, moment)
        out.moved += len(reservation_moves)
    for (reservation_id, location_id), fills in filled.items():
        lines = tuple(StockLine(f.allocation.sku, f.quantity) for f in fills)
        touched[reservation_id].record_fill(location_id, lines, receipt_id, moment)
    await uow.reservations.save_allocations(*touched.values())
    return out


async def _give_back_presale(uow: InventoryUnitOfWork, fills: list[Fill]) -> None:
    """Filled presale units no longer wait: the listing's presale allowance is free for them again."""
    units: dict[tuple[str, str], int] = {}
    for fill in fills:
        if fill.reservation.channel_id and fill.allocation.source is AllocationSource.PRESALE:
            key = (fill.reservation.channel_id, fill.allocation.sku)
            units[key] = units.get(key, 0) + fill.quantity
    counters = await uow.sales.lock(units)
    for key, quantity in units.items():
        counters[key].presale_give_back(quantity)
