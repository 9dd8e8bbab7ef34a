"""Wires the channels service: unit of work, the inventory-events consumer (stock read model and feed), the
watch hub, the orders client, the start-up announcement of every channel and the servicer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from functools import partial

import grpc
from onepool.channels.v1 import channels_pb2, channels_pb2_grpc
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool_runtime.clients import service_channel
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.messaging import STREAMS
from onepool_runtime.server import Infra, ServiceParts

from onepool_channels.adapters.inventory_client import InventoryReader
from onepool_channels.adapters.orders_client import OrdersGateway
from onepool_channels.adapters.repository import startup_lock
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
from onepool_channels.service_layer.announcement import ANNOUNCE, StreamPosition, announce_unless_held
from onepool_channels.service_layer.rebuild import STOCK_REBUILD, rebuild_failed, rebuild_unless_built
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_channels.settings import ChannelsSettings

SERVICE_NAME = channels_pb2.DESCRIPTOR.services_by_name["ChannelService"].full_name
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
        uow_factory,
        OrdersGateway(orders_channel, settings.orders_timeout_seconds),
        hub,
        settings,
        locations=InventoryReader(inventory_channel, settings.orders_timeout_seconds),
    )

    consumers = event_consumers(infra)
    in_transaction = partial(run_in_transaction, uow_factory)

    async def announce() -> None:
        """Once per start-up wave: every channel and listing published again (service_layer/announcement.py)."""
        exclusive = partial(startup_lock, infra.engine, ANNOUNCE, settings.rebuild_retry_seconds)
        interval = timedelta(seconds=settings.announce_interval_seconds)
        if await announce_unless_held(in_transaction, channels_stream, exclusive, interval):
            log.info("announced every channel and listing")
        else:
            log.info("channels and listings announced recently and still in the stream: not announced again")

    async def channels_stream() -> StreamPosition:
        info = await infra.js.stream_info(STREAMS["channels"])
        return StreamPosition(info.created, info.state.first_seq, info.state.last_seq)

    async def rebuild_read_model() -> None:
        """Once at start-up, until one run has finished: the stock read model rebuilt from inventory, not only
        from what the INVENTORY stream still holds (service_layer/rebuild.py). Every failure is retried here,
        backing off: the host would restart a crashed task, but the next attempt must not wait for an
        operator."""
        exclusive = partial(startup_lock, infra.engine, STOCK_REBUILD, settings.rebuild_retry_seconds)
        delay = settings.rebuild_retry_seconds
        while True:
            try:
                report = await rebuild_unless_built(in_transaction, InventoryReader(inventory_channel), exclusive)
            except Exception as exc:
                # Pages applied so far stay (they are correct); the next attempt starts over.
                if isinstance(exc, grpc.aio.AioRpcError):
                    reason = f"inventory said {exc.code().name}"
                    log.warning("stock read model rebuild: %s; retrying in %.0fs", reason, delay)
                else:
                    reason = f"{type(exc).__name__}: {exc}"
                    log.warning("stock read model rebuild failed; retrying in %.0fs", delay, exc_info=True)
                with contextlib.suppress(Exception):
                    await in_transaction(partial(rebuild_failed, reason=reason))
                await asyncio.sleep(delay)
                delay = min(delay * 2, max(settings.rebuild_retry_max_seconds, settings.rebuild_retry_seconds))
                continue
            if report is not None:
                log.info("stock read model rebuilt from inventory: %s", report)
            return

    return ServiceParts(
        register=partial(channels_pb2_grpc.add_ChannelServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        consumers=consumers,
        tasks={"stock-watch-hub": hub.run, "announce-channels": announce, "rebuild-read-model": rebuild_read_model},
        before_stop=[hub.close],
        on_stop=[partial(orders_channel.close, None), partial(inventory_channel.close, None)],
        components={"stock_watch_hub": hub, "stock_feed_consumer": consumers[0]},
    )
