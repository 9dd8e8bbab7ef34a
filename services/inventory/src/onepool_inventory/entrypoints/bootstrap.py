"""Wires the inventory service: unit of work, reserve coalescer, sweeper, channel-policy consumer, servicer."""

from __future__ import annotations

import logging
from functools import partial

from onepool.channels.v1 import events_pb2 as channel_events
from onepool.inventory.v1 import inventory_pb2, inventory_pb2_grpc
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.loops import repeat
from onepool_runtime.server import Infra, ServiceParts

from onepool_inventory.adapters import mappers
from onepool_inventory.adapters.availability import AvailabilityReader
from onepool_inventory.entrypoints.grpc_api import InventoryServicer
from onepool_inventory.entrypoints.policies import POLICY
from onepool_inventory.entrypoints.policy_events import on_channel_event, on_listing_upserted, on_listings_upserted
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.reserving import ReserveCoalescer
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_inventory.settings import InventorySettings

log = logging.getLogger(__name__)
SERVICE_NAME = inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name


def _encode(reservation: object) -> bytes:
    return inventory_pb2.ReserveResponse(
        reservation=mappers.reservation_to_proto(reservation)  # type: ignore[arg-type]
    ).SerializeToString()


def event_consumers(infra: Infra) -> list[EventConsumer]:
    """The events inventory reads (nothing is connected here; the host runs them)."""
    policies = [
        *(Subscription.of(m, on_channel_event) for m in (channel_events.ChannelCreated, channel_events.ChannelUpdated)),
        Subscription.of(channel_events.ListingUpserted, on_listing_upserted, many=on_listings_upserted),
    ]
    return [infra.consumer(InventoryUnitOfWork, "channel-policies", "CHANNELS", policies)]


async def build(infra: Infra) -> ServiceParts:
    settings = infra.settings_as(InventorySettings)
    uow_factory = infra.units(InventoryUnitOfWork)
    coalescer = ReserveCoalescer(
        infra.engine, _encode, max_batch=settings.reserve_batch_max, workers=settings.reserve_workers
    )
    servicer = InventoryServicer(uow_factory, coalescer, settings, AvailabilityReader(infra.engine))

    async def sweep() -> None:
        """Expire unpaid reservations (flow 6) and end dedicated stock past ends_at; each pass is a transaction."""
        await repeat(sweep_once, interval=settings.sweeper_interval_seconds, what="reservation sweep")

    async def sweep_once() -> bool:
        expired = await run_in_transaction(
            uow_factory, lambda uow: handlers.expire_reservations(uow, settings.sweeper_batch)
        )
        # Dedicated stock past its ends_at returns to the pool in the same loop.
        ended = await run_in_transaction(
            uow_factory, lambda uow: handlers.end_channel_allocations(uow, settings.sweeper_batch)
        )
        if expired or ended:
            log.info("expired %d reservations, ended %d channel allocations", expired, ended)
        return max(expired, ended) >= settings.sweeper_batch  # a full batch: more may be due

    return ServiceParts(
        register=partial(inventory_pb2_grpc.add_InventoryServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        coalesced=frozenset({f"/{SERVICE_NAME}/Reserve"}),  # its calls wait for the coalescer's batch
        consumers=event_consumers(infra),
        tasks={"reserve-coalescer": coalescer.run, "reservation-sweeper": sweep},
        components={"reserve_coalescer": coalescer},
    )
