"""The gauges an on-call operator alerts on when orders stop moving (adapters/waiting.py says what each state
waits on): `onepool.orders.waiting` (orders per state) and `onepool.orders.waiting.oldest_age` (seconds the
oldest of them has waited), by `state`. Measured by a background task every `waiting_gauge_interval_seconds`
(one statement on partial indexes), not at each scrape: the exporter's callbacks cannot wait on the database,
and every replica then reads at its own pace rather than at each scraper's. Every state is always reported
(0 when none waits), so an alert on a state that has never waited still has a series to look at.

A read that fails (the database down) leaves the last values in place, so an alert already firing does not
resolve itself for want of data; what says they are stale is `onepool.orders.waiting.read_age` (seconds since
the last read that succeeded, or since the gauges started when none has) and the counter
`onepool.orders.waiting.read_failures`: alert on the first (README, "Stuck orders")."""

from __future__ import annotations

import time
from collections.abc import Iterable

from onepool_runtime.loops import repeat
from onepool_runtime.metrics import meter
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_orders.adapters.waiting import WaitingCount, waiting_counts

_last: dict[str, WaitingCount] = {}
# time.monotonic() of the last read that succeeded (or of the first gauges made, until one has); empty while
# no gauges exist in this process, so there is nothing to be stale.
_read_at: list[float] = []


def _observe_count(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(w.orders, {"state": s}) for s, w in _last.items()]


def _observe_age(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(w.oldest_age_seconds, {"state": s}) for s, w in _last.items()]


def _observe_read_age(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(time.monotonic() - _read_at[0])] if _read_at else []


meter.create_observable_gauge(
    "onepool.orders.waiting",
    [_observe_count],
    description="Orders waiting, by state: awaiting_reservation (PENDING), awaiting_payment (RESERVED), "
    "balance_overdue (DEPOSIT_PAID past its deadline), awaiting_inventory (a change inventory has not applied), "
    "goods_overdue (paid, goods waited for past their promised date)",
)
meter.create_observable_gauge(
    "onepool.orders.waiting.oldest_age",
    [_observe_age],
    unit="s",
    description="Seconds the oldest waiting order of each state has waited",
)
meter.create_observable_gauge(
    "onepool.orders.waiting.read_age",
    [_observe_read_age],
    unit="s",
    description="Seconds since the waiting-orders gauges were last read from the database: the age of their values",
)
read_failures = meter.create_counter(
    "onepool.orders.waiting.read_failures", description="Reads of the waiting-orders gauges that failed"
)


def last_measured() -> dict[str, WaitingCount]:
    """What the gauges report now (for tests and tools in this process)."""
    return dict(_last)


class WaitingGauges:
    def __init__(self, engine: AsyncEngine, *, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds
        if not _read_at:
            _read_at.append(time.monotonic())

    async def run(self) -> None:
        await repeat(self.measure, interval=self._interval, what="waiting orders gauge")

    async def measure(self) -> None:
        try:
            async with self._engine.connect() as conn:
                counts = await waiting_counts(conn)
        except Exception:
            read_failures.add(1)
            raise  # logged by the loop, which reads again after the interval
        _last.update({w.state.value: w for w in counts})
        _read_at[:] = [time.monotonic()]
