"""Inventory use cases. Each runs inside one unit of work; the caller (runtime.run_in_transaction or a
consumer) commits. Reserve lives in reserving.py because concurrent calls are coalesced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from onepool_kernel.timestamps import now
from onepool_runtime.commit_order import Position, read_page
from onepool_runtime.errors import FailedPrecondition, InsufficientStock, InvalidArgument, NotFound, found

from onepool_inventory.adapters.availability import AvailabilityReader
from onepool_inventory.domain import commands
from onepool_inventory.domain.channel_view import ChannelView, RuleNumbers
from onepool_inventory.domain.expected import ExpectedReceipt, Fill, PromiseMoveReason, promised_by_receipt
from onepool_inventory.domain.model import (
    Allocation,
    ChannelAllocation,
    ChannelPolicy,
    Location,
    Movement,
    Reservation,
    StockLevel,
    Transfer,
)
from onepool_inventory.service_layer import waiting
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork


async def _active_location(
    uow: InventoryUnitOfWork, location_id: str, field: str = "location_id", *, share: bool = False
) -> Location:
    location = found(await uow.locations.get(location_id, share=share), "location", location_id)
    if not location.active:
        raise FailedPrecondition("LOCATION_INACTIVE", f"location {location_id} is inactive", {field: location_id})
    return location


async def upsert_location(uow: InventoryUnitOfWork, cmd: commands.UpsertLocation) -> Location:
    location = cmd.location.superseding(await uow.locations.get(cmd.location.id, lock=True))
    await uow.locations.save(location)
    await _end_unsellable_allocations(uow, await uow.allocations.active_of(location_id=location.id))
    return location


async def list_locations(uow: InventoryUnitOfWork, q: commands.ListLocations) -> list[Location]:
    return await uow.locations.find(
        ids=q.ids, owner_dealer_id=q.owner_dealer_id, type_=q.type_, region=q.region, after=q.after, limit=q.limit
    )


@dataclass(frozen=True)
class Received:
    levels: list[StockLevel]
    receipt: ExpectedReceipt | None
    fills: list[Fill]


async def receive_stock(uow: InventoryUnitOfWork, cmd: commands.ReceiveStock) -> Received:
    """Goods arrived (on an expected receipt when `receipt_id` names one). Reservations waiting at the
    location are filled first come, first served in this transaction. Refused: an unknown receipt (NOT_FOUND),
    one not OPEN (FAILED_PRECONDITION RECEIPT_CLOSED), another location or a sku it does not expect
    (INVALID_ARGUMENT)."""
    receipt = None
    keys = {(ln.sku, cmd.location_id) for ln in cmd.lines}
    if cmd.receipt_id:
        # Refused before anything is locked; then its stock rows, then its row (lock order:
        # adapters/expected_receipts.py), and checked again as it is now.
        found = await uow.receipts.get(cmd.receipt_id)
        if found is None:
            raise NotFound("expected receipt", cmd.receipt_id)
        found.check_delivery(cmd.location_id, [ln.sku for ln in cmd.lines])
        keys |= {(ln.sku, found.location_id) for ln in found.lines}
    await _active_location(uow, cmd.location_id)
    levels = await uow.levels.lock(keys, create=True)
    if cmd.receipt_id:
        receipt = await uow.receipts.get(cmd.receipt_id, lock=True)
        assert receipt is not None  # receipts are never deleted
        receipt.check_delivery(cmd.location_id, [ln.sku for ln in cmd.lines])
    reference = cmd.reference or (receipt.id if receipt else "")
    for line in cmd.lines:
        levels[(line.sku, cmd.location_id)].receive(line.quantity, cmd.kind, cmd.reason, reference)
    reason = PromiseMoveReason.REORDERED
    if receipt is not None:
        here = {sku: lvl for (sku, _), lvl in levels.items()}
        receipt.receive(cmd.lines, here, now(), close=cmd.close_receipt, rest_expected_at=cmd.rest_expected_at)
        reason = receipt.move_reason
        await uow.receipts.save(receipt)
    settled = await waiting.settle(uow, receipt_id=receipt.id if receipt else "", reason=reason)
    if receipt is not None:
        await _show_promised(uow, [receipt])
    return Received([levels[k] for k in sorted(levels) if k[0] in {ln.sku for ln in cmd.lines}], receipt, settled.fills)


async def _show_promised(uow: InventoryUnitOfWork, receipts: list[ExpectedReceipt]) -> None:
    """Lay each receipt's promised units out from the waiting lines at its location (read, not locked)."""
    keys = {(ln.sku, r.location_id) for r in receipts for ln in r.lines}
    awaiting = {(lvl.sku, lvl.location_id): lvl.awaiting for lvl in await uow.levels.read_keys(keys)}
    slots = await uow.receipts.slots(keys)
    for r in receipts:
        r.promised = {
            ln.sku: promised_by_receipt(
                awaiting.get((ln.sku, r.location_id), 0), slots.get((ln.sku, r.location_id), [])
            ).get(r.id, 0)
            for ln in r.lines
        }


async def expect_receipt(uow: InventoryUnitOfWork, cmd: commands.ExpectReceipt) -> ExpectedReceipt:
    """Record goods on their way to a location. Refused: unknown (NOT_FOUND) or inactive location."""
    location = await _active_location(uow, cmd.location_id)
    levels = await uow.levels.lock({(ln.sku, cmd.location_id) for ln in cmd.lines}, create=True)
    receipt = ExpectedReceipt.record(
        str(uuid.uuid4()),
        location_id=cmd.location_id,
        lines=cmd.lines,
        expected_at=cmd.expected_at,
        reference=cmd.reference,
        levels={sku: lvl for (sku, _), lvl in levels.items()},
        now=now(),
    )
    receipt.owner_dealer_id = location.owner_dealer_id
    await uow.receipts.add(receipt)
    await waiting.settle(uow, receipt_id=receipt.id)
    await _show_promised(uow, [receipt])
    return receipt


async def _locked_receipt(uow: InventoryUnitOfWork, receipt_id: str) -> tuple[ExpectedReceipt, dict[str, StockLevel]]:
    """The receipt's stock rows, then its row (lock order: adapters/expected_receipts.py)."""
    found = await uow.receipts.get(receipt_id)
    if found is None:
        raise NotFound("expected receipt", receipt_id)
    levels = await uow.levels.lock({(ln.sku, found.location_id) for ln in found.lines}, create=True)
    receipt = await uow.receipts.get(receipt_id, lock=True)
    assert receipt is not None  # receipts are never deleted
    return receipt, {sku: lvl for (sku, _), lvl in levels.items()}


async def cancel_expected_receipt(uow: InventoryUnitOfWork, receipt_id: str, reason: str) -> ExpectedReceipt:
    """Nothing more comes on it; cancelling again changes nothing. Refused once fully received
    (FAILED_PRECONDITION RECEIPT_CLOSED)."""
    receipt, levels = await _locked_receipt(uow, receipt_id)
    if receipt.cancel(reason or "cancelled", levels, now()):
        await uow.receipts.save(receipt)
        await waiting.settle(uow, reason=PromiseMoveReason.CANCELLED)
    await _show_promised(uow, [receipt])
    return receipt


async def reschedule_expected_receipt(
    uow: InventoryUnitOfWork, receipt_id: str, expected_at: datetime
) -> ExpectedReceipt:
    """The supplier moved the date: promises counting on it move with it (LATE when later)."""
    receipt, levels = await _locked_receipt(uow, receipt_id)
    later = expected_at > receipt.expected_at
    if receipt.reschedule(expected_at, levels, now()):
        await uow.receipts.save(receipt)
        await waiting.settle(uow, reason=PromiseMoveReason.LATE if later else PromiseMoveReason.REORDERED)
    await _show_promised(uow, [receipt])
    return receipt


async def get_expected_receipt(uow: InventoryUnitOfWork, receipt_id: str) -> ExpectedReceipt:
    receipt = await uow.receipts.get(receipt_id)
    if receipt is None:
        raise NotFound("expected receipt", receipt_id)
    await _show_promised(uow, [receipt])
    return receipt


async def list_expected_receipts(
    uow: InventoryUnitOfWork, location_ids: list[str] | None, sku: str, include_closed: bool, after: str, limit: int
) -> list[ExpectedReceipt]:
    found = await uow.receipts.find(location_ids, sku, include_closed=include_closed, after=after, limit=limit)
    await _show_promised(uow, [r for r in found if r.is_open])
    return found


async def adjust_stock(uow: InventoryUnitOfWork, cmd: commands.AdjustStock) -> StockLevel:
    """A count correction. Units it frees fill the waiting line there before the level is answered (the answer
    is stored for retries, so it must be the committed level)."""
    await _active_location(uow, cmd.location_id)
    level = (await uow.levels.lock([(cmd.sku, cmd.location_id)], create=True))[(cmd.sku, cmd.location_id)]
    level.adjust(cmd.delta, cmd.reason)
    await waiting.settle(uow)
    return level


async def set_safety_stock(uow: InventoryUnitOfWork, cmd: commands.SetSafetyStock) -> StockLevel:
    """Lowering it frees units: they fill the waiting line there before the level is answered."""
    if await uow.locations.get(cmd.location_id) is None:
        raise NotFound("location", cmd.location_id)
    level = (await uow.levels.lock([(cmd.sku, cmd.location_id)], create=True))[(cmd.sku, cmd.location_id)]
    level.set_safety_stock(cmd.quantity)
    await waiting.settle(uow)
    return level


@dataclass(frozen=True)
class ExpectedQuantity:
    """Units one open receipt still brings of a sku, and how many of them are promised to waiting reservations."""

    receipt_id: str
    location_id: str
    expected_at: datetime
    quantity: int
    promised: int


@dataclass(frozen=True)
class LocationView:
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    dedicated: int
    inbound: int
    expected: int = 0
    awaiting: int = 0
    expected_by_date: tuple[ExpectedQuantity, ...] = ()


@dataclass(frozen=True)
class Presale:
    """A SKU's presale numbers (with a channel: its listing's allowance, what waits under it, what it may sell
    beyond `available`; without one, the unpromised expected units)."""

    presale_units: int = 0
    presale_counted: int = 0
    presale_sellable: int = 0
    allow_backorder: bool = False


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    by_location: tuple[LocationView, ...]
    inbound: int
    rules: RuleNumbers
    presale: Presale = Presale()

    @property
    def expected(self) -> int:
        return sum(v.expected for v in self.by_location)

    @property
    def awaiting(self) -> int:
        return sum(v.awaiting for v in self.by_location)

    @property
    def expected_by_date(self) -> list[ExpectedQuantity]:
        every = [q for v in self.by_location for q in v.expected_by_date]
        return sorted(every, key=lambda q: (q.expected_at, q.receipt_id))


async def channel_policy(uow: InventoryUnitOfWork, channel_id: str) -> ChannelPolicy | None:
    if not channel_id:
        return None
    return found(await uow.policies.get(channel_id), "channel", channel_id)


async def get_availability(
    reader: AvailabilityReader, skus: list[str], channel_id: str, location_ids: list[str]
) -> list[SkuAvailability]:
    """Per SKU: the totals over the active locations (those named, if any) the channel may sell from, what
    may be sold (with a channel: under its three rules, ChannelView) and the units inbound (in open
    transfers; never sellable). An unknown channel is NOT_FOUND."""
    read = await reader.read(skus, location_ids or None, channel_id)
    if read.unknown_channel:
        raise NotFound("channel", channel_id)
    policy = read.policy
    levels = {(lvl.sku, lvl.location_id): lvl for lvl, _ in read.rows}
    view = ChannelView.of(policy, read.locations, levels, read.allocations, read.sales if policy else None)
    out = []
    for sku in dict.fromkeys(skus):
        rows = []
        for loc in view.locations:
            level, coming = levels.get((sku, loc.id)), read.inbound.get((sku, loc.id), 0)
            if level is None and not coming:
                continue
            level = level or StockLevel(sku, loc.id)
            dedicated = view.own_dedicated(sku, loc.id) if policy is not None else level.dedicated
            slots = read.slots.get((sku, loc.id), [])
            promised = promised_by_receipt(level.awaiting, slots)
            rows.append(
                LocationView(
                    loc.id,
                    level.on_hand,
                    level.reserved,
                    level.safety_stock,
                    view.available_at(sku, loc.id),
                    dedicated,
                    coming,
                    level.expected,
                    level.awaiting,
                    tuple(
                        ExpectedQuantity(s.receipt_id, loc.id, s.expected_at, s.remaining, promised[s.receipt_id])
                        for s in slots
                    ),
                )
            )
        views = tuple(rows)
        rules = view.numbers(sku)
        sales = read.sales.get(sku) if policy is not None else None
        presale = Presale(
            sales.presale_units if sales else 0,
            sales.presale_counted if sales else 0,
            view.presale_sellable(sku),
            sales.allow_backorder if sales else False,
        )
        out.append(
            SkuAvailability(
                sku,
                sum(v.on_hand for v in views),
                sum(v.reserved for v in views),
                sum(v.safety_stock for v in views),
                rules.sellable,
                views,
                sum(v.inbound for v in views),
                rules,
                presale,
            )
        )
    return out


async def _reservation(uow: InventoryUnitOfWork, reservation_id: str, *, lock: bool) -> Reservation:
    return found(await uow.reservations.get(reservation_id, lock=lock), "reservation", reservation_id)


async def get_reservation(uow: InventoryUnitOfWork, reservation_id: str) -> Reservation:
    return await _reservation(uow, reservation_id, lock=False)


async def commit_reservation(uow: InventoryUnitOfWork, reservation_id: str) -> Reservation:
    reservation = await _reservation(uow, reservation_id, lock=True)
    if reservation.commit(now()):
        await uow.reservations.save(reservation)
    return reservation


async def _uncount(uow: InventoryUnitOfWork, freed: list[tuple[Reservation, list[Allocation]]]) -> None:
    """Unfulfilled units of released or expired reservations no longer count against their channel's sales cap,
    nor their waiting presale units against its presale allowance (sales counters are locked after the stock
    rows, like the reservation path)."""
    units: dict[tuple[str, str], tuple[int, int]] = {}
    for reservation, allocations in freed:
        for a in allocations:
            if reservation.channel_id:
                key = (reservation.channel_id, a.sku)
                counted, presale = units.get(key, (0, 0))
                units[key] = (counted + a.open, presale + a.presale_waiting)
    counters = await uow.sales.lock(units)
    for key, (quantity, presale) in units.items():
        counters[key].give_back(quantity)
        if presale:
            counters[key].presale_give_back(presale)


def _unhold(levels: dict[tuple[str, str], StockLevel], freed: list[Allocation]) -> None:
    """Freed allocations give back what they reserved on hand, and leave the waiting line."""
    for allocation in freed:
        level = levels[(allocation.sku, allocation.location_id)]
        if allocation.shelf_open:
            level.unreserve(allocation.shelf_open)
        if allocation.awaiting:
            level.stop_waiting(allocation.awaiting)


async def _lock_for_change(
    uow: InventoryUnitOfWork, reservation: Reservation, location_id: str = ""
) -> dict[tuple[str, str], StockLevel]:
    """Lock the reservation's stock rows (at `location_id` only, when given; the reservation is locked already),
    then read its allocations again: arriving goods may have filled waiting ones before we held the rows
    (adapters/reservations.py)."""
    levels = await uow.levels.lock(
        {(a.sku, a.location_id) for a in reservation.allocations if a.location_id == (location_id or a.location_id)}
    )
    await uow.reservations.refresh(reservation)
    return levels


async def release_reservation(uow: InventoryUnitOfWork, reservation_id: str, reason: str) -> Reservation:
    reservation = await _reservation(uow, reservation_id, lock=True)
    if not reservation.is_open:
        reservation.release(reason or "released", now())  # idempotent, or refused in its state
        return reservation
    levels = await _lock_for_change(uow, reservation)
    freed = reservation.release(reason or "released", now())
    _unhold(levels, freed)
    await _uncount(uow, [(reservation, freed)])
    await uow.reservations.save(reservation)
    return reservation


async def expire_reservations(uow: InventoryUnitOfWork, limit: int) -> int:
    """The sweeper's pass: release every ACTIVE reservation past its expiry (skipping rows others hold)."""
    moment = now()
    expired = await uow.reservations.lock_expired(moment, limit)
    levels = await uow.levels.lock({(a.sku, a.location_id) for r in expired for a in r.allocations})
    freed_all = []
    for reservation in expired:
        await uow.reservations.refresh(reservation)  # after the stock rows: see _lock_for_change
        freed_all.append((reservation, reservation.expire(moment)))
    for reservation, freed in freed_all:
        _unhold(levels, freed)
        await uow.reservations.save(reservation)
    await _uncount(uow, freed_all)
    return len(expired)


async def fulfill_reservation(uow: InventoryUnitOfWork, cmd: commands.FulfillReservation) -> Reservation:
    reservation = await _reservation(uow, cmd.reservation_id, lock=True)
    levels = await _lock_for_change(uow, reservation, cmd.location_id)
    shipped = reservation.fulfill(cmd.location_id, list(cmd.lines) or None, now())
    if shipped:
        for allocation, quantity in shipped:
            levels[(allocation.sku, allocation.location_id)].ship_reserved(
                quantity, reservation.order_id or reservation.id
            )
        await uow.reservations.save(reservation)
    return reservation


async def transfer_stock(uow: InventoryUnitOfWork, cmd: commands.TransferStock) -> Transfer:
    if cmd.from_location_id == cmd.to_location_id:
        raise InvalidArgument("to_location_id", "must differ from from_location_id")
    await _active_location(uow, cmd.from_location_id, "from_location_id")
    await _active_location(uow, cmd.to_location_id, "to_location_id")
    transfer = Transfer.ship(
        str(uuid.uuid4()), cmd.from_location_id, cmd.to_location_id, list(cmd.lines), cmd.reference, now()
    )
    levels = await uow.levels.lock({(ln.sku, cmd.from_location_id) for ln in cmd.lines}, create=True)
    shortages = []
    for line in cmd.lines:
        try:
            levels[(line.sku, cmd.from_location_id)].transfer_out(line.quantity, transfer.id, cmd.reason or "transfer")
        except InsufficientStock as exc:
            shortages.extend(exc.shortages)
    if shortages:
        raise InsufficientStock(shortages)
    await uow.transfers.add(transfer)
    return transfer


async def receive_transfer(uow: InventoryUnitOfWork, transfer_id: str) -> Transfer:
    transfer = found(await uow.transfers.get(transfer_id, lock=True), "transfer", transfer_id)
    if transfer.receive(now()):
        levels = await uow.levels.lock({(ln.sku, transfer.to_location_id) for ln in transfer.lines}, create=True)
        for line in transfer.lines:
            levels[(line.sku, transfer.to_location_id)].transfer_in(line.quantity, transfer.id)
        await uow.transfers.save(transfer)
    return transfer


async def get_transfer(uow: InventoryUnitOfWork, transfer_id: str) -> Transfer:
    return found(await uow.transfers.get(transfer_id), "transfer", transfer_id)


async def list_movements(
    uow: InventoryUnitOfWork, location_id: str, sku: str, after: Position, limit: int
) -> tuple[list[Movement], bool]:
    """A page of the ledger after `after`, and whether more follow: movements of finished transactions only, in
    (xact_id, id) order, so one still being written is listed after the page that stopped short of it, never
    skipped (StockLevelRepository.movements). A short page waits briefly for movements held back behind an
    older transaction, so a caller reads what it has just moved (onepool_runtime.commit_order.read_page)."""

    async def page(n: int) -> list[Movement]:
        return await uow.levels.movements(location_id, sku, after, n)

    async def held_back() -> bool:
        return await uow.levels.movements_held_back(location_id, sku, after)

    return await read_page(page, held_back, limit)


async def apply_channel_policy(uow: InventoryUnitOfWork, policy: ChannelPolicy) -> bool:
    applied = await uow.policies.upsert(policy)
    if applied:
        await _end_unsellable_allocations(uow, await uow.allocations.active_of(channel_id=policy.channel_id))
    return applied


async def _end_unsellable_allocations(uow: InventoryUnitOfWork, allocations: list[ChannelAllocation]) -> None:
    """Dedicated units are out of the shared pool and only their channel may sell them: once the channel may
    no longer sell from their location (its policy or the location's type changed), nobody could, so the
    allocation ends and what is left goes back to the pool. A disabled location keeps its allocations (a shop
    closed for a day keeps its campaign stock; nothing sells there meanwhile); they are judged again when it
    is enabled. A paused channel keeps them too."""
    if not allocations:
        return
    locations = {loc.id: loc for loc in await uow.locations.find(ids={a.location_id for a in allocations})}
    policies = {c: await uow.policies.get(c) for c in {a.channel_id for a in allocations}}

    def unsellable(a: ChannelAllocation) -> bool:
        location, policy = locations.get(a.location_id), policies.get(a.channel_id)
        return location is not None and policy is not None and location.active and not policy.allows(location)

    due = [a for a in allocations if unsellable(a)]
    if not due:
        return
    # The reservation path's order: stock rows, then allocations (waited for, not skipped: this must happen).
    levels = await uow.levels.lock({(a.sku, a.location_id) for a in due})
    moment = now()
    for allocation in await uow.allocations.lock_ids((a.id for a in due), skip_locked=False):
        if unsellable(allocation):
            allocation.close(levels[(allocation.sku, allocation.location_id)], moment, ended=True)


async def apply_listing_cap(
    uow: InventoryUnitOfWork,
    channel_id: str,
    sku: str,
    cap_units: int,
    version: int,
    presale_units: int = 0,
    allow_backorder: bool = False,
) -> bool:
    """A listing's sales cap, presale allowance and backorder flag (channels.listing.upserted); an older
    listing version than the one applied is ignored. An inactive listing keeps them: channels and orders
    refuse sales on it anyway. Lowering presale_units below what waits refuses new presale, changes nothing
    already waiting."""
    return await uow.sales.set_cap(channel_id, sku, cap_units, version, presale_units, allow_backorder)


async def create_channel_allocation(
    uow: InventoryUnitOfWork, cmd: commands.CreateChannelAllocation
) -> ChannelAllocation:
    """Set units of the shared pool at one location aside for one channel. Refused: unknown channel or
    location (NOT_FOUND), inactive location or one the channel may not sell from (FAILED_PRECONDITION
    LOCATION_NOT_SELLABLE), more than the shared pool has there (INSUFFICIENT_STOCK), ends_at in the past.

    The policy (FOR SHARE) and the location (shared lock) it is judged on stay as read until this commits: a
    policy change or an UpsertLocation that would end the allocation waits, then sees it (they end only the
    allocations they can read), or goes first and this reads its version. Locks in their order: policy, then
    location, then stock rows; neither of them takes the other's lock, nor either after stock rows."""
    policy = found(await uow.policies.get(cmd.channel_id, lock=True), "channel", cmd.channel_id)
    location = await _active_location(uow, cmd.location_id, share=True)
    if not policy.allows(location):
        raise FailedPrecondition(
            "LOCATION_NOT_SELLABLE",
            f"channel {cmd.channel_id} may not sell from location {cmd.location_id}",
            {"channel_id": cmd.channel_id, "location_id": cmd.location_id},
        )
    level = (await uow.levels.lock([(cmd.sku, cmd.location_id)], create=True))[(cmd.sku, cmd.location_id)]
    allocation = ChannelAllocation.open(
        str(uuid.uuid4()), channel_id=cmd.channel_id, level=level, quantity=cmd.quantity, ends_at=cmd.ends_at, now=now()
    )
    await uow.allocations.add(allocation)
    return allocation


async def get_channel_allocation(uow: InventoryUnitOfWork, allocation_id: str) -> ChannelAllocation:
    return found(await uow.allocations.get(allocation_id), "channel allocation", allocation_id)


async def release_channel_allocation(uow: InventoryUnitOfWork, allocation_id: str) -> ChannelAllocation:
    """What is left returns to the pool; releasing again changes nothing. The stock row is locked before the
    allocation (the reservation path's order)."""
    found = await get_channel_allocation(uow, allocation_id)
    level = (await uow.levels.lock([(found.sku, found.location_id)]))[(found.sku, found.location_id)]
    allocation = await uow.allocations.get(allocation_id, lock=True)
    assert allocation is not None
    allocation.close(level, now(), ended=False)
    return allocation


async def end_channel_allocations(uow: InventoryUnitOfWork, limit: int) -> int:
    """The sweeper's pass: allocations past ends_at return what is left to the pool (rows another replica
    holds are skipped; they are its work)."""
    moment = now()
    due = await uow.allocations.ending(moment, limit)
    if not due:
        return 0
    levels = await uow.levels.lock({(a.sku, a.location_id) for a in due})
    ended = 0
    for allocation in await uow.allocations.lock_ids(a.id for a in due):
        if allocation.is_active and allocation.ends_at is not None and allocation.ends_at <= moment:
            allocation.close(levels[(allocation.sku, allocation.location_id)], moment, ended=True)
            ended += 1
    return ended


async def list_channel_allocations(
    uow: InventoryUnitOfWork, q: commands.ListChannelAllocations
) -> list[ChannelAllocation]:
    return await uow.allocations.find(
        [q.channel_id] if q.channel_id else None, q.sku, include_closed=q.include_closed, after=q.after, limit=q.limit
    )


async def list_stock_levels(
    uow: InventoryUnitOfWork, location_id: str, sku: str, after: tuple[str, str] | None, limit: int
) -> list[StockLevel]:
    return await uow.levels.page(location_id, sku, after, limit)
