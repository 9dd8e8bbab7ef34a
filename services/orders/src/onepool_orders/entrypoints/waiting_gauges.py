"""The gauges an on-call operator alerts on when orders stop moving (adapters/waiting.py says what each state
waits on): `onepool.orders.waiting` (orders per state) and `onepool.orders.waiting.oldest_age` (seconds the
oldest of them has waited), by `state`. Measured by a background task every `waiting_gauge_interval_seconds`
(one statement on partial indexes), not at each scrape: the exporter's callbacks cannot wait on the database,
and every replica then reads at its own pace rather than at each scraper's. Every state is always reported
(0 when none waits), so an alert on a state that has never waited still has a series to look at."""

from __future__ import annotations

from collections.abc import Iterable

from onepool_runtime.loops import repeat
from onepool_runtime.metrics import meter
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_orders.adapters.waiting import WaitingCount, waiting_counts

_last: dict[str, WaitingCount] = {}


def _observe_count(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(w.orders, {"state": s}) for s, w in _last.items()]


def _observe_age(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(w.oldest_age_seconds, {"state": s}) for s, w in _last.items()]


meter.create_observable_gauge(
    "onepool.orders.waiting",
    [_observe_count],
    description="Orders waiting, by state: awaiting_stock (PENDING), awaiting_payment (RESERVED), "
    "balance_overdue (DEPOSIT_PAID past its deadline), awaiting_inventory (a change inventory has not applied)",
)
meter.create_observable_gauge(
    "onepool.orders.waiting.oldest_age",
    [_observe_age],
    unit="s",
    description="Seconds the oldest waiting order of each state has waited",
)


def last_measured() -> dict[str, WaitingCount]:
    """What the gauges report now (for tests and tools in this process)."""
    return dict(_last)


class WaitingGauges:
    def __init__(self, engine: AsyncEngine, *, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds

    async def run(self) -> None:
        await repeat(self.measure, interval=self._interval, what="waiting orders gauge")

    async def measure(self) -> None:
        async with self._engine.connect() as conn:
            counts = await waiting_counts(conn)
        _last.update({w.state.value: w for w in counts})
