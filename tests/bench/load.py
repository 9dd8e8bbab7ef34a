"""A closed-loop load driver: N callers, each calling again as soon as its previous call returned, until the
deadline; every caller makes at least one call, so a tiny smoke run still exercises every path.

The rate counts successful calls over the time from the first start to the last completion, so calls still in
flight at the deadline are waited for and counted (a saturated path at 256 callers is not flattered by cutting
its slow tail off). Failed calls are counted separately, with their status codes, and never enter the
latency figures.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of unsorted values (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Sample:
    callers: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "callers": self.callers,
            "ok": self.ok,
            "errors": dict(self.errors),
            "elapsed_s": round(self.elapsed, 4),
            "rate_per_s": round(self.rate, 2),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }


Call = Callable[[int], Awaitable[Any]]
_numbers = itertools.count()  # one sequence for every run in the process: ids built from i never repeat


async def drive(call: Call, callers: int, seconds: float, on_done: Callable[[int, Any], None] | None = None) -> Sample:
    """Run `call(i)` (i unique across callers and runs) from `callers` concurrent loops for about `seconds`."""
    sample = Sample(callers)
    began = time.perf_counter()
    deadline = began + seconds
    last_end = began

    async def caller() -> None:
        nonlocal last_end
        first = True
        while first or time.perf_counter() < deadline:
            first = False
            i = next(_numbers)
            start = time.perf_counter()
            try:
                result = await call(i)
            except grpc.aio.AioRpcError as exc:
                sample.errors[exc.code().name] += 1
                continue
            except Exception as exc:  # a baseline's database error is a failed call, not a crashed bench
                sample.errors[type(exc).__name__] += 1
                continue
            end = time.perf_counter()
            last_end = max(last_end, end)
            sample.latencies.append(end - start)
            if on_done is not None:
                on_done(i, result)

    await asyncio.gather(*(caller() for _ in range(callers)))
    sample.elapsed = last_end - began
    return sample
