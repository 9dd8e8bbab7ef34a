"""Inventory use cases. Each runs inside one unit of work; the caller (runtime.run_in_transaction or a
consumer) commits. Reserve lives in reserving.py because concurrent calls are coalesced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from onepool_kernel.timestamps import now
from onepool_runtime.errors import FailedPrecondition, InsufficientStock, InvalidArgument, NotFound

from onepool_inventory.adapters.availability import AvailabilityReader
from onepool_inventory.domain import commands
from onepool_inventory.domain.model import (
    ChannelPolicy,
    Location,
    LocationType,
    Movement,
    Reservation,
    StockLevel,
    Transfer,
)
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork


async def _active_location(uow: InventoryUnitOfWork, location_id: str, field: str = "location_id") -> Location:
    location = await uow.locations.get(location_id)
    if location is None:
        raise NotFound("location", location_id)
    if not location.active:
        raise FailedPrecondition("LOCATION_INACTIVE", f"location {location_id} is inactive", {field: location_id})
    return location


async def upsert_location(uow: InventoryUnitOfWork, cmd: commands.UpsertLocation) -> Location:
    location = cmd.location
    location.supersede(await uow.locations.get(location.id))
    await uow.locations.save(location)
    return location


async def list_locations(
    uow: InventoryUnitOfWork, owner_dealer_id: str, type_: LocationType | None, region: str
) -> list[Location]:
    return await uow.locations.find(owner_dealer_id=owner_dealer_id, type_=type_, region=region)


async def receive_stock(uow: InventoryUnitOfWork, cmd: commands.ReceiveStock) -> list[StockLevel]:
    await _active_location(uow, cmd.location_id)
    levels = await uow.levels.lock({(ln.sku, cmd.location_id) for ln in cmd.lines}, create=True)
    for line in cmd.lines:
        levels[(line.sku, cmd.location_id)].receive(line.quantity, cmd.kind, cmd.reason, cmd.reference)
    return [levels[k] for k in sorted(levels)]


async def adjust_stock(uow: InventoryUnitOfWork, cmd: commands.AdjustStock) -> StockLevel:
    await _active_location(uow, cmd.location_id)
    level = (await uow.levels.lock([(cmd.sku, cmd.location_id)], create=True))[(cmd.sku, cmd.location_id)]
    level.adjust(cmd.delta, cmd.reason)
    return level


async def set_safety_stock(uow: InventoryUnitOfWork, cmd: commands.SetSafetyStock) -> StockLevel:
    if await uow.locations.get(cmd.location_id) is None:
        raise NotFound("location", cmd.location_id)
    level = (await uow.levels.lock([(cmd.sku, cmd.location_id)], create=True))[(cmd.sku, cmd.location_id)]
    level.set_safety_stock(cmd.quantity)
    return level


@dataclass(frozen=True)
class LocationView:
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    by_location: tuple[LocationView, ...]


async def channel_policy(uow: InventoryUnitOfWork, channel_id: str) -> ChannelPolicy | None:
    if not channel_id:
        return None
    policy = await uow.policies.get(channel_id)
    if policy is None:
        raise NotFound("channel", channel_id)
    return policy


async def get_availability(
    reader: AvailabilityReader, skus: list[str], channel_id: str, location_ids: list[str]
) -> list[SkuAvailability]:
    """Per SKU: totals and per-location figures over the active locations (those named, if any) the channel's
    policy allows; `available` is what the channel may sell. An unknown channel is NOT_FOUND."""
    policy, rows = await reader.read(skus, location_ids or None, channel_id)
    if channel_id and policy is None:
        raise NotFound("channel", channel_id)
    by_sku: dict[str, list[LocationView]] = {sku: [] for sku in skus}
    for lvl, location in rows:
        if policy is None or policy.allows(location):
            by_sku[lvl.sku].append(
                LocationView(lvl.location_id, lvl.on_hand, lvl.reserved, lvl.safety_stock, lvl.available)
            )
    out = []
    for sku, views in by_sku.items():
        available = sum(v.available for v in views)
        if policy is not None:
            available = policy.sellable(available) if policy.active else 0
        out.append(
            SkuAvailability(
                sku,
                sum(v.on_hand for v in views),
                sum(v.reserved for v in views),
                sum(v.safety_stock for v in views),
                available,
                tuple(views),
            )
        )
    return out


async def _reservation(uow: InventoryUnitOfWork, reservation_id: str, *, lock: bool) -> Reservation:
    reservation = await uow.reservations.get(reservation_id, lock=lock)
    if reservation is None:
        raise NotFound("reservation", reservation_id)
    return reservation


async def get_reservation(uow: InventoryUnitOfWork, reservation_id: str) -> Reservation:
    return await _reservation(uow, reservation_id, lock=False)


async def commit_reservation(uow: InventoryUnitOfWork, reservation_id: str) -> Reservation:
    reservation = await _reservation(uow, reservation_id, lock=True)
    if reservation.commit(now()):
        await uow.reservations.save(reservation)
    return reservation


async def _give_back(uow: InventoryUnitOfWork, reservation: Reservation, freed: list) -> None:  # type: ignore[type-arg]
    levels = await uow.levels.lock({(a.sku, a.location_id) for a in freed})
    for allocation in freed:
        levels[(allocation.sku, allocation.location_id)].unreserve(allocation.open)
    await uow.reservations.save(reservation)


async def release_reservation(uow: InventoryUnitOfWork, reservation_id: str, reason: str) -> Reservation:
    reservation = await _reservation(uow, reservation_id, lock=True)
    was_open = reservation.is_open
    freed = reservation.release(reason or "released", now())
    if was_open:
        await _give_back(uow, reservation, freed)
    return reservation


async def expire_reservations(uow: InventoryUnitOfWork, limit: int) -> int:
    """The sweeper's pass: release every ACTIVE reservation past its expiry (skipping rows others hold)."""
    moment = now()
    expired = await uow.reservations.lock_expired(moment, limit)
    freed_all = []
    for reservation in expired:
        freed_all.append((reservation, reservation.expire(moment)))
    keys = {(a.sku, a.location_id) for _, freed in freed_all for a in freed}
    levels = await uow.levels.lock(keys)
    for reservation, freed in freed_all:
        for allocation in freed:
            levels[(allocation.sku, allocation.location_id)].unreserve(allocation.open)
        await uow.reservations.save(reservation)
    return len(expired)


async def fulfill_reservation(uow: InventoryUnitOfWork, cmd: commands.FulfillReservation) -> Reservation:
    reservation = await _reservation(uow, cmd.reservation_id, lock=True)
    shipped = reservation.fulfil(cmd.location_id, list(cmd.lines) or None, now())
    if shipped:
        levels = await uow.levels.lock({(a.sku, a.location_id) for a, _ in shipped})
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
    transfer = await uow.transfers.get(transfer_id, lock=True)
    if transfer is None:
        raise NotFound("transfer", transfer_id)
    if transfer.receive(now()):
        levels = await uow.levels.lock({(ln.sku, transfer.to_location_id) for ln in transfer.lines}, create=True)
        for line in transfer.lines:
            levels[(line.sku, transfer.to_location_id)].transfer_in(line.quantity, transfer.id)
        await uow.transfers.save(transfer)
    return transfer


async def get_transfer(uow: InventoryUnitOfWork, transfer_id: str) -> Transfer:
    transfer = await uow.transfers.get(transfer_id)
    if transfer is None:
        raise NotFound("transfer", transfer_id)
    return transfer


async def list_movements(
    uow: InventoryUnitOfWork, location_id: str, sku: str, after_id: int, limit: int
) -> list[Movement]:
    return await uow.levels.movements(location_id, sku, after_id, limit)


async def apply_channel_policy(uow: InventoryUnitOfWork, policy: ChannelPolicy) -> bool:
    return await uow.policies.upsert(policy)
