"""Consumer handlers: inventory's stock, location, dedicated-stock and sales-count events feed the channel stock
read model."""

from __future__ import annotations

from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2
from onepool_runtime.consumer import PermanentError
from onepool_runtime.protobuf import LOCATION_TYPES_BACK

from onepool_channels.domain.model import LocationInfo, LocationType
from onepool_channels.service_layer import stock_feed
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork


def _location_type(value: int) -> LocationType:
    try:
        return LOCATION_TYPES_BACK[value]
    except KeyError:
        raise PermanentError(f"unknown location type {value}") from None


def _level(event: inventory_events.StockChanged) -> stock_feed.Level:
    level = event.level
    # The location's own event (inventory.location.upserted) is authoritative; the type on a stock event is
    # only a hint for a location not heard of yet, and may be absent.
    location = None
    if event.location_type != inventory_pb2.LOCATION_TYPE_UNSPECIFIED:
        location = LocationInfo(level.location_id, _location_type(event.location_type), event.location_owner_dealer_id)
    return stock_feed.Level(level.sku, level.location_id, location, level.available, level.version)


async def on_stock_changed(event: inventory_events.StockChanged, uow: ChannelsUnitOfWork) -> None:
    level = _level(event)
    await stock_feed.stock_changed(uow, level.sku, level.location_id, level.hint, level.available, level.version)


async def on_stock_changed_many(
    events: list[inventory_events.StockChanged | inventory_events.ChannelSalesChanged], uow: ChannelsUnitOfWork
) -> None:
    """A run of StockChanged and ChannelSalesChanged in the consumer's batch (their subscriptions share this
    `many`; a placed order brings one of each): applied together, each SKU recomputed once."""
    levels: list[stock_feed.Level] = []
    sales: list[stock_feed.Sales] = []
    for e in events:
        if isinstance(e, inventory_events.ChannelSalesChanged):
            sales.append(stock_feed.Sales(e.channel_id, e.sku, e.counted, e.version, e.presale_counted))
        else:
            levels.append(_level(e))
    await stock_feed.levels_changed(uow, levels, sales)


async def on_location_upserted(event: inventory_events.LocationUpserted, uow: ChannelsUnitOfWork) -> None:
    loc = event.location
    await stock_feed.location_upserted(
        uow,
        LocationInfo(
            loc.id,
            _location_type(loc.type),
            loc.owner_dealer_id,
            not loc.disabled,
            ships=loc.ships,
            version=loc.version,
        ),
    )


async def on_channel_allocation_changed(
    event: inventory_events.ChannelAllocationChanged, uow: ChannelsUnitOfWork
) -> None:
    a = event.allocation
    await stock_feed.dedicated_changed(uow, a.id, a.channel_id, a.sku, a.location_id, a.remaining, a.version)


async def on_channel_sales_changed(event: inventory_events.ChannelSalesChanged, uow: ChannelsUnitOfWork) -> None:
    await stock_feed.sales_changed(
        uow, event.channel_id, event.sku, event.counted, event.version, event.presale_counted
    )


async def on_expected_receipt(
    event: inventory_events.ExpectedReceiptRecorded
    | inventory_events.ExpectedReceiptChanged
    | inventory_events.ExpectedReceiptCancelled,
    uow: ChannelsUnitOfWork,
) -> None:
    """What an expected receipt still brings and nobody was promised yet, as inventory states it (nothing once it
    is closed; nothing either in an event from before inventory stated it: presale waits for the receipt's next
    event rather than sell what may be promised)."""
    r = event.receipt
    await stock_feed.expected_changed(uow, r.id, r.location_id, {ln.sku: ln.unpromised for ln in r.lines}, r.version)
