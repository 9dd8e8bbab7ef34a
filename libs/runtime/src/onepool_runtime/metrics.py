"""OpenTelemetry instruments shared by the runtime. Exported by whatever MeterProvider telemetry.py installs
(Prometheus endpoint or OTLP); with none installed they are no-ops."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

meter = metrics.get_meter("onepool")

rpc_requests = meter.create_counter("onepool.rpc.requests", description="RPCs handled, by method and code")
rpc_duration = meter.create_histogram("onepool.rpc.duration", unit="s", description="RPC latency by method and code")
reservations = meter.create_counter(
    "onepool.inventory.reservations", description="Reserve outcomes (accepted or rejected)"
)
outbox_published = meter.create_counter("onepool.outbox.published", description="Events published by the relay")
consumer_processed = meter.create_counter(
    "onepool.consumer.processed", description="Events handled by consumers, by outcome"
)
consumer_redeliveries = meter.create_counter(
    "onepool.consumer.redeliveries", description="Messages delivered more than once"
)

_backlog: dict[str, tuple[int, float]] = {}
_lag: dict[str, int] = {}


def set_outbox_backlog(service: str, count: int, oldest_age_seconds: float) -> None:
    _backlog[service] = (count, oldest_age_seconds)


def set_consumer_lag(consumer: str, pending: int) -> None:
    _lag[consumer] = pending


def _observe_backlog(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(c, {"service": s}) for s, (c, _age) in _backlog.items()]


def _observe_age(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(a, {"service": s}) for s, (_c, a) in _backlog.items()]


def _observe_lag(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(n, {"consumer": c}) for c, n in _lag.items()]


meter.create_observable_gauge("onepool.outbox.backlog", [_observe_backlog], description="Unpublished events")
meter.create_observable_gauge(
    "onepool.outbox.oldest_age", [_observe_age], unit="s", description="Age of the oldest unpublished event"
)
meter.create_observable_gauge("onepool.consumer.lag", [_observe_lag], description="Messages not yet delivered")
