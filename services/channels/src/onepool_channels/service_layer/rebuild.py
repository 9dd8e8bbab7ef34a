"""Rebuild the channel stock read model from inventory (issue 12 item 6), without the INVENTORY stream.

The stream keeps 7 days; a channels database started empty later than that (or repaired) would count only the
stock that moved since. The rebuild reads inventory's locations, every stock level (ListStockLevels, paged),
every dedicated allocation (closed ones too: a read model restored from before a release would otherwise keep
counting it as dedicated), what every listing's sales cap and presale allowance count (uncapped ones too:
inventory sends no counter event when only a cap is added, so the count must be there already) and every
expected receipt's unpromised units (closed ones too, as 0); writes them with the same version guards the
events use (so it can run while the consumer runs, in any order), and recomputes every listing it touches,
publishing what changed. Counters carry no version in inventory's reply: they are written as version 0, so
any counter event (version >= 1) wins over them, and on an empty row they are all there is. It runs by itself
when the service starts (`rebuild_unless_built`) until one run has finished, and on demand with `onepool
channels rebuild`.

Each page commits on its own, so a read model with some rows is not a built one: `startup_runs` records the
start-up rebuild as started, and as finished only after its last page. A start that finds it started but not
finished (a replica stopped or crashed mid-way, an error) runs it again from the start, under a session lock
so that two replicas never run it at once; the version guards make the repeat harmless.

Failure modes: inventory unreachable or refusing raises grpc.aio.AioRpcError, a database error its own; the
pages already applied stay (they are correct), and running it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_kernel.lines import MAX_LINES
from onepool_runtime.protobuf import LOCATION_TYPES_BACK

from onepool_channels.adapters.inventory_client import Counted, InventoryReader
from onepool_channels.domain.model import LocationInfo
from onepool_channels.service_layer import stock_feed
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork

STOCK_REBUILD = "stock-rebuild"
T = TypeVar("T")
InTransaction = Callable[[Callable[[ChannelsUnitOfWork], Awaitable[T]]], Awaitable[T]]


@dataclass
class RebuildReport:
    locations: int = 0
    levels: int = 0
    allocations: int = 0
    counters: int = 0
    receipts: int = 0
    published: int = 0


async def _listing_keys(uow: ChannelsUnitOfWork, after: tuple[str, str]) -> list[tuple[str, str]]:
    return await uow.repo.listing_keys_after(after, MAX_LINES)


async def _built(uow: ChannelsUnitOfWork) -> bool:
    """Finished once, and not emptied since (an operator repairing the read model truncates its tables)."""
    run = await uow.repo.startup_run(STOCK_REBUILD)
    return run is not None and run.finished_at is not None and not await uow.repo.is_empty()


async def _started(uow: ChannelsUnitOfWork) -> None:
    await uow.repo.start_run(STOCK_REBUILD)


async def _finished(uow: ChannelsUnitOfWork) -> None:
    await uow.repo.finish_run(STOCK_REBUILD)


async def rebuild_failed(uow: ChannelsUnitOfWork, reason: str) -> None:
    """Why the last attempt failed, for an operator to read in `startup_runs` while it is retried."""
    await uow.repo.run_failed(STOCK_REBUILD, reason)


async def rebuild_unless_built(
    in_transaction: InTransaction[Any],
    inventory: InventoryReader,
    exclusive: Callable[[], AbstractAsyncContextManager[None]],
) -> RebuildReport | None:
    """The start-up rebuild: None if a run has finished (now or while this one waited for `exclusive`, the
    lock one replica holds while it rebuilds), else the report of this run, which has finished."""
    if await in_transaction(_built):
        return None
    async with exclusive():
        if await in_transaction(_built):
            return None
        return await _recorded(in_transaction, inventory)


async def rebuild_on_demand(
    in_transaction: InTransaction[Any],
    inventory: InventoryReader,
    exclusive: Callable[[], AbstractAsyncContextManager[None]],
    progress: Callable[[str, int], None] = lambda _step, _n: None,
) -> RebuildReport:
    """`onepool channels rebuild`: a rebuild whatever was recorded, under the same lock as the start-up one (it
    waits for a replica rebuilding) and recorded like it, so a start-up rebuild an operator finished by hand is
    not run again by the next replica."""
    async with exclusive():
        return await _recorded(in_transaction, inventory, progress)


async def _recorded(
    in_transaction: InTransaction[Any],
    inventory: InventoryReader,
    progress: Callable[[str, int], None] = lambda _step, _n: None,
) -> RebuildReport:
    await in_transaction(_started)
    report = await rebuild(in_transaction, inventory, progress)
    await in_transaction(_finished)
    return report


async def rebuild(
    in_transaction: InTransaction[Any],
    inventory: InventoryReader,
    progress: Callable[[str, int], None] = lambda _step, _n: None,
) -> RebuildReport:
    """`in_transaction(work)` runs `work(uow)` in one transaction and commits (the runtime's
    run_in_transaction); each page is its own transaction. `progress(step, units)` is told of each page."""
    report = RebuildReport()

    locations = [
        LocationInfo(
            loc.id,
            LOCATION_TYPES_BACK[loc.type],
            loc.owner_dealer_id,
            not loc.disabled,
            ships=loc.ships,
            version=loc.version,
        )
        for loc in await inventory.locations()
        if loc.type in LOCATION_TYPES_BACK
    ]

    async def apply_locations(uow: ChannelsUnitOfWork) -> int:
        changed = 0
        for location in locations:
            changed += len(await stock_feed.location_upserted(uow, location))
        return changed

    report.published += await in_transaction(apply_locations)
    report.locations = len(locations)
    progress("locations", len(locations))

    async for page in inventory.stock_levels():

        async def apply_levels(uow: ChannelsUnitOfWork, page: list[ipb.StockLevel] = page) -> int:
            skus = sorted({lvl.sku for lvl in page})
            await uow.repo.lock_skus(skus)
            for lvl in page:
                await uow.repo.apply_position(lvl.sku, lvl.location_id, lvl.available, lvl.version)
            return len(await stock_feed.refresh(uow, skus))

        report.published += await in_transaction(apply_levels)
        report.levels += len(page)
        progress("stock levels", len(page))

    async for allocations in inventory.channel_allocations():

        async def apply_allocations(
            uow: ChannelsUnitOfWork, allocations: list[ipb.ChannelAllocation] = allocations
        ) -> int:
            rows = [(a.id, a.channel_id, a.sku, a.location_id, a.remaining, a.version) for a in allocations]
            return len(await stock_feed.allocations_changed(uow, rows))

        report.published += await in_transaction(apply_allocations)
        report.allocations += len(allocations)
        progress("dedicated stock", len(allocations))

    after = ("", "")
    while True:
        keys: list[tuple[str, str]] = await in_transaction(partial(_listing_keys, after=after))
        by_channel: dict[str, list[str]] = {}
        for channel_id, sku in keys:
            by_channel.setdefault(channel_id, []).append(sku)
        for channel_id, skus in by_channel.items():
            counted = await inventory.sales_counted(channel_id, skus)

            async def apply_counts(
                uow: ChannelsUnitOfWork, channel_id: str = channel_id, counted: dict[str, Counted] = counted
            ) -> int:
                changed = 0
                for sku, n in counted.items():
                    # Version 0: any counter event (version >= 1) is newer and wins; on an empty row this is it.
                    changed += len(await stock_feed.sales_changed(uow, channel_id, sku, n.sales, 0, n.presale))
                return changed

            report.published += await in_transaction(apply_counts)
            report.counters += len(counted)
            progress("sales counters", len(counted))
        if len(keys) < MAX_LINES:
            break
        after = keys[-1]

    # After the counters: a receipt's units with no presale count yet would offer too much for a moment.
    async for receipts in inventory.expected_receipts():

        async def apply_receipts(uow: ChannelsUnitOfWork, receipts: list[ipb.ExpectedReceipt] = receipts) -> int:
            # Every SKU of the page locked at once, in the one ascending order: receipt by receipt, this page
            # would hold some SKUs while waiting for others a listing change holds.
            await uow.repo.lock_feed()
            await uow.repo.lock_skus(ln.sku for r in receipts for ln in r.lines)
            changed = 0
            for r in receipts:
                unpromised = {ln.sku: ln.unpromised for ln in r.lines}
                changed += len(await stock_feed.expected_changed(uow, r.id, r.location_id, unpromised, r.version))
            return changed

        report.published += await in_transaction(apply_receipts)
        report.receipts += len(receipts)
        progress("expected receipts", len(receipts))
    return report
