"""PlaceOrder at the main concurrency, observed from outside: the CPU of every process of the platform
(services, PostgreSQL's whole tree, NATS) from /proc before and after, divided by the orders placed (the
consumers' share included: the \"after\" is read once they have caught up), and the delay from each response
until its `orders.order.placed` is seen on NATS (an ephemeral ordered consumer on the ORDERS stream, matched
by order id; an event seen before the response counts as 0).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from nats.js.api import DeliverPolicy
from onepool.orders.v1 import events_pb2 as oev

from tests.bench import procstat
from tests.bench.load import Sample, drive, percentile
from tests.bench.report import Row, ms

if TYPE_CHECKING:
    from tests.bench.harness import Bench


async def place_orders_observed(
    bench: Bench, call: Any, seconds: float, extra: dict[str, Any]
) -> tuple[Sample, Row, Row]:
    """PlaceOrder at 64 callers, watching the CPU of every process and `orders.order.placed` on NATS."""
    js = bench.nc.jetstream()
    seen: list[tuple[float, bytes]] = []

    async def on_event(msg: Any) -> None:
        seen.append((time.perf_counter(), msg.data))

    sub = await js.subscribe(
        "orders.order.placed", stream="ORDERS", cb=on_event, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
    )
    responded: dict[str, float] = {}

    def on_done(i: int, reply: Any) -> None:
        responded[reply.order.id] = time.perf_counter()

    await drive(call, 16, bench.sizes.warmup)
    pids = {**bench.stack.service_pids(), "nats": bench.stack.nats.proc.pid}  # type: ignore[union-attr]
    pg_pid = bench.stack.pg.proc.pid  # type: ignore[union-attr]
    before = {n: procstat.cpu_seconds(p) for n, p in pids.items()} | {"postgres": procstat.tree_cpu_seconds(pg_pid)}
    window_began = time.perf_counter()
    spy = bench.profile("orders-PlaceOrder", "orders")
    now = await drive(call, bench.sizes.callers, max(seconds, bench.sizes.profile_seconds), on_done=on_done)
    if spy is not None:
        bench.profiles.append(spy.summary())
    extra["drain"] = await bench.quiesce()  # the consumers' share of each order is part of its cost
    after = {n: procstat.cpu_seconds(p) for n, p in pids.items()} | {"postgres": procstat.tree_cpu_seconds(pg_pid)}
    window = time.perf_counter() - window_began
    await asyncio.sleep(min(2.0, max(0.5, seconds / 2)))  # stragglers of the event stream
    await sub.unsubscribe()

    placed = max(now.ok, 1)
    per_order = {n: round(1000 * (after[n] - before[n]) / placed, 2) for n in before}
    total_ms = sum(per_order.values())
    top = ", ".join(f"{n} {v:.1f}" for n, v in sorted(per_order.items(), key=lambda kv: -kv[1]))
    cpu_row = Row(
        key="cpu_per_order",
        path="CPU per placed order, all processes",
        rate=f"{total_ms:.1f} ms",
        p50=top,
        target="≤ 4 ms",
        met=total_ms <= 4,
        figures={
            "total_ms": round(total_ms, 2),
            "per_process_ms": per_order,
            "orders": now.ok,
            "window_s": round(window, 2),
            # What the services burn when idle (health checks, pollers) over the same window, per order:
            # included in total_ms, and large when few orders are placed.
            "idle_background_ms": round(10 * sum(bench.idle_cpu_pct.values()) * window / placed, 2),
        },
    )

    first_seen: dict[str, float] = {}
    for at, data in seen:
        first_seen.setdefault(oev.OrderPlaced.FromString(data).facts.order_id, at)
    delays = [max(0.0, first_seen[o] - t) for o, t in responded.items() if o in first_seen]
    missing = len(responded) - len(delays)
    p50, p99 = percentile(delays, 50) * 1000, percentile(delays, 99) * 1000
    event_row = Row(
        key="placed_event_delay",
        path=f"orders.order.placed seen after the response ({bench.sizes.callers} callers)",
        rate=f"{len(delays)} seen" + (f", {missing} not seen" if missing else ""),
        p50=ms(p50),
        p99=ms(p99),
        target="p99 < 50 ms",
        met=missing == 0 and bool(delays) and p99 < 50,
        figures={"seen": len(delays), "missing": missing, "p50_ms": round(p50, 3), "p99_ms": round(p99, 3)},
    )
    return now, cpu_row, event_row
