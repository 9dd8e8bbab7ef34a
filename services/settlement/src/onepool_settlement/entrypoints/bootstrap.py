"""Wires the settlement service: unit of work, servicer, and the consumers of orders, channels, dealers and
inventory (locations) events (whose streams it creates if their services have not started yet)."""

from __future__ import annotations

from functools import partial

from onepool.settlement.v1 import settlement_pb2, settlement_pb2_grpc
from onepool_runtime import faults
from onepool_runtime.consumer import EventConsumer
from onepool_runtime.messaging import ensure_service_stream
from onepool_runtime.server import Infra, ServiceParts

from onepool_settlement.domain.rules import SettlementPolicy
from onepool_settlement.entrypoints import events_in
from onepool_settlement.entrypoints.grpc_api import SettlementServicer
from onepool_settlement.entrypoints.policies import POLICY
from onepool_settlement.service_layer.checkpoints import checkpoint_once, keep_checkpoints
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from onepool_settlement.settings import SettlementSettings

SERVICE_NAME = settlement_pb2.DESCRIPTOR.services_by_name["SettlementService"].full_name


def _slow_backoff(delivery: int) -> float:
    """Orders events waiting for their channel's terms: 0.2 s, 0.4 s, ... capped at 30 s."""
    return min(0.2 * (2 ** (delivery - 1)), 30.0)


def event_consumers(infra: Infra) -> list[EventConsumer]:
    """The events settlement books (nothing is connected here; the host runs them)."""
    settings = infra.settings_as(SettlementSettings)
    policy = SettlementPolicy(
        fulfillment_fee_bps=settings.fulfillment_fee_bps,
        dealer_sale_brand_share_bps=settings.dealer_sale_brand_share_bps,
    )
    currency = settings.default_currency
    # The service's sessions unless a test injects a crash between a consumer's commit and its ack.
    consumer = partial(
        infra.consumer, SettlementUnitOfWork, sessions=faults.consumer_sessions(infra), backoff=_slow_backoff
    )
    return [
        consumer("channels", "CHANNELS", events_in.channel_subscriptions()),
        consumer(
            "orders",
            "ORDERS",
            events_in.order_subscriptions(policy, currency),
            max_deliver=settings.orders_consumer_max_deliver,
            batch=settings.orders_consumer_batch_size,
        ),
        consumer("deposits", "ORDERS", events_in.deposit_subscriptions(policy, currency)),
        consumer("dealers", "DEALERS", events_in.dealer_subscriptions(currency)),
        consumer("locations", "INVENTORY", events_in.location_subscriptions()),
    ]


async def build(infra: Infra) -> ServiceParts:
    settings = infra.settings_as(SettlementSettings)
    uow_factory = infra.units(SettlementUnitOfWork)
    servicer = SettlementServicer(uow_factory, settings)
    every, interval = settings.balance_checkpoint_lines, settings.balance_checkpoint_interval_seconds

    for service in ("orders", "channels", "dealers", "inventory"):
        await ensure_service_stream(infra.js, service)

    return ServiceParts(
        register=partial(settlement_pb2_grpc.add_SettlementServiceServicer_to_server, servicer),
        service_names=[SERVICE_NAME],
        policy=POLICY,
        consumers=event_consumers(infra),
        tasks={"balance-checkpoints": partial(keep_checkpoints, uow_factory, every_lines=every, interval=interval)},
        # A pass at once, whatever the lines since the last (tests; an operator's console).
        components={"balance_checkpoint": partial(checkpoint_once, uow_factory, every_lines=every, force=True)},
    )
