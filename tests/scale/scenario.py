"""One scale run: the fault suite's workload (tests/faults/workload.py) through two replicas of every service
on a three-node JetStream cluster, with a node loss and replica kills mid-run, then the fault suite's
invariants and this suite's own checks (checks.py). Returns one row of the table.

Timeline, by share of the orders started: at `NODE_LOSS_AT` the node leading the ORDERS stream is SIGKILLed;
at `REPLICA_KILL_AT` one replica of inventory and one of orders are SIGKILLed (the survivors carry the load,
their recovery loops pick up what the dead ones left PENDING); at `NODE_BACK_AT` the node starts again and
catches up, and the killed replicas start again (as an orchestrator would restart them) and rejoin under the
rest of the load: their start-up, slow on a busy machine, overlaps the workload instead of following it.
After the workload every replica must be serving, then the stack is left to settle.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field

from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.messaging import STREAMS

from tests.faults.invariants import check_run, dead_letters, run_orders, wait_quiet
from tests.faults.supervisor import FaultStack
from tests.faults.workload import Client, Driver, Stats, World, new_tag, prepare_run
from tests.scale import checks

NODE_LOSS_AT = 0.25
REPLICA_KILL_AT = 0.4
NODE_BACK_AT = 0.6
SETTLE_SECONDS = 300.0  # a bound, not a target: the last run on a machine at load 30 took 171 s
KILLED_REPLICAS = ("inventory-1", "orders-1")
LOST_WORDS = ("not listed", "stuck PENDING", "past its expiry", "left in outboxes")


@dataclass
class ScaleRow:
    orders: int
    events: int
    ok_calls: int
    errors: Counter[str]
    duplicates: list[str]
    lost: list[str]
    oversold: list[str]
    other: list[str]
    dead_letters: dict[str, int]
    recovery_seconds: float
    workload_seconds: float
    settle_seconds: float
    startup_seconds: float  # the stack (PostgreSQL, NATS cluster, migrations, every replica serving)
    rejoin_seconds: float  # after the workload, until the restarted replicas serve
    check_seconds: float  # the checks after settling
    watch_updates: int
    statuses: Counter[str]
    internal: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (
            self.duplicates
            or self.lost
            or self.oversold
            or self.other
            or self.dead_letters
            or self.internal
            or self.notes
        )

    def table(self) -> str:
        rows = [
            ("orders placed", str(self.orders)),
            ("orders by final status", ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))),
            ("events published (5 streams)", str(self.events)),
            ("OK calls", str(self.ok_calls)),
            ("errors by code (retried)", ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "-"),
            ("duplicates applied", str(len(self.duplicates))),
            ("lost", str(len(self.lost))),
            ("oversold", str(len(self.oversold))),
            ("other violations", str(len(self.other))),
            ("dead letters", str(sum(self.dead_letters.values()))),
            ("watch updates seen (2 replicas)", str(self.watch_updates)),
            ("JetStream recovery after node loss", f"{self.recovery_seconds:.1f} s"),
            ("stack start-up", f"{self.startup_seconds:.0f} s"),
            ("workload", f"{self.workload_seconds:.0f} s"),
            ("killed replicas serving again after it", f"{self.rejoin_seconds:.1f} s"),
            ("settle", f"{self.settle_seconds:.1f} s"),
            ("checks", f"{self.check_seconds:.0f} s"),
            ("result", "PASS" if self.passed else "FAIL"),
        ]
        width = max(len(k) for k, _ in rows)
        out = [f"| {'scale run':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
        out += [f"| {k:<{width}} | {v} |" for k, v in rows]
        return "\n".join(out)

    def explain(self) -> str:
        lines = [self.table()]
        for what, items in (
            ("duplicate", self.duplicates),
            ("lost", self.lost),
            ("oversold", self.oversold),
            ("violation", self.other),
            ("internal", self.internal),
            ("note", self.notes),
        ):
            lines += [f"{what}: {i}" for i in items[:30]]
        if self.dead_letters:
            lines.append(f"dead letters: {self.dead_letters}")
        return "\n".join(lines)


def classify(violations: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Sort the invariants' findings into the table's columns: applied twice, never applied, oversold, other."""
    duplicates: list[str] = []
    lost: list[str] = []
    oversold: list[str] = []
    other: list[str] = []
    for v in violations:
        settled = re.match(r"settled (\d+) orders for -?\d+; (\d+) were paid", v) or re.match(
            r"ledger refunds -?(\d+), orders refunded (\d+)", v
        )
        if "oversold" in v or re.search(r"reserved -?\d+, on_hand", v):
            oversold.append(v)
        elif settled:  # more settled than paid: a posting applied twice; fewer: one never applied
            (duplicates if int(settled[1]) > int(settled[2]) else lost).append(v)
        elif "orders for external id" in v or re.search(r"expired \d+ times", v) or "listed as" in v:
            duplicates.append(v)
        elif v.startswith(("channel stock", "watcher on")) or any(w in v for w in LOST_WORDS):
            lost.append(v)
        else:
            other.append(v)
    return duplicates, lost, oversold, other


async def run_scale(stack: FaultStack, world: World, orders: int, *, seed: int = 11) -> ScaleRow:
    stats = Stats()
    client = Client(stack, stats)
    watchers = checks.Watchers(stack, world)
    notes: list[str] = []
    loop = asyncio.get_running_loop()
    try:
        dlq_before = await dead_letters(stack)
        # The fault suite's stock per SKU, over more SKUs (one per 60 orders): about half the orders get stock and
        # live their lifecycle (cancelled and expired ones give theirs back), the rest are refused, and the
        # replicas' reservation batches do not all queue on the same few rows.
        run = await prepare_run(client, world, new_tag("S"), sku_count=max(4, orders // 60))
        watchers.start(tuple(client.admin))
        events_before = await checks.stream_messages(stack)
        setup_calls = stats.calls["OK"]
        driver = Driver(client, world, run, seed=seed)
        began = loop.time()
        driving = asyncio.create_task(driver.drive(orders))

        async def reach(share: float) -> None:
            while driver.started < orders * share and not driving.done():  # noqa: ASYNC110 - polled progress
                await asyncio.sleep(0.05)
            if driving.done():
                notes.append(f"the workload ended before {share:.0%} of it")

        recovery = float("nan")
        try:
            await reach(NODE_LOSS_AT)
            dead = await checks.leader_of(stack, STREAMS["orders"])
            orders_seq = (await checks.stream_messages(stack))[STREAMS["orders"]]
            lost_at = loop.time()
            await stack.nats_node_kill9(dead)

            waiting_for: str | None = "the first look"

            async def measure() -> float:
                nonlocal waiting_for
                while (waiting_for := await checks.jetstream_waiting_for(stack, dead, orders_seq)) is not None:  # noqa: ASYNC110 - polls NATS
                    await asyncio.sleep(0.1)
                return loop.time() - lost_at

            measuring = asyncio.create_task(measure())
            await reach(REPLICA_KILL_AT)
            for name in KILLED_REPLICAS:
                await stack.kill9(name)
            await reach(NODE_BACK_AT)
            try:
                recovery = await asyncio.wait_for(measuring, 120)
            except TimeoutError:
                raise AssertionError(
                    f"JetStream not recovered 120 s after node {dead} was lost: waiting for {waiting_for}; "
                    f"node logs under {stack.nats.nodes[dead].store_dir.parent}"  # type: ignore[union-attr]
                ) from None
            await stack.nats_node_start(dead)
            for name in KILLED_REPLICAS:
                await stack.start_service(name, wait=False)
            await driving
        finally:
            if not driving.done():
                driving.cancel()
                await asyncio.gather(driving, return_exceptions=True)
        workload = loop.time() - began
        rejoin = await stack.wait_serving(within=240)

        settled = await wait_quiet(stack, client, world, run, SETTLE_SECONDS)
        if not settled.quiet:
            notes.append(f"not quiet after {SETTLE_SECONDS:.0f}s: {settled.waiting_for[:5]}")
        await asyncio.sleep(1.0)  # the last channel numbers reach the watchers
        checking = loop.time()
        violations = await check_run(client, world, run, stack)
        statuses = Counter(
            opb.OrderStatus.Name(o.status).removeprefix("ORDER_STATUS_").lower()
            for o in await run_orders(client, world, run)
        )
        violations += await checks.expired_twice(stack)
        violations += await watchers.missing(client, run)
        duplicates, lost, oversold, other = classify(violations)
        duplicates += [f"{n} event ids twice in stream {s}" for s, n in (await checks.stream_duplicates(stack)).items()]
        events_after = await checks.stream_messages(stack)
        dlq_after = await dead_letters(stack)
        new_dead = {k: n - dlq_before.get(k, 0) for k, n in dlq_after.items() if n > dlq_before.get(k, 0)}
        notes += [f"replay: {m}" for m in stats.mismatched_replays[:10]]
        errors = Counter(stats.attempt_errors)
        for reason, n in stats.flow_errors.items():
            errors[f"flow {reason}"] += n
        return ScaleRow(
            orders=len(run.placed),
            events=sum(events_after.values()) - sum(events_before.values()),
            ok_calls=stats.calls["OK"] - setup_calls,
            errors=errors,
            duplicates=duplicates,
            lost=lost,
            oversold=oversold,
            other=other,
            dead_letters=new_dead,
            recovery_seconds=recovery,
            workload_seconds=workload,
            settle_seconds=settled.seconds,
            startup_seconds=stack.startup_seconds,
            rejoin_seconds=rejoin,
            check_seconds=loop.time() - checking,
            watch_updates=watchers.updates,
            statuses=statuses,
            internal=stats.internal,
            notes=notes,
        )
    finally:
        await watchers.stop()
        await client.close()


RESULTS: list[ScaleRow] = []
