"""Wires the orders service: unit of work, the inventory client, the placement saga, the stock-request
sender, the recovery loop, the balance sweeper, the return-window closer, the reservation-expiry,
reservation-release, reservation-stock, reservation-fulfilled and channel-view consumers and the servicer."""

from __future__ import annotations

import logging
import os
import sys
from functools import partial

from onepool.channels.v1 import events_pb2 as channel_events
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.orders.v1 import orders_pb2, orders_pb2_grpc
from onepool_runtime.clients import service_channel
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.retention import PeriodicPurge, SeqPurge
from onepool_runtime.server import Infra, ServiceParts
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_orders.adapters.inventory import GrpcInventory
from onepool_orders.entrypoints.channel_events import on_channel_event, on_listing_event
from onepool_orders.entrypoints.grpc_api import OrdersServicer
from onepool_orders.entrypoints.inventory_events import (
    on_promise_moved,
    on_reservation_expired,
    on_reservation_filled,
    on_reservation_fulfilled,
    on_reservation_released,
)
from onepool_orders.entrypoints.policies import POLICY
from onepool_orders.entrypoints.waiting_gauges import WaitingGauges
from onepool_orders.service_layer.balances import BalanceSweeper
from onepool_orders.service_layer.placing import OrderPlacement
from onepool_orders.service_layer.recovery import Recovery
from onepool_orders.service_layer.return_windows import ReturnWindowCloser
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork
from onepool_orders.settings import OrdersSettings

log = logging.getLogger(__name__)
SERVICE_NAME = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name
FAULT_EXIT_CODE = 86


def _exit_after_reserve() -> None:
    """OrdersSettings.fault_exit_after_reserve (tests only): die like a SIGKILL at the saga's worst moment."""
    sys.stderr.write("FAULT INJECTION: exiting between Reserve and recording the order\n")
    sys.stderr.flush()
    os._exit(FAULT_EXIT_CODE)


def event_consumers(infra: Infra) -> list[EventConsumer]:
    """The events orders reads (nothing is connected here; the host runs them)."""
    expiry = [Subscription.of(inventory_events.ReservationExpired, on_reservation_expired)]
    # Its own durable too: added after reservation-expiry was created with its subjects.
    release = [Subscription.of(inventory_events.ReservationReleased, on_reservation_released)]
    # A durable of its own (an existing durable keeps the subjects it was created with).
    stock = [
        Subscription.of(inventory_events.ReservationFilled, on_reservation_filled),
        Subscription.of(inventory_events.ReservationPromiseMoved, on_promise_moved),
    ]
    # Its own durable as well: the recovery of a shipment inventory applied and orders did not record.
    fulfilled = [Subscription.of(inventory_events.ReservationFulfilled, on_reservation_fulfilled)]
    channel_view = [
        *(Subscription.of(m, on_channel_event) for m in (channel_events.ChannelCreated, channel_events.ChannelUpdated)),
        Subscription.of(channel_events.ListingUpserted, on_listing_event),
    ]
    return [
        infra.consumer(OrdersUnitOfWork, "reservation-expiry", "INVENTORY", expiry),
        infra.consumer(OrdersUnitOfWork, "reservation-release", "INVENTORY", release),
        infra.consumer(OrdersUnitOfWork, "reservation-stock", "INVENTORY", stock),
        infra.consumer(OrdersUnitOfWork, "reservation-fulfilled", "INVENTORY", fulfilled),
        infra.consumer(OrdersUnitOfWork, "channel-view", "CHANNELS", channel_view),
    ]


def stock_request_purge(settings: OrdersSettings, engine: AsyncEngine) -> PeriodicPurge:
    """The command outbox's answered requests, past their retention (retention.SeqPurge: by seq, reading
    about what it deletes); open and failed ones stay."""
    answered = SeqPurge(
        "stock_requests",
        done="done_at",
        written="created_at",
        retention_seconds=settings.stock_request_retention_hours * 3600,
    )
    return PeriodicPurge(
        "stock_requests", partial(answered.run, engine), interval_seconds=settings.stock_request_purge_interval_seconds
    )


async def build(infra: Infra) -> ServiceParts:
    settings = infra.settings_as(OrdersSettings)
    uow_factory = infra.units(OrdersUnitOfWork)
    channel = service_channel(settings.inventory_addr, settings)
    inventory = GrpcInventory(channel, settings.inventory_timeout_seconds)
    if settings.fault_exit_after_reserve:
        log.warning("fault injection is ON: the process exits after its first successful Reserve")
    placement = OrderPlacement(
        uow_factory,
        inventory,
        payment_ttl_seconds=settings.payment_ttl_seconds,
        recovery_after_seconds=settings.recovery_after_seconds,
        pending_timeout_seconds=settings.pending_timeout_seconds,
        after_reserve=_exit_after_reserve if settings.fault_exit_after_reserve else None,
    )
    stock = StockSync(
        uow_factory,
        inventory,
        # Long enough that a request being sent is never taken by another sender meanwhile.
        lease_seconds=max(30.0, 3 * settings.inventory_timeout_seconds),
        retry_seconds=settings.stock_retry_seconds,
        retry_max_seconds=settings.stock_retry_max_seconds,
    )
    recovery = Recovery(
        uow_factory,
        placement,
        stock,
        interval_seconds=settings.recovery_interval_seconds,
        retry_in_seconds=max(settings.recovery_after_seconds, 2 * settings.inventory_timeout_seconds),
        batch=settings.recovery_batch,
    )
    balances = BalanceSweeper(
        uow_factory, stock, interval_seconds=settings.balance_sweep_interval_seconds, batch=settings.balance_sweep_batch
    )
    windows = ReturnWindowCloser(
        uow_factory, interval_seconds=settings.return_window_interval_seconds, batch=settings.return_window_batch
    )
    servicer = OrdersServicer(uow_factory, placement, stock, inventory, settings)
    purge = stock_request_purge(settings, infra.engine)
    gauges = WaitingGauges(infra.engine, interval_seconds=settings.waiting_gauge_interval_seconds)

    return ServiceParts(
        register=partial(orders_pb2_grpc.add_OrderServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        consumers=event_consumers(infra),
        tasks={
            "saga-recovery": recovery.run,
            "balance-sweeper": balances.run,
            "return-window-closer": windows.run,
            "stock-request-purge": purge.run,
            "waiting-gauges": gauges.run,
        },
        on_stop=[partial(channel.close, None)],
        components={
            "recovery": recovery,
            "placement": placement,
            "stock_sync": stock,
            "balances": balances,
            "return_windows": windows,
            "stock_request_purge": purge,
            "waiting_gauges": gauges,
        },
    )
