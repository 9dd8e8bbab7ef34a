"""Wires the channels service: unit of work, the inventory-events consumer (stock read model and feed), the
watch hub, the orders client, the start-up announcement of every channel and the servicer."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import grpc
from onepool.channels.v1 import channels_pb2, channels_pb2_grpc
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool_runtime.clients import service_channel
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.server import Infra, ServiceParts

from onepool_channels.adapters.inventory_client import InventoryReader
from onepool_channels.adapters.orders_client import OrdersGateway
from onepool_channels.entrypoints.grpc_api import ChannelServicer
from onepool_channels.entrypoints.policies import POLICY
from onepool_channels.entrypoints.stock_events import (
    on_channel_allocation_changed,
    on_channel_sales_changed,
    on_expected_receipt,
    on_location_upserted,
    on_stock_changed,
    on_stock_changed_many,
)
from onepool_channels.entrypoints.watch import StockWatchHub
from onepool_channels.service_layer import handlers
from onepool_channels.service_layer.rebuild import rebuild
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_channels.settings import ChannelsSettings

SERVICE_NAME = channels_pb2.DESCRIPTOR.services_by_name["ChannelService"].full_name
ANNOUNCE_BATCH = 200
log = logging.getLogger(__name__)


def event_consumers(infra: Infra) -> list[EventConsumer]:
    """The events channels reads (nothing is connected here; the host runs them)."""
    # The read model holds the whole pool (every SKU at every location), from the start of the stream, so a
    # channel or listing created later still sees stock that arrived earlier.
    stock_feed = [
        Subscription.of(inventory_events.StockChanged, on_stock_changed, many=on_stock_changed_many),
        Subscription.of(inventory_events.LocationUpserted, on_location_upserted),
        Subscription.of(inventory_events.ChannelAllocationChanged, on_channel_allocation_changed),
        Subscription.of(inventory_events.ChannelSalesChanged, on_channel_sales_changed, many=on_stock_changed_many),
    ]
    # Expected receipts (presale) on a durable of their own: an existing durable keeps the subjects it was
    # created with.
    expected = [
        Subscription.of(m, on_expected_receipt)
        for m in (
            inventory_events.ExpectedReceiptRecorded,
            inventory_events.ExpectedReceiptChanged,
            inventory_events.ExpectedReceiptCancelled,
        )
    ]
    return [
        infra.consumer(ChannelsUnitOfWork, "stock-feed", "INVENTORY", stock_feed),
        infra.consumer(ChannelsUnitOfWork, "expected-stock", "INVENTORY", expected),
    ]


async def build(infra: Infra) -> ServiceParts:
    settings = infra.settings_as(ChannelsSettings)
    uow_factory = infra.units(ChannelsUnitOfWork)
    orders_channel = service_channel(settings.orders_addr, settings)
    inventory_channel = service_channel(settings.inventory_addr, settings)
    hub = StockWatchHub(
        infra.nc,
        queue_size=settings.watch_queue_size,
        reconnect_check_seconds=settings.watch_reconnect_check_seconds,
    )
    servicer = ChannelServicer(
        uow_factory, OrdersGateway(orders_channel, settings.orders_timeout_seconds), hub, settings
    )

    consumers = event_consumers(infra)

    async def announce() -> None:
        """Once at start-up: every channel, then every listing, is published again, so a consumer that joined
        after the CHANNELS stream dropped their events (its max age) still learns them (orders, inventory and
        settlement each keep a copy of the channels, orders of the listings). Consumers keep the highest
        version, so the repeat changes nothing else."""
        after: tuple[str, str] | None = None
        while True:
            page = partial(handlers.announce_channels, after=after, limit=ANNOUNCE_BATCH)
            after = await run_in_transaction(uow_factory, page)
            if after is None:
                break
        # Then every listing: orders checks orders against its copy of them (a channel's terms).
        listing_key: tuple[str, str] | None = ("", "")
        while listing_key is not None:
            listing_page = partial(handlers.announce_listings, after=listing_key, limit=ANNOUNCE_BATCH)
            listing_key = await run_in_transaction(uow_factory, listing_page)

    async def rebuild_if_empty() -> None:
        """Once at start-up: an empty stock read model (a fresh or wiped database) is rebuilt from inventory,
        not only from what the INVENTORY stream still holds (service_layer/rebuild.py)."""
        if not await run_in_transaction(uow_factory, lambda uow: uow.repo.is_empty()):
            return
        while True:
            try:
                report = await rebuild(partial(run_in_transaction, uow_factory), InventoryReader(inventory_channel))
            except grpc.aio.AioRpcError as exc:
                # Pages applied so far stay (they are correct); the next attempt starts over.
                log.warning("stock read model rebuild: inventory said %s; retrying", exc.code().name)
                await asyncio.sleep(settings.rebuild_retry_seconds)
                continue
            log.info("stock read model rebuilt from inventory: %s", report)
            return

    return ServiceParts(
        register=partial(channels_pb2_grpc.add_ChannelServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        consumers=consumers,
        tasks={"stock-watch-hub": hub.run, "announce-channels": announce, "rebuild-read-model": rebuild_if_empty},
        before_stop=[hub.close],
        on_stop=[partial(orders_channel.close, None), partial(inventory_channel.close, None)],
        components={"stock_watch_hub": hub, "stock_feed_consumer": consumers[0]},
    )
