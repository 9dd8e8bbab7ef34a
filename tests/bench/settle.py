"""Settlement consuming N paid orders vs a raw JetStream pull consumer fetching, decoding and acking the same
messages, with 1 and then 2 settlement replicas (processes sharing the database and the durable consumer,
as Kubernetes replicas do). Settlement and dealers (which also consumes orders.order.*) are stopped while
the events are published; each row times settlement alone, from its first settled order to its last,
counted in its `order_settlements` table. A run stops at `settle_timeout` and then reports the rate so far
(counting, too, what a previous run left unsettled, which the replicas consume first).

Each row also gives the CPU (from /proc) the settlement processes and PostgreSQL spent per order settled
while the replicas were serving, and the rate that CPU implies on one core (`cpu_implied_rate_per_s`): on a
machine shared with other work the elapsed time says more about the neighbours than about settlement.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import asyncpg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool.orders.v1 import events_pb2 as oev
from onepool_runtime.outbox import MSG_ID_HEADER

from tests.bench import procstat
from tests.bench.report import Row

if TYPE_CHECKING:
    from tests.bench.harness import Bench

REPLICAS = (1, 2)


async def settlement(bench: Bench) -> None:
    for replicas in REPLICAS:
        await _run(bench, replicas)


def _stop_settlement_and_dealers(bench: Bench) -> None:
    replicas = [k for k in bench.stack.procs if k == "settlement" or k.startswith("settlement#")]
    bench.stack.stop_processes(*replicas, "dealers")


async def _run(bench: Bench, replicas: int) -> None:
    _stop_settlement_and_dealers(bench)
    n, world = bench.sizes.settle_orders, bench.world
    prefix = f"BP{world.run}R{replicas}"
    js = bench.nc.jetstream()
    first_seq = 0
    for start in range(0, n, 1000):
        futures = []
        for i in range(start, min(n, start + 1000)):
            event = world.paid_event(f"{prefix}-{i:06d}", world.spread[i % len(world.spread)])
            headers = {MSG_ID_HEADER: event.meta.event_id}
            futures.append(await js.publish_async("orders.order.paid", event.SerializeToString(), headers=headers))
        acks = await asyncio.gather(*futures)
        first_seq = first_seq or acks[0].seq

    # Baseline: fetch, decode and ack the same messages.
    sub = await js.pull_subscribe(
        "orders.order.paid",
        stream="ORDERS",
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first_seq, ack_policy=AckPolicy.EXPLICIT
        ),
    )
    began, acked = time.perf_counter(), 0
    while acked < n:
        try:
            batch = await sub.fetch(256, timeout=2)
        except TimeoutError:
            break
        for msg in batch:
            oev.OrderPaid.FromString(msg.data)
            await msg.ack()
            acked += 1
    raw_elapsed = time.perf_counter() - began
    await sub.unsubscribe()
    raw_rate = acked / raw_elapsed if raw_elapsed > 0 else 0.0

    conn = await asyncpg.connect(bench.stack.database_url)
    try:

        async def settled(like: str) -> int:
            query = "SELECT count(*) FROM settlement.order_settlements WHERE order_id LIKE $1"
            return int(await conn.fetchval(query, like))

        # The rate counts every bench order settled in the window: a previous run that hit the cap left its
        # rest in the durable consumer, and these replicas settle that first.
        every = f"BP{world.run}R%"
        spawned = time.perf_counter()
        await asyncio.gather(
            bench.stack.start_services("settlement"),
            *(bench.stack.start_replica("settlement", r) for r in range(2, replicas + 1)),
        )
        base = await settled(every)
        serving = time.perf_counter()  # the cap runs from here: starting replicas on a busy box takes a while
        pids = [bench.stack.pid(k) for k in bench.stack.procs if k == "settlement" or k.startswith("settlement#")]
        cpu_began = sum(procstat.cpu_seconds(p) for p in pids)
        pg_pid = bench.stack.pg.proc.pid  # type: ignore[union-attr]
        pg_began = procstat.tree_cpu_seconds(pg_pid)
        spy = bench.profile(f"settlement-{replicas}-replica", "settlement")  # with --profile only
        first_at, first_total, total, count = 0.0, base, base, 0
        while time.perf_counter() - serving < bench.sizes.settle_timeout:
            total, count = await settled(every), await settled(f"{prefix}-%")
            if total > base and not first_at:
                first_at, first_total = time.perf_counter(), total
            if count >= n:
                break
            await asyncio.sleep(0.05)
        done_at = time.perf_counter()
        cpu_spent = sum(procstat.cpu_seconds(p) for p in pids) - cpu_began
        pg_spent = procstat.tree_cpu_seconds(pg_pid) - pg_began
        settled_while_serving = await settled(every) - base
        if spy is not None:
            bench.profiles.append(spy.summary())
    finally:
        await conn.close()
    window = done_at - first_at if first_at and total > first_total else done_at - serving
    counted = total - first_total if first_at and total > first_total else total - base
    rate = counted / window if window > 0 else 0.0
    timed_out = count < n
    per_order = settled_while_serving or 1
    cpu_ms = 1000 * cpu_spent / per_order
    pg_ms = 1000 * pg_spent / per_order
    cap = f" ({count:,} settled before the {bench.sizes.settle_timeout:.0f} s cap)" if timed_out else ""
    bench.add(
        Row(
            key="settlement" if replicas == 1 else f"settlement.{replicas}",
            path=f"settlement consuming {n:,} paid orders, {replicas} replica{'s' if replicas > 1 else ''}",
            rate=f"{rate:,.0f}/s{cap}",
            baseline=f"raw JetStream fetch+ack: {raw_rate:,.0f}/s",
            ratio=rate / raw_rate if raw_rate else None,
            target="≥ 1,000/s",
            met=not timed_out and rate >= 1000,
            figures={
                "orders": n,
                "replicas": replicas,
                "settled": count,
                "rate_per_s": round(rate, 1),
                "start_to_first_settled_s": round((first_at or done_at) - spawned, 2),
                "start_to_serving_s": round(serving - spawned, 2),
                "baseline_acked": acked,
                "baseline_rate_per_s": round(raw_rate, 1),
                "timed_out": timed_out,
                "settled_while_measured": settled_while_serving,
                "settlement_cpu_ms_per_order": round(cpu_ms, 3),
                "postgres_cpu_ms_per_order": round(pg_ms, 3),
                "cpu_implied_rate_per_s": round(1000 / cpu_ms, 1) if cpu_ms > 0 else None,
            },
        )
    )
