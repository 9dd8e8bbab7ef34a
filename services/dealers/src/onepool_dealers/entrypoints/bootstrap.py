"""Wires the dealers service: unit of work, peers (inventory, channels), sagas and their recovery loop,
the read-model consumers (with the lookup of locations they wait for) and the servicer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial

import grpc
from onepool.dealers.v1 import dealers_pb2, dealers_pb2_grpc
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.orders.v1 import events_pb2 as order_events
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool_runtime.clients import service_channel
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.loops import repeat
from onepool_runtime.server import Infra, ServiceParts

from onepool_dealers.adapters.gateways import ChannelsGateway, InventoryGateway
from onepool_dealers.entrypoints import consumers
from onepool_dealers.entrypoints.grpc_api import DealerServicer
from onepool_dealers.entrypoints.policies import POLICY
from onepool_dealers.service_layer.locations import LocationLookup
from onepool_dealers.service_layer.ports import ChannelsPort, InventoryPort
from onepool_dealers.service_layer.sagas import Sagas
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork
from onepool_dealers.settings import DealersSettings

log = logging.getLogger(__name__)
SERVICE_NAME = dealers_pb2.DESCRIPTOR.services_by_name["DealerService"].full_name


def event_consumers(
    infra: Infra,
    receipt_due: Callable[[str], None] | None = None,
    locations_wanted: Callable[[Iterable[str]], None] | None = None,
) -> list[EventConsumer]:
    """The events dealers reads into its read models (nothing is connected here; the host runs them).
    `receipt_due`: told of a replenishment an event received, once committed (Sagas.receipt_due).
    `locations_wanted`: told of locations an event waits for (LocationLookup.wanted)."""
    factors = infra.settings_as(DealersSettings).tier_factors()
    on_order, on_orders = consumers.order_handlers(factors, locations_wanted)
    inventory_view = [
        Subscription.of(inventory_events.LocationUpserted, consumers.on_location_upserted),
        Subscription.of(
            inventory_events.StockChanged, consumers.on_stock_changed, many=consumers.on_stock_changed_many
        ),
        Subscription.of(inventory_events.TransferShipped, consumers.on_transfer_shipped),
        Subscription.of(
            inventory_events.TransferReceived, consumers.on_transfer_received(factors, receipt_due, locations_wanted)
        ),
    ]
    orders_view = [
        Subscription.of(message, on_order, many=on_orders)
        for message in (
            order_events.OrderPlaced,
            order_events.OrderPaid,
            order_events.OrderCancelled,
            order_events.OrderShipped,
            order_events.OrderCompleted,
            order_events.OrderReturned,
            # The sale's income counts towards credit only once its return window closed (domain/income.py).
            order_events.OrderReturnWindowClosed,
        )
    ]
    settlement_view = [
        Subscription.of(settlement_events.EntryPosted, consumers.on_entry_posted, many=consumers.on_entries_posted)
    ]
    return [
        infra.consumer(DealersUnitOfWork, "inventory-view", "INVENTORY", inventory_view),
        infra.consumer(DealersUnitOfWork, "orders-view", "ORDERS", orders_view),
        infra.consumer(DealersUnitOfWork, "settlement-view", "SETTLEMENT", settlement_view),
    ]


async def build_with(
    infra: Infra, *, channels: ChannelsPort | None = None, inventory: InventoryPort | None = None
) -> ServiceParts:
    """The service, with its peers given (tests pass fakes) or reached over gRPC from settings."""
    settings = infra.settings_as(DealersSettings)
    uow_factory = infra.units(DealersUnitOfWork)
    peer_channels: list[grpc.aio.Channel] = []
    if channels is None:
        peer_channels.append(service_channel(settings.channels_addr, settings))
        channels = ChannelsGateway(peer_channels[-1], settings.peer_timeout_seconds)
    if inventory is None:
        peer_channels.append(service_channel(settings.inventory_addr, settings))
        inventory = InventoryGateway(peer_channels[-1], settings.peer_timeout_seconds)
    sagas = Sagas(
        uow_factory,
        channels,
        inventory,
        shipping_retry_after_seconds=settings.shipping_retry_after_seconds,
        recovery_batch=settings.recovery_batch,
        transit_seconds=settings.replenishment_transit_seconds,
    )
    lookup = LocationLookup(uow_factory, inventory)
    servicer = DealerServicer(uow_factory, sagas, settings)

    async def recover() -> None:
        """Finish half-done sagas (a dealer without its channel, a shipment without its answer, a received
        replenishment whose expected receipt is still open)."""
        interval = settings.recovery_interval_seconds
        await repeat(recover_pass, interval=interval, what="dealer recovery pass", first_after=interval)

    async def recover_pass() -> None:
        await sagas.recover_once()

    async def close_peers() -> None:
        for channel in peer_channels:
            await channel.close(None)

    return ServiceParts(
        register=partial(dealers_pb2_grpc.add_DealerServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        consumers=event_consumers(infra, sagas.receipt_due, lookup.wanted),
        tasks={
            "dealer-recovery": recover,
            "dealer-receipt-cancels": sagas.follow_receipts,
            "dealer-location-lookups": lookup.follow,
        },
        on_stop=[close_peers],
        components={"sagas": sagas, "location_lookup": lookup},
    )


async def build(infra: Infra) -> ServiceParts:
    return await build_with(infra)
