"""Settlement consuming N paid orders vs a raw JetStream pull consumer fetching, decoding and acking the same
messages. Settlement and dealers (which also consumes orders.order.*) are stopped while the events are
published; the row times settlement alone, from its first settled order to its last, counted in its
`order_settlements` table. It stops at `settle_timeout` and then reports the rate so far.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import asyncpg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool.orders.v1 import events_pb2 as oev
from onepool_runtime.outbox import MSG_ID_HEADER

from tests.bench.report import Row

if TYPE_CHECKING:
    from tests.bench.harness import Bench


async def settlement(bench: Bench) -> None:
    """Settlement consuming N paid orders vs a raw pull consumer fetching and acking the same messages.
    Settlement and dealers (which also consumes orders.order.*) are stopped while the events are
    published, so the row times settlement alone, from its first settled order to its last."""
    bench.stack.stop_process("settlement")
    bench.stack.stop_process("dealers")
    n, world = bench.sizes.settle_orders, bench.world
    prefix = f"BP{world.run}"
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

        async def settled() -> int:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM settlement.order_settlements WHERE order_id LIKE $1", f"{prefix}-%"
                )
            )

        spawned = time.perf_counter()
        await bench.stack.start_services("settlement")
        first_at, first_count, count = 0.0, 0, 0
        while time.perf_counter() - spawned < bench.sizes.settle_timeout:
            count = await settled()
            if count and not first_at:
                first_at, first_count = time.perf_counter(), count
            if count >= n:
                break
            await asyncio.sleep(0.05)
        done_at = time.perf_counter()
    finally:
        await conn.close()
    window = done_at - first_at if first_at and count > first_count else done_at - spawned
    counted = count - first_count if first_at and count > first_count else count
    rate = counted / window if window > 0 else 0.0
    timed_out = count < n
    cap = f" ({count:,} settled before the {bench.sizes.settle_timeout:.0f} s cap)" if timed_out else ""
    bench.add(
        Row(
            key="settlement",
            path=f"settlement consuming {n:,} paid orders",
            rate=f"{rate:,.0f}/s{cap}",
            baseline=f"raw JetStream fetch+ack: {raw_rate:,.0f}/s",
            ratio=rate / raw_rate if raw_rate else None,
            target="≥ 1,000/s",
            met=not timed_out and rate >= 1000,
            figures={
                "orders": n,
                "settled": count,
                "rate_per_s": round(rate, 1),
                "start_to_first_settled_s": round((first_at or done_at) - spawned, 2),
                "baseline_acked": acked,
                "baseline_rate_per_s": round(raw_rate, 1),
                "timed_out": timed_out,
            },
        )
    )
