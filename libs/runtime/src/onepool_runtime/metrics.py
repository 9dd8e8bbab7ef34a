"""OpenTelemetry instruments shared by the runtime. Exported by whatever MeterProvider telemetry.py installs
(Prometheus endpoint or OTLP); with none installed they are no-ops."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

meter = metrics.get_meter("onepool")

rpc_requests = meter.create_counter("onepool.rpc.requests", description="RPCs handled, by method and code")
# Seconds, so the SDK's default buckets (0, 5, 10, 25 ... 10000, made for milliseconds) would put every call in
# le=5.0: these span a cached read (~1 ms) to a call that waited out its deadline.
RPC_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
rpc_duration = meter.create_histogram(
    "onepool.rpc.duration",
    unit="s",
    description="RPC latency by method and code",
    explicit_bucket_boundaries_advisory=RPC_DURATION_BUCKETS,
)
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
dead_letters = meter.create_counter(
    "onepool.consumer.dead_letters", description="Events a consumer gave up on and moved to the DLQ stream"
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
