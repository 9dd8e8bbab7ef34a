"""The channel stock feed (flow 10): keep every listing's sellable number current and publish changes.

Inventory's events keep a local read model of the pool (available units per (sku, location) and each
location's type and status). Whenever something that decides a number changes (stock, a location, a
channel's policy or status, a listing), the affected listings are recomputed and a listing whose number
changed gets a `ChannelStockUpdated` event, in the same transaction. A channel whose number did not move
publishes nothing. The read model holds every SKU's stock, not per channel, so a channel or listing created
after the stock arrived still sees it.

Each event's function below first takes the feed lock (`lock_feed`, once per transaction): a consumer's batch
applies several events in one transaction, each locking its location and SKUs as it comes, so two replicas'
batches would otherwise deadlock on each other's locks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from onepool_channels.domain.model import ChannelStock, Listing, LocationInfo, StockPosition
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork

# SKUs recomputed per round of reads: a location, a channel or a rebuild may touch every SKU there is, and what
# one statement reads must not grow with that.
REFRESH_CHUNK = 1_000


async def refresh(uow: ChannelsUnitOfWork, skus: Iterable[str], *, channel_id: str = "") -> list[ChannelStock]:
    """Recompute the listings of `skus` (of one channel, or of all) and record the numbers that changed.

    Takes the SKUs' locks first, so the numbers are computed from committed state that no concurrent
    recomputation of the same SKU can overtake. Then recomputes them `REFRESH_CHUNK` SKUs at a time.
    """
    wanted = sorted(set(skus))
    if not wanted:
        return []
    await uow.repo.lock_skus(wanted)
    changed: list[ChannelStock] = []
    for start in range(0, len(wanted), REFRESH_CHUNK):
        changed += await _recompute(uow, wanted[start : start + REFRESH_CHUNK], channel_id)
    return changed


async def _recompute(uow: ChannelsUnitOfWork, skus: list[str], channel_id: str) -> list[ChannelStock]:
    """`refresh` of SKUs already locked."""
    listings = await uow.repo.listings_of_skus(skus, channel_id)
    if not listings:
        return []
    channels = await uow.repo.channels({listing.channel_id for listing in listings})
    positions = await uow.repo.positions({listing.sku for listing in listings})
    keys = [(listing.channel_id, listing.sku) for listing in listings]
    dedicated, counted = await uow.repo.dedicated(keys), await uow.repo.counted(keys)
    expected, presale_counted = await presale_inputs(uow, listings, keys)
    published = await uow.repo.channel_stock(keys)
    changed = []
    for listing, key in zip(listings, keys, strict=True):
        channel = channels[listing.channel_id]
        stock = published[key]
        sellable, rules = channel.rules(
            listing,
            positions[listing.sku],
            dedicated[key],
            counted.get(key, 0),
            expected=expected.get(listing.sku, []),
            presale_counted=presale_counted.get(key, 0),
        )
        if not rules.sales_cap_units:
            # Without a cap the count changes with every sale but decides nothing: not a reason to publish.
            rules = replace(rules, sales_counted=0)
        if stock.update(sellable, listing.channel_sku, rules):
            changed.append(stock)
    await uow.repo.save_channel_stock(changed)
    return changed


async def presale_inputs(
    uow: ChannelsUnitOfWork, listings: list[Listing], keys: list[tuple[str, str]]
) -> tuple[dict[str, list[StockPosition]], dict[tuple[str, str], int]]:
    """The expected units and presale counts the presale listings among `listings` need (none are read for
    listings without a presale allowance)."""
    presale = [(listing, key) for listing, key in zip(listings, keys, strict=True) if listing.presale_units > 0]
    if not presale:
        return {}, {}
    expected = await uow.repo.expected({listing.sku for listing, _ in presale})
    return expected, await uow.repo.presale_counted([key for _, key in presale])


async def expected_changed(
    uow: ChannelsUnitOfWork, receipt_id: str, location_id: str, unpromised: dict[str, int], version: int
) -> list[ChannelStock]:
    """ExpectedReceipt recorded, changed or cancelled: its unpromised units per SKU (0 once received, closed or
    cancelled) change what presale listings may still sell."""
    await uow.repo.lock_feed()
    await uow.repo.lock_skus(unpromised)
    if not await uow.repo.apply_expected(receipt_id, location_id, unpromised, version):
        return []
    return await refresh(uow, unpromised)


async def stock_changed(
    uow: ChannelsUnitOfWork, sku: str, location_id: str, hint: LocationInfo | None, available: int, version: int
) -> list[ChannelStock]:
    """StockChanged: apply the level unless it is older than what we hold, then recompute.

    A position at a location not known yet counts for no channel until the location's event arrives
    (location_upserted then recomputes every SKU there)."""
    await uow.repo.lock_feed()
    if hint is not None:
        # Location row before SKU lock: the same order as location_upserted (deadlock freedom).
        await uow.repo.remember_location(hint)
    await uow.repo.lock_skus([sku])
    if not await uow.repo.apply_position(sku, location_id, available, version):
        return []  # stale: a newer level of this (sku, location) was applied already
    return await refresh(uow, [sku])


@dataclass(frozen=True)
class Level:
    """One StockChanged, as `levels_changed` takes it."""

    sku: str
    location_id: str
    hint: LocationInfo | None
    available: int
    version: int


@dataclass(frozen=True)
class Sales:
    """One ChannelSalesChanged, as `levels_changed` takes it."""

    channel_id: str
    sku: str
    counted: int
    version: int
    # Units of the channel's reservations waiting under the listing's presale allowance.
    presale_counted: int = 0


async def levels_changed(
    uow: ChannelsUnitOfWork, levels: list[Level], sales: Sequence[Sales] = ()
) -> list[ChannelStock]:
    """Several StockChanged and ChannelSalesChanged in a row (a consumer's batch; a placed order brings one
    of each): the same end state as `stock_changed` and `sales_changed` on each in turn, with every SKU
    recomputed once, so a listing publishes its latest number once rather than each step on the way. Locks
    in the order `stock_changed` takes them: location rows, then SKUs ascending. A SKU whose sales count
    changed is recomputed for every channel, not only the count's: the others' numbers come out unchanged,
    and an unchanged number is not published."""
    await uow.repo.lock_feed()
    hints: dict[str, LocationInfo] = {}
    for level in levels:
        if level.hint is not None:
            hints.setdefault(level.hint.id, level.hint)  # the first one counts, as one by one
    for location_id in sorted(hints):
        await uow.repo.remember_location(hints[location_id])
    await uow.repo.lock_skus([*(level.sku for level in levels), *(s.sku for s in sales)])
    written: set[str] = set()
    if levels:
        written = await uow.repo.apply_positions([(lv.sku, lv.location_id, lv.available, lv.version) for lv in levels])
    if sales:
        written |= await uow.repo.apply_sales_many(
            [(s.channel_id, s.sku, s.counted, s.version, s.presale_counted) for s in sales]
        )
    return await refresh(uow, written)


async def location_upserted(uow: ChannelsUnitOfWork, location: LocationInfo) -> list[ChannelStock]:
    """LocationUpserted: a location disabled, enabled or retyped changes what channels may sell. One older
    than the copy held (a redelivery overtaken by a later change, a rebuild's read overtaken by an event)
    changes nothing."""
    await uow.repo.lock_feed()
    if not await uow.repo.upsert_location(location):
        return []
    return await refresh(uow, await uow.repo.skus_at(location.id))


async def dedicated_changed(
    uow: ChannelsUnitOfWork,
    allocation_id: str,
    channel_id: str,
    sku: str,
    location_id: str,
    remaining: int,
    version: int,
) -> list[ChannelStock]:
    """ChannelAllocationChanged: the channel's dedicated units of the SKU changed (created, sold, released)."""
    await uow.repo.lock_feed()
    await uow.repo.lock_skus([sku])
    if not await uow.repo.apply_dedicated(allocation_id, channel_id, sku, location_id, remaining, version):
        return []
    return await refresh(uow, [sku], channel_id=channel_id)


async def allocations_changed(
    uow: ChannelsUnitOfWork, allocations: list[tuple[str, str, str, str, int, int]]
) -> list[ChannelStock]:
    """`dedicated_changed` of many (allocation_id, channel_id, sku, location_id, remaining, version) at once
    (the rebuild's pages), each SKU recomputed once."""
    await uow.repo.lock_feed()
    await uow.repo.lock_skus(sku for _, _, sku, _, _, _ in allocations)
    return await refresh(uow, await uow.repo.apply_dedicated_many(allocations))


async def sales_changed(
    uow: ChannelsUnitOfWork, channel_id: str, sku: str, counted: int, version: int, presale_counted: int = 0
) -> list[ChannelStock]:
    """ChannelSalesChanged: what the channel's sales cap (and its presale allowance) counts for the SKU changed."""
    await uow.repo.lock_feed()
    await uow.repo.lock_skus([sku])
    if not await uow.repo.apply_sales(channel_id, sku, counted, version, presale_counted):
        return []
    return await refresh(uow, [sku], channel_id=channel_id)
